package brevo

import (
	"net/http"
	"time"
)

// This file is what GET /status shows of the sink (pipeline.
// StatusReporter): how it spends Brevo's budget. Per endpoint group the
// requests sent in the last second and minute, the client-side rate in
// effect, what Brevo last announced in x-sib-ratelimit-*, and how many
// requests wait for a slot; then the contacts queued in the dispatcher,
// the events queued and the event requests in flight, the imports in
// flight and the /processes polls spent of the hourly budget. Every
// figure is read under the lock of the part that keeps it, one part at a
// time, so a status never holds up a request for long and never takes
// two locks at once.

// Status is the sink's section of /status.
type Status struct {
	// Groups are the endpoint groups used since the start, by name
	// (contacts, events, orders, products, processes, other).
	Groups map[string]GroupStatus `json:"groups"`
	// Requests and Throttled count every request sent, and the 429s
	// answered, since the start.
	Requests  int `json:"requests"`
	Throttled int `json:"throttled"`
	// ContactsWaiting are contacts queued for a write not yet sent: they
	// wait for a rate slot, an import slot, or a contact ahead of them.
	// ContactsSending are contacts written alone, in flight.
	ContactsWaiting int `json:"contacts_waiting"`
	ContactsSending int `json:"contacts_sending"`
	// ContactsImporting are contacts in the imports in flight.
	ContactsImporting int `json:"contacts_importing"`
	// EventsWaiting are custom events queued for a request not yet sent
	// (eventqueue.go): they wait for a rate slot, or for more to join
	// them. EventRequests are event requests in flight.
	EventsWaiting int `json:"events_waiting"`
	EventRequests int `json:"event_requests_in_flight"`
	// ImportsInFlight are imports started and not yet complete, of at
	// most ImportsMax (sinks.brevo.import.in_flight).
	ImportsInFlight int `json:"imports_in_flight"`
	ImportsMax      int `json:"imports_max"`
	// PollsLastHour are the GET /processes polls spent in the last hour
	// of PollsPerHour (sinks.brevo.import.polls_per_hour; 0: unbudgeted,
	// then PollsLastHour is 0 too). NotifyURL says imports complete on
	// Brevo's call (sinks.brevo.import.notify_url), polls being the
	// fallback.
	PollsLastHour int  `json:"polls_last_hour"`
	PollsPerHour  int  `json:"polls_per_hour"`
	NotifyURL     bool `json:"notify_url"`
}

// GroupStatus is one endpoint group's use of its budget.
type GroupStatus struct {
	// LastSecond and LastMinute count the requests sent (retries
	// included) in the last second and the last minute; PerSecond is the
	// last minute's average and BusiestSecond the most sent within any
	// one second of it (to 100 ms).
	LastSecond    int     `json:"requests_last_second"`
	LastMinute    int     `json:"requests_last_minute"`
	PerSecond     float64 `json:"requests_per_second"`
	BusiestSecond int     `json:"busiest_second"`
	// Limit is Brevo's per-second limit of the group: the tightest its
	// headers announced, else the documented one; 0 when none is known.
	// Window is what the sink allows itself in any second, its share of
	// Limit (sinks.brevo.rate_share); 0 when the group has no rate.
	Limit  int `json:"limit_per_second"`
	Window int `json:"window_per_second"`
	// Waiting are requests waiting for a slot (the rate, the concurrency
	// limit or a 429's pause); InFlight are sent and not yet answered,
	// under Concurrency, the adaptive limit (AIMD).
	Waiting     int     `json:"waiting"`
	InFlight    int     `json:"in_flight"`
	Concurrency float64 `json:"concurrency"`
	// PausedFor is how long no request of the group starts yet, after a
	// 429 (until its x-sib-ratelimit-reset).
	PausedFor string `json:"paused_for,omitempty"`
	// Brevo is the latest x-sib-ratelimit-* Brevo sent for the group;
	// nil before any.
	Brevo *Announced `json:"brevo,omitempty"`
}

// Announced is one answer's x-sib-ratelimit-limit, -remaining and -reset.
type Announced struct {
	Limit     int       `json:"limit"`
	Remaining int       `json:"remaining"`
	Reset     string    `json:"reset"` // until the window Brevo counts in starts again
	At        time.Time `json:"at"`    // when the answer came
}

