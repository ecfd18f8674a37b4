package brevotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Contact is a contact as the simulator holds it.
type Contact struct {
	ID               int64
	Email            string
	ExtID            string
	Attributes       map[string]any
	EmailBlacklisted bool
	SMSBlacklisted   bool
	ListIDs          []int64
	CreatedAt        time.Time
	ModifiedAt       time.Time
}

// Attribute is a contact attribute definition.
type Attribute struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	Type     string `json:"type,omitempty"`
}

// IgnoredValue is an attribute value the simulator dropped, as Brevo does
// silently, because it did not match the attribute's type.
type IgnoredValue struct {
	Contact   string // email or id
	Attribute string
	Value     any
}

type list struct {
	name    string
	members map[int64]bool
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
		s.mux.HandleFunc(pattern, h)
		if !strings.HasPrefix(pattern, "GET /brevotest/") {
			s.routeNames = append(s.routeNames, strings.Replace(pattern, " /v3/", " /", 1))
		}
	}
	handle("POST /v3/contacts", s.createContact)
	handle("GET /v3/contacts", s.listContacts)
	handle("GET /v3/contacts/lists/{listId}", s.getList)
	handle("GET /v3/contacts/{identifier}", s.getContact)
	handle("PUT /v3/contacts/{identifier}", s.updateContact)
	handle("DELETE /v3/contacts/{identifier}", s.deleteContact)
	handle("GET /v3/contacts/attributes", s.listAttributes)
	handle("POST /v3/contacts/attributes/{attributeCategory}/{attributeName}", s.createAttribute)
	handle("POST /v3/contacts/lists/{listId}/contacts/add", s.listMembers(true))
	handle("POST /v3/contacts/lists/{listId}/contacts/remove", s.listMembers(false))
	handle("POST /v3/contacts/import", s.importContacts)
	handle("GET /v3/processes/{processId}", s.getProcess)
	handle("GET /brevotest/reports/{processId}/{kind}", s.getReport)
	handle("GET /v3/events", s.listEvents)
	handle("POST /v3/events", s.createEvent)
	handle("POST /v3/events/batch", s.createEventBatch)
	handle("POST /v3/products/batch", s.productsBatch)
	handle("POST /v3/categories/batch", s.categoriesBatch)
	handle("POST /v3/orders/status", s.orderStatus)
	handle("POST /v3/orders/status/batch", s.orderStatusBatch)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.reply(w, http.StatusNotFound, "document_not_found", "Route "+r.Method+" "+r.URL.Path+" is not simulated")
	})
}

type contactBody struct {
	Email               *string        `json:"email"`
	ExtID               *string        `json:"ext_id"`
	Attributes          map[string]any `json:"attributes"`
	EmailBlacklisted    *bool          `json:"emailBlacklisted"`
	SMSBlacklisted      *bool          `json:"smsBlacklisted"`
	ListIDs             []int64        `json:"listIds"`
	UnlinkListIDs       []int64        `json:"unlinkListIds"`
	UpdateEnabled       bool           `json:"updateEnabled"`
	SMTPBlacklistSender []string       `json:"smtpBlacklistSender"`
}

// checkAttrs validates attribute names and SMS syntax (fatal to the
// request) and returns the values to apply; wrong-typed values are dropped
// and recorded, like Brevo does. Caller holds s.mu.
func (s *Server) checkAttrs(who string, attrs map[string]any, ignoreUnknown bool) (map[string]any, string) {
	out := map[string]any{}
	for k, v := range attrs {
		name := strings.ToUpper(k)
		if name == "EMAIL" {
			continue
		}
		a, ok := s.attrs[name]
		if !ok {
			if ignoreUnknown {
				continue
			}
			return nil, "Attribute " + name + " does not exist in your account"
		}
		if name == "SMS" && v != nil {
			str, _ := v.(string)
			if n, isNum := v.(json.Number); isNum {
				str = n.String()
			}
			if !validPhone(str) {
				return nil, "Invalid phone number"
			}
			v = str
		}
		if v != nil && !typeMatches(a.Type, v) {
			s.ignored = append(s.ignored, IgnoredValue{Contact: who, Attribute: name, Value: v})
			continue
		}
		out[name] = v
	}
	return out, ""
}

