package brevotest

import (
	"sort"
	"strings"
)

// Accessors for assertions. Each returns copies, so a test can keep them
// while the simulator goes on serving.

// Contact returns a copy of the contact with this email, or nil.
func (s *Server) Contact(email string) *Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contacts[s.byEmail[strings.ToLower(email)]]
	if c == nil {
		return nil
	}
	return s.copyContact(c)
}

// ContactByExtID returns a copy of the contact with this ext_id, or nil.
func (s *Server) ContactByExtID(extID string) *Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contacts[s.byExtID[extID]]
	if c == nil {
		return nil
	}
	return s.copyContact(c)
}

// ContactCount is how many contacts the account holds: cheaper than
// len(Contacts()) for a test that waits on thousands.
func (s *Server) ContactCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.contacts)
}

// Contacts returns copies of every contact, by id.
func (s *Server) Contacts() []*Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Contact, 0, len(s.contacts))
	for _, c := range s.contacts {
		out = append(out, s.copyContact(c))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// PutContact stores a contact directly (e.g. one Brevo blocklisted through
// an unsubscribe link) and returns its id.
func (s *Server) PutContact(c Contact) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	cp := c
	cp.ID = s.nextID
	cp.Attributes = map[string]any{}
	for k, v := range c.Attributes {
		cp.Attributes[k] = v
	}
	now := s.opts.Now()
	cp.CreatedAt, cp.ModifiedAt = now, now
	s.contacts[cp.ID] = &cp
	if cp.Email != "" {
		s.byEmail[strings.ToLower(cp.Email)] = cp.ID
	}
	if cp.ExtID != "" {
		s.byExtID[cp.ExtID] = cp.ID
	}
	for _, id := range c.ListIDs {
		if l := s.lists[id]; l != nil {
			l.members[cp.ID] = true
		}
	}
	return cp.ID
}

func (s *Server) copyContact(c *Contact) *Contact {
	cp := *c
	cp.Attributes = make(map[string]any, len(c.Attributes))
	for k, v := range c.Attributes {
		cp.Attributes[k] = v
	}
	cp.ListIDs = nil
	for id, l := range s.lists {
		if l.members[c.ID] {
			cp.ListIDs = append(cp.ListIDs, id)
		}
	}
	sort.Slice(cp.ListIDs, func(i, j int) bool { return cp.ListIDs[i] < cp.ListIDs[j] })
	return &cp
}

// ListMembers returns the emails of a list's members, sorted.
func (s *Server) ListMembers(id int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[id]
	if l == nil {
		return nil
	}
	out := []string{}
	for cid := range l.members {
		if c := s.contacts[cid]; c != nil {
			out = append(out, c.Email)
		}
	}
	sort.Strings(out)
	return out
}

// AddList creates a list.
func (s *Server) AddList(id int64, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lists[id] == nil {
		s.lists[id] = &list{name: name, members: map[int64]bool{}}
	}
}

// Attributes returns the attribute definitions, by name.
func (s *Server) Attributes() []Attribute {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attributesLocked()
}

// IgnoredValues returns the attribute values dropped for a type mismatch.
func (s *Server) IgnoredValues() []IgnoredValue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]IgnoredValue(nil), s.ignored...)
}
