package brevotest

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// GET /v3/events, as Brevo documents it: custom events only, filtered by
// contact_id, event_name and object_type (each repeatable), and by
// startDate/endDate (YYYY-MM-DD or RFC 3339; both or neither; without them,
// the last six months), matched against each event's event_date (its time
// of receipt when it had none); newest first, paged by limit (1-10000,
// default 100) and offset; count is the total that matched.
const (
	maxEventsLimit     = 10000
	defaultEventsLimit = 100
)

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bad := func(msg string) { s.reply(w, http.StatusBadRequest, "invalid_parameter", msg) }
	limit, offset := defaultEventsLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEventsLimit {
			bad("limit must be between 1 and 10000")
			return
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			bad("offset must be 0 or more")
			return
		}
		offset = n
	}
	contacts := map[int64]bool{}
	for _, v := range q["contact_id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			bad("contact_id must be an integer")
			return
		}
		contacts[id] = true
	}
	names := set(q["event_name"])
	types := set(q["object_type"])
	start, end, msg := dateRange(q, s.opts.Now())
	if msg != "" {
		bad(msg)
		return
	}

	type item struct {
		ev   Event
		date time.Time
		seq  int
	}
	s.mu.Lock()
	var hits []item
	for i, e := range s.events {
		d := eventTime(e)
		switch {
		case len(contacts) > 0 && !contacts[e.ContactID],
			len(names) > 0 && !names[e.Name],
			len(types) > 0 && !types[e.ObjectType],
			d.Before(start), !end.IsZero() && d.After(end):
			continue
		}
		hits = append(hits, item{ev: e, date: d, seq: i})
	}
	s.mu.Unlock()
	sort.Slice(hits, func(i, j int) bool {
		if !hits[i].date.Equal(hits[j].date) {
			return hits[i].date.After(hits[j].date)
		}
		return hits[i].seq > hits[j].seq
	})
	page := []map[string]any{}
	for i := offset; i < len(hits) && i < offset+limit; i++ {
		e := hits[i].ev
		m := map[string]any{"event_name": e.Name, "event_date": hits[i].date.UTC().Format(time.RFC3339Nano)}
		if e.ContactID != 0 {
			m["contact_id"] = e.ContactID
		}
		if e.ObjectType != "" {
			m["object_type"] = e.ObjectType
		}
		if e.EventProperties != nil {
			m["event_properties"] = e.EventProperties
		}
		if e.ContactProperties != nil {
			m["contact_properties"] = e.ContactProperties
		}
		page = append(page, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": page, "count": len(hits)})
}

func set(vs []string) map[string]bool {
	out := map[string]bool{}
	for _, v := range vs {
		out[v] = true
	}
	return out
}

// dateRange reads startDate and endDate: a date-only endDate covers its
// whole day.
func dateRange(q url.Values, now time.Time) (start, end time.Time, msg string) {
	sv, ev := q.Get("startDate"), q.Get("endDate")
	switch {
	case sv == "" && ev == "":
		return now.AddDate(0, -6, 0), time.Time{}, ""
	case sv == "" || ev == "":
		return start, end, "startDate and endDate must be given together"
	}
	var okS, okE, dayOnly bool
	start, okS, _ = parseDate(sv)
	end, okE, dayOnly = parseDate(ev)
	if !okS || !okE {
		return start, end, "startDate and endDate must be YYYY-MM-DD or RFC 3339"
	}
	if dayOnly {
		end = end.Add(24*time.Hour - time.Nanosecond)
	}
	if start.After(end) {
		return start, end, "startDate must not be after endDate"
	}
	return start, end, ""
}

func parseDate(v string) (t time.Time, ok, dayOnly bool) {
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, true, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true, false
		}
	}
	return t, false, false
}

// eventTime is the event's event_date, or when it arrived.
func eventTime(e Event) time.Time {
	if e.Date != "" {
		if t, ok, _ := parseDate(e.Date); ok {
			return t
		}
	}
	return e.Received
}