// Status implements pipeline.StatusReporter; its value is a Status.
func (s *Sink) Status() any {
	st := Status{Groups: s.disc.status(), ImportsMax: s.cfg.Import.InFlight, NotifyURL: s.imports.notify != nil}
	st.Requests, st.Throttled = s.disc.Stats()
	st.ContactsWaiting, st.ContactsSending, st.ContactsImporting, st.ImportsInFlight = s.disp.counts()
	st.EventsWaiting, st.EventRequests = s.events.counts()
	st.PollsLastHour, st.PollsPerHour = s.imports.budget.used()
	return st
}

// groupSeen is what a group keeps for /status only; the discipline's
// decisions never read it. Guarded by Discipline.mu.
type groupSeen struct {
	sent      recent
	waiting   int
	announced *Announced
}

// waiter counts a request waiting for a slot of group name, until the
// returned func is called.
func (d *Discipline) waiter(name string) func() {
	d.mu.Lock()
	g := d.group(name)
	g.seen.waiting++
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		g.seen.waiting--
		d.mu.Unlock()
	}
}

// announce keeps an answer's x-sib-ratelimit-* headers. Caller holds d.mu.
func (g *groupSeen) announce(h http.Header, now time.Time) {
	lim, okL := headerInt(h, "x-sib-ratelimit-limit")
	rem, okR := headerInt(h, "x-sib-ratelimit-remaining")
	reset, _ := headerSeconds(h, "x-sib-ratelimit-reset")
	if okL || okR {
		g.announced = &Announced{Limit: lim, Remaining: rem, Reset: reset.String(), At: now}
	}
}

// status snapshots every group used so far.
func (d *Discipline) status() map[string]GroupStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	out := make(map[string]GroupStatus, len(d.groups))
	for name, g := range d.groups {
		gs := GroupStatus{Waiting: g.seen.waiting, InFlight: g.inFlight, Concurrency: g.limit}
		gs.LastSecond, gs.LastMinute, gs.BusiestSecond = g.seen.sent.counts(now)
		gs.PerSecond = float64(gs.LastMinute) / time.Minute.Seconds()
		gs.Limit = g.learned
		if gs.Limit == 0 {
			gs.Limit = documentedRate[name]
		}
		if g.rate != nil {
			gs.Window = g.rate.limit
		}
		if now.Before(g.pause) {
			gs.PausedFor = g.pause.Sub(now).Round(time.Millisecond).String()
		}
		if a := g.seen.announced; a != nil {
			c := *a
			gs.Brevo = &c
		}
		out[name] = gs
	}
	return out
}

// recent counts events over the last minute in buckets of a tenth of a
// second: a fixed size whatever the rate, precise enough for a limit
// counted per second.
type recent struct {
	n    [recentBuckets]int32
	last int64 // bucket number (time / recentTick) of the newest bucket
}

const (
	recentTick    = 100 * time.Millisecond
	recentBuckets = int(time.Minute / recentTick)
	perSecond     = int(time.Second / recentTick)
)

// advance moves the newest bucket to now's, emptying those it passes. A
// clock that goes back counts in the newest bucket.
func (r *recent) advance(now time.Time) {
	i := now.UnixNano() / int64(recentTick)
	if i <= r.last {
		return
	}
	if i-r.last >= int64(recentBuckets) {
		clear(r.n[:])
	} else {
		for j := r.last + 1; j <= i; j++ {
			r.n[j%int64(recentBuckets)] = 0
		}
	}
	r.last = i
}

func (r *recent) add(now time.Time) {
	r.advance(now)
	r.n[r.last%int64(recentBuckets)]++
}

// counts returns the events in the last second and the last minute, and
// the most in any second of the minute.
func (r *recent) counts(now time.Time) (second, minute, busiest int) {
	r.advance(now)
	// Oldest first.
	ordered := make([]int, 0, recentBuckets)
	for k := int64(recentBuckets) - 1; k >= 0; k-- {
		ordered = append(ordered, int(r.n[(r.last-k)%int64(recentBuckets)]))
	}
	run := 0
	for i, c := range ordered {
		minute += c
		run += c
		if i >= perSecond {
			run -= ordered[i-perSecond]
		}
		busiest = max(busiest, run)
	}
	for _, c := range ordered[recentBuckets-perSecond:] {
		second += c
	}
	return second, minute, busiest
}
