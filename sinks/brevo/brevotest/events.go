package brevotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Event is an event the simulator accepted.
type Event struct {
	Name        string
	Identifiers map[string]any
	// ContactID is the contact the identifiers resolved to when the event
	// arrived (0: none yet), which GET /events reports and filters by.
	ContactID         int64
	ObjectType        string
	Date              string
	ContactProperties map[string]any
	EventProperties   map[string]any
	Batch             bool
	Received          time.Time
}

// Documented event limits; "KB" is read as 1000 bytes, the stricter reading.
const (
	maxEventProps    = 50_000
	maxBatchEvents   = 200
	maxEventBatchLen = 512_000
)

type eventBody struct {
	EventName   *string `json:"event_name"`
	EventDate   *string `json:"event_date"`
	Identifiers *struct {
		ContactID        *int64  `json:"contact_id"`
		EmailID          *string `json:"email_id"`
		ExtID            *string `json:"ext_id"`
		PhoneID          *string `json:"phone_id"`
		WhatsappID       *string `json:"whatsapp_id"`
		LandlineNumberID *string `json:"landline_number_id"`
	} `json:"identifiers"`
	ContactProperties map[string]any  `json:"contact_properties"`
	EventProperties   json.RawMessage `json:"event_properties"`
	Object            json.RawMessage `json:"object"`
}