func (s *Server) listsExist(ids []int64) string {
	for _, id := range ids {
		if _, ok := s.lists[id]; !ok {
			return fmt.Sprintf("List ID %d does not exist", id)
		}
	}
	return ""
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) {
	var b contactBody
	if _, ok := s.decode(w, r, &b, maxBody); !ok {
		return
	}
	if b.UnlinkListIDs != nil {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", "Unknown parameter unlinkListIds")
		return
	}
	email := ""
	if b.Email != nil {
		email = strings.TrimSpace(*b.Email)
	}
	if email == "" && b.Attributes["SMS"] == nil && b.Attributes["sms"] == nil {
		s.reply(w, http.StatusBadRequest, "missing_parameter", "email is missing")
		return
	}
	if email != "" && !validEmail(email) {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", "Invalid email address")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg := s.listsExist(b.ListIDs); msg != "" {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", msg)
		return
	}
	attrs, msg := s.checkAttrs(email, b.Attributes, false)
	if msg != "" {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", msg)
		return
	}
	var byEmail, byExt int64
	if email != "" {
		byEmail = s.byEmail[strings.ToLower(email)]
	}
	if b.ExtID != nil && *b.ExtID != "" {
		byExt = s.byExtID[*b.ExtID]
	}
	existing := byEmail
	if existing == 0 {
		existing = byExt
	}
	if byEmail != 0 && byExt != 0 && byEmail != byExt {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "duplicate_parameter",
			"message": "ext_id belongs to another contact", "metadata": map[string]any{"duplicate_identifiers": []string{"ext_id"}}})
		return
	}
	if existing != 0 && !b.UpdateEnabled {
		dup := "email"
		if byEmail == 0 {
			dup = "ext_id"
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "duplicate_parameter",
			"message": "Contact already exist", "metadata": map[string]any{"duplicate_identifiers": []string{dup}}})
		return
	}
	now := s.opts.Now()
	c := s.contacts[existing]
	created := c == nil
	if created {
		s.nextID++
		c = &Contact{ID: s.nextID, Attributes: map[string]any{}, CreatedAt: now}
		s.contacts[c.ID] = c
		if email == "" {
			email = fmt.Sprint(attrs["SMS"]) + "@mailin-sms.com"
		}
	}
	if email != "" && !strings.EqualFold(email, c.Email) {
		if other := s.byEmail[strings.ToLower(email)]; other != 0 && other != c.ID {
			s.reply(w, http.StatusBadRequest, "duplicate_parameter", "email belongs to another contact")
			return
		}
		s.setEmail(c, email)
	}
	if b.ExtID != nil && *b.ExtID != c.ExtID {
		delete(s.byExtID, c.ExtID)
		c.ExtID = *b.ExtID
		if c.ExtID != "" {
			s.byExtID[c.ExtID] = c.ID
		}
	}
	s.applyCommon(c, attrs, b.EmailBlacklisted, b.SMSBlacklisted, b.ListIDs, nil, now)
	if created {
		writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setEmail changes a contact's email. Brevo documents that changing the
// email of a blocklisted contact lifts the blocklisting; the simulator does
// the same so the consent policy can be tested against it.
func (s *Server) setEmail(c *Contact, email string) {
	if c.Email != "" {
		delete(s.byEmail, strings.ToLower(c.Email))
		c.EmailBlacklisted = false
	}
	c.Email = email
	s.byEmail[strings.ToLower(email)] = c.ID
}

func (s *Server) applyCommon(c *Contact, attrs map[string]any, eb, sb *bool, add, remove []int64, now time.Time) {
	for k, v := range attrs {
		if v == nil || v == "" {
			delete(c.Attributes, k)
			continue
		}
		c.Attributes[k] = v
	}
	if eb != nil {
		c.EmailBlacklisted = *eb
	}
	if sb != nil {
		c.SMSBlacklisted = *sb
	}
	for _, id := range add {
		s.lists[id].members[c.ID] = true
	}
	for _, id := range remove {
		delete(s.lists[id].members, c.ID)
	}
	c.ModifiedAt = now
}

// find resolves a contact path identifier. Caller holds s.mu.
func (s *Server) find(id, typ string) (*Contact, string) {
	switch typ {
	case "email_id":
		return s.contacts[s.byEmail[strings.ToLower(id)]], ""
	case "contact_id":
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, "identifier is not a contact id"
		}
		return s.contacts[n], ""
	case "ext_id":
		return s.contacts[s.byExtID[id]], ""
	case "phone_id":
		for _, c := range s.contacts {
			if p, _ := c.Attributes["SMS"].(string); p != "" && strings.TrimPrefix(p, "+") == strings.TrimPrefix(id, "+") {
				return c, ""
			}
		}
		return nil, ""
	case "":
		if strings.Contains(id, "@") {
			return s.contacts[s.byEmail[strings.ToLower(id)]], ""
		}
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			return s.contacts[n], ""
		}
		return s.find(id, "phone_id")
	}
	return nil, "identifierType " + typ + " is not valid"
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *Contact {
	c, msg := s.find(r.PathValue("identifier"), r.URL.Query().Get("identifierType"))
	switch {
	case msg != "":
		s.reply(w, http.StatusBadRequest, "invalid_parameter", msg)
	case c == nil:
		s.reply(w, http.StatusNotFound, "document_not_found", "Contact does not exist")
	}
	return c
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookup(w, r)
	if c == nil {
		return
	}
	body := contactJSON(s.copyContact(c))
	body["statistics"] = map[string]any{}
	writeJSON(w, http.StatusOK, body)
}