// checkEvent validates one event and returns it, or Brevo-like wording of
// what is wrong.
func checkEvent(b *eventBody) (Event, string) {
	var e Event
	if b.EventName == nil || *b.EventName == "" {
		return e, "event_name is required"
	}
	if !validEventName(*b.EventName) {
		return e, "event_name must be at most 255 characters: letters, digits, '-' and '_' only"
	}
	e.Name = *b.EventName
	if b.EventDate != nil {
		if !validDate(*b.EventDate) {
			return e, "event_date must be an ISO 8601 date-time"
		}
		e.Date = *b.EventDate
	}
	e.Identifiers = map[string]any{}
	if id := b.Identifiers; id != nil {
		if id.ContactID != nil {
			e.Identifiers["contact_id"] = *id.ContactID
		}
		for k, v := range map[string]*string{"email_id": id.EmailID, "ext_id": id.ExtID, "phone_id": id.PhoneID,
			"whatsapp_id": id.WhatsappID, "landline_number_id": id.LandlineNumberID} {
			if v != nil && *v != "" {
				e.Identifiers[k] = *v
			}
		}
		if id.EmailID != nil && *id.EmailID != "" && !validEmail(*id.EmailID) {
			return e, "identifiers.email_id is not a valid email address"
		}
	}
	if len(e.Identifiers) == 0 {
		return e, "identifiers: at least one identifier is required"
	}
	for k, v := range b.ContactProperties {
		switch v.(type) {
		case string, json.Number, bool, nil:
		default:
			return e, "contact_properties." + k + " must be a string, number or boolean"
		}
	}
	e.ContactProperties = b.ContactProperties
	if len(b.Object) > 0 {
		var obj struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(b.Object, &obj) == nil {
			e.ObjectType = obj.Type
		}
	}
	if len(b.EventProperties) > 0 && string(b.EventProperties) != "null" {
		var compact bytes.Buffer
		if err := json.Compact(&compact, b.EventProperties); err != nil {
			return e, "event_properties is not valid JSON"
		}
		if compact.Len() > maxEventProps {
			return e, fmt.Sprintf("event_properties is %d bytes, over the 50KB limit", compact.Len())
		}
		dec := json.NewDecoder(bytes.NewReader(b.EventProperties))
		dec.UseNumber()
		if err := dec.Decode(&e.EventProperties); err != nil {
			return e, "event_properties must be an object"
		}
		for k := range e.EventProperties {
			if !validEventName(k) {
				return e, fmt.Sprintf("event_properties key %q must be at most 255 characters: letters, digits, '-' and '_' only", truncate(k, 40))
			}
		}
	}
	return e, ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (s *Server) createEvent(w http.ResponseWriter, r *http.Request) {
	var b eventBody
	if _, ok := s.decode(w, r, &b, maxBody); !ok {
		return
	}
	e, msg := checkEvent(&b)
	if msg != "" {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", msg)
		return
	}
	s.mu.Lock()
	e.Received = s.opts.Now()
	s.applyContactProps(&e)
	s.events = append(s.events, e)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) createEventBatch(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Events *[]json.RawMessage `json:"events"`
	}
	if _, ok := s.decode(w, r, &b, maxEventBatchLen); !ok {
		return
	}
	switch {
	case b.Events == nil || len(*b.Events) == 0:
		s.reply(w, http.StatusBadRequest, "missing_parameter", "events is required and must not be empty")
		return
	case len(*b.Events) > maxBatchEvents:
		s.reply(w, http.StatusBadRequest, "out_of_range", fmt.Sprintf("A batch holds at most %d events, got %d", maxBatchEvents, len(*b.Events)))
		return
	}
	raw := *b.Events
	var ok []Event
	byMsg := map[string][]int{}
	var order []string
	for i, rm := range raw {
		var eb eventBody
		dec := json.NewDecoder(bytes.NewReader(rm))
		dec.UseNumber()
		if !s.opts.Lenient {
			dec.DisallowUnknownFields()
		}
		msg := ""
		var e Event
		if err := dec.Decode(&eb); err != nil {
			msg = jsonProblem(err)
		} else {
			e, msg = checkEvent(&eb)
		}
		if msg != "" {
			if byMsg[msg] == nil {
				order = append(order, msg)
			}
			byMsg[msg] = append(byMsg[msg], i)
			continue
		}
		e.Batch = true
		ok = append(ok, e)
	}
	s.mu.Lock()
	now := s.opts.Now()
	for i := range ok {
		ok[i].Received = now
		s.applyContactProps(&ok[i])
	}
	s.events = append(s.events, ok...)
	s.mu.Unlock()

	if len(ok) == len(raw) {
		writeJSON(w, http.StatusAccepted, map[string]any{
			"message": "Batch accepted. Valid events have been added to the processing queue.", "count": len(ok)})
		return
	}
	errs := []map[string]any{}
	for _, m := range order {
		errs = append(errs, map[string]any{"eventIndex": byMsg[m], "message": m})
	}
	status, word := http.StatusMultiStatus, "partial_success"
	if len(ok) == 0 {
		status, word = http.StatusBadRequest, "failed"
	}
	writeJSON(w, status, map[string]any{"status": word, "total_events": len(raw), "successful_events": len(ok),
		"failed_events": len(raw) - len(ok), "errors": errs})
}

// applyContactProps notes the event's contact and updates it with its
// contact_properties, as Brevo does; unknown attributes are ignored. Caller
// holds s.mu.
func (s *Server) applyContactProps(e *Event) {
	c := s.contactOf(e)
	if c == nil {
		return
	}
	e.ContactID = c.ID
	if len(e.ContactProperties) == 0 {
		return
	}
	attrs, msg := s.checkAttrs(c.Email, e.ContactProperties, true)
	if msg == "" {
		s.applyCommon(c, attrs, nil, nil, nil, nil, e.Received)
	}
}

// contactOf resolves an event's identifiers, contact_id first, as Brevo
// does. Caller holds s.mu.
func (s *Server) contactOf(e *Event) *Contact {
	var c *Contact
	if id, ok := e.Identifiers["contact_id"].(int64); ok {
		c = s.contacts[id]
	}
	if email, ok := e.Identifiers["email_id"].(string); c == nil && ok {
		c = s.contacts[s.byEmail[strings.ToLower(email)]]
	}
	if ext, ok := e.Identifiers["ext_id"].(string); c == nil && ok {
		c = s.contacts[s.byExtID[ext]]
	}
	return c
}

// Events returns the accepted events in arrival order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// EventCount is how many events were accepted, without copying them.
func (s *Server) EventCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// Product is a product as stored.
type Product struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	URL        string            `json:"url"`
	ImageURL   string            `json:"imageUrl"`
	SKU        string            `json:"sku"`
	Price      *float64          `json:"price"`
	Categories []string          `json:"categories"`
	ParentID   string            `json:"parentId"`
	MetaInfo   map[string]string `json:"metaInfo"`
	DeletedAt  string            `json:"deletedAt"`
	IsDeleted  bool              `json:"isDeleted"`
}

// Category is a category as stored.
type Category struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	DeletedAt string `json:"deletedAt"`
	IsDeleted bool   `json:"isDeleted"`
}

func (s *Server) productsBatch(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Products      []Product `json:"products"`
		UpdateEnabled bool      `json:"updateEnabled"`
	}
	if _, ok := s.decode(w, r, &b, 10<<20); !ok {
		return
	}
	switch {
	case len(b.Products) == 0:
		s.reply(w, http.StatusBadRequest, "missing_parameter", "products is required")
		return
	case len(b.Products) > 100:
		s.reply(w, http.StatusBadRequest, "out_of_range", fmt.Sprintf("A batch holds at most 100 products, got %d", len(b.Products)))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for i, p := range b.Products {
		size := 0
		for k, v := range p.MetaInfo {
			size += len(k) + len(v)
		}
		_, exists := s.products[p.ID]
		msg := ""
		switch {
		case p.ID == "":
			msg = "id is required"
		case seen[p.ID]:
			msg = "duplicate product id " + p.ID + " in the payload"
		case exists && !b.UpdateEnabled:
			s.reply(w, http.StatusBadRequest, "duplicate_parameter", fmt.Sprintf("products[%d]: product %s already exists", i, p.ID))
			return
		case !exists && p.Name == "":
			msg = "name is required to create a product"
		case len(p.MetaInfo) > 10 || size > 1_000_000:
			msg = "metaInfo holds at most 10 keys and 1000KB"
		}
		if msg != "" {
			s.reply(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("products[%d]: %s", i, msg))
			return
		}
		seen[p.ID] = true
	}
	created, updated := 0, 0
	for _, p := range b.Products {
		if old, ok := s.products[p.ID]; ok {
			updated++
			if p.Name == "" {
				p.Name = old.Name
			}
		} else {
			created++
		}
		s.products[p.ID] = p
	}
	writeJSON(w, http.StatusCreated, map[string]any{"createdCount": created, "updatedCount": updated})
}

func (s *Server) categoriesBatch(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Categories    []Category `json:"categories"`
		UpdateEnabled bool       `json:"updateEnabled"`
	}
	if _, ok := s.decode(w, r, &b, maxBody); !ok {
		return
	}
	if len(b.Categories) == 0 {
		s.reply(w, http.StatusBadRequest, "missing_parameter", "categories is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range b.Categories {
		_, exists := s.cats[c.ID]
		switch {
		case c.ID == "":
			s.reply(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("categories[%d]: id is required", i))
			return
		case exists && !b.UpdateEnabled:
			s.reply(w, http.StatusBadRequest, "duplicate_parameter", fmt.Sprintf("categories[%d]: category %s already exists", i, c.ID))
			return
		case !exists && c.Name == "":
			s.reply(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("categories[%d]: name is required to create a category", i))
			return
		}
	}
	created, updated := 0, 0
	for _, c := range b.Categories {
		if _, ok := s.cats[c.ID]; ok {
			updated++
		} else {
			created++
		}
		s.cats[c.ID] = c
	}
	writeJSON(w, http.StatusCreated, map[string]any{"createdCount": created, "updatedCount": updated})
}

// Products returns the stored products, by id.
func (s *Server) Products() []Product {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Product, 0, len(s.products))
	for _, p := range s.products {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Categories returns the stored categories, by id.
func (s *Server) Categories() []Category {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Category, 0, len(s.cats))
	for _, c := range s.cats {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