// contactJSON is a contact as Brevo's GET routes show it.
func contactJSON(c *Contact) map[string]any {
	ids := c.ListIDs
	if ids == nil {
		ids = []int64{}
	}
	return map[string]any{
		"id": c.ID, "email": c.Email, "ext_id": c.ExtID, "emailBlacklisted": c.EmailBlacklisted,
		"smsBlacklisted": c.SMSBlacklisted, "createdAt": c.CreatedAt.UTC().Format(time.RFC3339),
		"modifiedAt": c.ModifiedAt.UTC().Format(time.RFC3339), "listIds": ids,
		"attributes": c.Attributes,
	}
}

// listContacts is GET /v3/contacts: limit (default 50, at most 1000),
// offset, modifiedSince, createdSince, listIds and sort (by creation,
// desc by default), answering {contacts, count} as Brevo does; count is
// the number of contacts that match, not the page's.
func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset := int64(50), int64(0)
	for _, p := range []struct {
		name string
		dst  *int64
		max  int64
	}{{"limit", &limit, 1000}, {"offset", &offset, -1}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.reply(w, http.StatusBadRequest, "invalid_parameter", p.name+" must be a non-negative integer")
			return
		}
		if p.max > 0 && n > p.max {
			s.reply(w, http.StatusBadRequest, "out_of_range", fmt.Sprintf("%s must be at most %d", p.name, p.max))
			return
		}
		*p.dst = n
	}
	var since [2]time.Time // modified, created
	for i, name := range []string{"modifiedSince", "createdSince"} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				if t, err = time.Parse("2006-01-02T15:04:05.000Z0700", v); err != nil {
					s.reply(w, http.StatusBadRequest, "invalid_parameter", name+" must be a UTC date-time (YYYY-MM-DDTHH:mm:ss.SSSZ)")
					return
				}
			}
			since[i] = t
		}
	}
	sortAsc := false
	switch q.Get("sort") {
	case "", "desc":
	case "asc":
		sortAsc = true
	default:
		s.reply(w, http.StatusBadRequest, "invalid_parameter", "sort must be asc or desc")
		return
	}
	var lists []int64
	for _, v := range q["listIds"] {
		for _, part := range strings.Split(v, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
			if err != nil {
				s.reply(w, http.StatusBadRequest, "invalid_parameter", "listIds must be list ids")
				return
			}
			lists = append(lists, id)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*Contact
	for _, c := range s.contacts {
		if !since[0].IsZero() && !c.ModifiedAt.After(since[0]) || !since[1].IsZero() && !c.CreatedAt.After(since[1]) {
			continue
		}
		in := len(lists) == 0
		for _, id := range lists {
			if l := s.lists[id]; l != nil && l.members[c.ID] {
				in = true
			}
		}
		if in {
			match = append(match, c)
		}
	}
	sort.Slice(match, func(i, j int) bool {
		if sortAsc {
			return match[i].ID < match[j].ID
		}
		return match[i].ID > match[j].ID
	})
	page := []map[string]any{}
	for i := offset; i < int64(len(match)) && i < offset+limit; i++ {
		page = append(page, contactJSON(s.copyContact(match[i])))
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": page, "count": len(match)})
}

// pathList is the list the request's {listId} names, or a 404 answered;
// s.mu is held.
func (s *Server) pathList(w http.ResponseWriter, r *http.Request) (int64, *list, bool) {
	id, err := strconv.ParseInt(r.PathValue("listId"), 10, 64)
	l := s.lists[id]
	if err != nil || l == nil {
		s.reply(w, http.StatusNotFound, "document_not_found", "List ID does not exist")
		return 0, nil, false
	}
	return id, l, true
}

// getList is GET /v3/contacts/lists/{listId}: the sink checks at start
// that the lists it is configured with exist.
func (s *Server) getList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, l, ok := s.pathList(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "name": l.name, "folderId": 1,
		"totalBlacklisted": 0, "totalSubscribers": len(l.members), "uniqueSubscribers": len(l.members),
		"createdAt": s.start.UTC().Format(time.RFC3339)})
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request) {
	var b contactBody
	if _, ok := s.decode(w, r, &b, maxBody); !ok {
		return
	}
	if b.Email != nil || b.UpdateEnabled {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", "email and updateEnabled are not parameters of this route; change the email with attributes.EMAIL")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookup(w, r)
	if c == nil {
		return
	}
	if msg := s.listsExist(append(append([]int64(nil), b.ListIDs...), b.UnlinkListIDs...)); msg != "" {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", msg)
		return
	}
	attrs, msg := s.checkAttrs(c.Email, b.Attributes, false)
	if msg != "" {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", msg)
		return
	}
	newEmail := ""
	for k, v := range b.Attributes {
		if strings.EqualFold(k, "EMAIL") {
			str, _ := v.(string)
			if !validEmail(str) {
				s.reply(w, http.StatusBadRequest, "invalid_parameter", "Invalid email address")
				return
			}
			newEmail = str
		}
	}
	if newEmail != "" && !strings.EqualFold(newEmail, c.Email) {
		if other := s.byEmail[strings.ToLower(newEmail)]; other != 0 {
			s.reply(w, http.StatusBadRequest, "duplicate_parameter", "Contact already exist")
			return
		}
	}
	if b.ExtID != nil && *b.ExtID != c.ExtID {
		if other := s.byExtID[*b.ExtID]; other != 0 && other != c.ID {
			s.reply(w, http.StatusBadRequest, "duplicate_parameter", "ext_id belongs to another contact")
			return
		}
		delete(s.byExtID, c.ExtID)
		c.ExtID = *b.ExtID
		if c.ExtID != "" {
			s.byExtID[c.ExtID] = c.ID
		}
	}
	if newEmail != "" && !strings.EqualFold(newEmail, c.Email) {
		s.setEmail(c, newEmail)
	}
	s.applyCommon(c, attrs, b.EmailBlacklisted, b.SMSBlacklisted, b.ListIDs, b.UnlinkListIDs, s.opts.Now())
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookup(w, r)
	if c == nil {
		return
	}
	delete(s.contacts, c.ID)
	delete(s.byEmail, strings.ToLower(c.Email))
	delete(s.byExtID, c.ExtID)
	for _, l := range s.lists {
		delete(l.members, c.ID)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listAttributes(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"attributes": s.attributesLocked()})
}

func (s *Server) attributesLocked() []Attribute {
	out := make([]Attribute, 0, len(s.attrs))
	for _, a := range s.attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var attrTypes = map[string]bool{"text": true, "date": true, "float": true, "boolean": true, "id": true, "category": true, "multiple-choice": true}

func (s *Server) createAttribute(w http.ResponseWriter, r *http.Request) {
	cat, name := r.PathValue("attributeCategory"), r.PathValue("attributeName")
	var b struct {
		Type                 string            `json:"type"`
		Value                string            `json:"value"`
		IsRecurring          bool              `json:"isRecurring"`
		Enumeration          []json.RawMessage `json:"enumeration"`
		MultiCategoryOptions []string          `json:"multiCategoryOptions"`
	}
	if _, ok := s.decode(w, r, &b, maxBody); !ok {
		return
	}
	switch cat {
	case "normal", "transactional", "category", "calculated", "global":
	default:
		s.reply(w, http.StatusBadRequest, "invalid_parameter", "attributeCategory must be one of normal, transactional, category, calculated, global")
		return
	}
	if name == "" || len(name) > 255 || strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
	}) >= 0 {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", "Attribute name must contain only letters, digits and underscores")
		return
	}
	if b.Type != "" && !attrTypes[b.Type] {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", "type must be one of text, date, float, boolean, id, category, multiple-choice")
		return
	}
	if cat == "normal" && b.Type == "" {
		s.reply(w, http.StatusBadRequest, "missing_parameter", "type is required for a normal attribute")
		return
	}
	if (b.Type == "boolean" || b.Type == "multiple-choice") && cat != "normal" {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", "type "+b.Type+" is only available for normal attributes")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	up := strings.ToUpper(name)
	if _, ok := s.attrs[up]; ok {
		s.reply(w, http.StatusBadRequest, "duplicate_parameter", "Attribute "+up+" already exists")
		return
	}
	s.attrs[up] = Attribute{Name: up, Category: cat, Type: b.Type}
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) listMembers(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Emails []string `json:"emails"`
			IDs    []int64  `json:"ids"`
			All    bool     `json:"all"`
		}
		if _, ok := s.decode(w, r, &b, maxBody); !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		_, l, ok := s.pathList(w, r)
		if !ok {
			return
		}
		switch {
		case b.All && add:
			s.reply(w, http.StatusBadRequest, "invalid_parameter", "all is only valid to remove contacts")
			return
		case b.All:
			total := len(l.members)
			l.members = map[int64]bool{}
			s.nextID++
			s.processes[s.nextID] = &process{id: s.nextID, name: "LIST_REMOVE_ALL", done: true}
			writeJSON(w, http.StatusCreated, map[string]any{"contacts": map[string]any{"processId": s.nextID, "total": total}})
			return
		case len(b.Emails) == 0 && len(b.IDs) == 0:
			s.reply(w, http.StatusBadRequest, "missing_parameter", "emails or ids is required")
			return
		case len(b.Emails) > 150 || len(b.IDs) > 150:
			s.reply(w, http.StatusBadRequest, "out_of_range", "You can pass a maximum of 150 emails or ids in one request")
			return
		}
		success, failure := []any{}, []any{}
		one := func(key any, c *Contact) {
			if c == nil || l.members[c.ID] == add {
				failure = append(failure, key)
				return
			}
			if add {
				l.members[c.ID] = true
			} else {
				delete(l.members, c.ID)
			}
			success = append(success, key)
		}
		if len(b.IDs) > 0 {
			for _, cid := range b.IDs {
				one(cid, s.contacts[cid])
			}
		} else {
			for _, e := range b.Emails {
				one(e, s.contacts[s.byEmail[strings.ToLower(e)]])
			}
		}
		writeJSON(w, http.StatusCreated, map[string]any{"contacts": map[string]any{"success": success, "failure": failure}})
	}
}
