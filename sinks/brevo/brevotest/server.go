package brevotest

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limit is a rate limit: Requests per Per, in fixed windows like Brevo's.
type Limit struct {
	Requests int
	Per      time.Duration
}

// Options configures a Server. The zero value is a working simulator with
// key DefaultAPIKey, lists 1 and 2, no rate limit and no faults.
type Options struct {
	APIKey string
	// RateLimit applies to all routes together; EndpointLimits to single
	// routes, keyed like "POST /events/batch" (method and path template
	// without /v3).
	RateLimit      Limit
	EndpointLimits map[string]Limit
	// GroupLimits applies to endpoint groups (GroupContacts, GroupEvents,
	// …; RouteGroup says which route is in which), each route of a group
	// counting against the group's limits together, as Brevo rates them.
	// GeneralTier() is Brevo's General tier. Every limit of a group holds
	// at once (10/s and 36,000/h); the headers announce the tightest.
	GroupLimits map[string][]Limit
	// FaultRate is the fraction of authenticated requests answered with a
	// 5xx before being applied.
	FaultRate float64
	// Latency is added to every request; HangRate is the fraction of
	// requests that hang for HangFor (default 1 minute) or until the client
	// gives up, to exercise client timeouts.
	Latency  time.Duration
	HangRate float64
	HangFor  time.Duration
	// Seed makes faults reproducible for a given request order.
	Seed uint64
	// ImportPolls is how many GET /processes/{id} it takes for an import to
	// complete (default 2: in_process, then completed), unless ImportTime
	// or ImportTimePerContact is set.
	ImportPolls int
	// ImportTime is how long an import stays in_process after its 202,
	// plus ImportTimePerContact for each contact it carries (Brevo's take
	// seconds to minutes, the big ones longer). Once set, an import
	// completes when its time is up, polled or not (its contacts appear
	// then and its notifyUrl is called), and ImportPolls is ignored.
	ImportTime           time.Duration
	ImportTimePerContact time.Duration
	// Lists are the lists that exist (id → name); default {1, 2}.
	Lists map[int64]string
	// Attributes exist in addition to FIRSTNAME, LASTNAME and SMS (text).
	Attributes map[string]string
	// MaxImportBytes is the largest accepted import body (default 10 MB,
	// Brevo's hard limit).
	MaxImportBytes int
	// Lenient accepts unknown JSON fields, as the real API does.
	Lenient bool
	// Now replaces the clock (for timestamps only; rate windows use it too).
	Now func() time.Time
	// OnRequest, when set, is called with the route ("POST /contacts") of
	// every API request as it arrives, before it is applied: a test can
	// stop the client at a known point (kill -9 while a request is in
	// flight). It runs on the request's goroutine.
	OnRequest func(route string)
	// AfterApply, when set, is called with the route of every API request
	// the simulator answered, after it was applied and before its answer
	// leaves: the window in which a client that dies (or gives up) has had
	// its request applied without hearing so. It runs on the request's
	// goroutine; panicking with http.ErrAbortHandler drops the connection
	// without an answer.
	AfterApply func(route string)
}

// DefaultAPIKey is the key a Server accepts unless Options.APIKey is set.
const DefaultAPIKey = "xkeysib-test-0000000000000000-brevotest"

// Server is the simulator. Use New, then URL() as the client's base URL.
type Server struct {
	opts       Options
	hs         *httptest.Server
	mux        *http.ServeMux
	routeNames []string

	// ctl guards control and statistics; mu guards the simulated account.
	// They are separate so a handler holding mu can still record its status.
	ctl      sync.Mutex
	rng      *rand.Rand
	key      string
	revoked  bool
	failNext []int
	outage   int // status every authenticated request gets; 0 = up
	start    time.Time

	windows  map[string]*window // rate-limit windows by limit key ("" = global)
	counts   map[string]int     // requests by route
	statuses map[int]int
	recent   map[string][]time.Time // last second of arrivals, by route and "" (all)
	maxRate  map[string]int

	mu        sync.Mutex
	nextID    int64
	contacts  map[int64]*Contact
	byEmail   map[string]int64
	byExtID   map[string]int64
	attrs     map[string]Attribute
	lists     map[int64]*list
	events    []Event
	products  map[string]Product
	cats      map[string]Category
	orders    []Order
	batches   int64
	processes map[int64]*process
	ignored   []IgnoredValue
	timers    map[int64]*time.Timer // timed imports not yet complete
	notified  []Notification
}

type window struct {
	start time.Time
	count int
}

// New starts a simulator on a loopback httptest server. Close it when done.
func New(opts Options) *Server {
	s := NewHandler(opts)
	s.hs = httptest.NewServer(s)
	return s
}

// NewHandler builds a simulator without starting a listener, for mounting
// in another server (the CLI demo). URL() is empty then.
func NewHandler(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.ImportPolls <= 0 {
		opts.ImportPolls = 2
	}
	if opts.HangFor <= 0 {
		opts.HangFor = time.Minute
	}
	if opts.MaxImportBytes <= 0 {
		opts.MaxImportBytes = 10 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Lists == nil {
		opts.Lists = map[int64]string{1: "Newsletter", 2: "Customers"}
	}
	s := &Server{
		opts:      opts,
		rng:       rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		key:       opts.APIKey,
		start:     opts.Now(),
		windows:   map[string]*window{},
		counts:    map[string]int{},
		statuses:  map[int]int{},
		recent:    map[string][]time.Time{},
		maxRate:   map[string]int{},
		contacts:  map[int64]*Contact{},
		byEmail:   map[string]int64{},
		byExtID:   map[string]int64{},
		attrs:     map[string]Attribute{},
		lists:     map[int64]*list{},
		products:  map[string]Product{},
		cats:      map[string]Category{},
		processes: map[int64]*process{},
		timers:    map[int64]*time.Timer{},
	}
	for _, n := range []string{"FIRSTNAME", "LASTNAME", "SMS"} {
		s.attrs[n] = Attribute{Name: n, Category: "normal", Type: "text"}
	}
	for n, t := range opts.Attributes {
		s.attrs[strings.ToUpper(n)] = Attribute{Name: strings.ToUpper(n), Category: "normal", Type: t}
	}
	for id, name := range opts.Lists {
		s.lists[id] = &list{name: name, members: map[int64]bool{}}
	}
	s.routes()
	return s
}

// URL is the API root to give the client (it ends in /v3).
func (s *Server) URL() string {
	if s.hs == nil {
		return ""
	}
	return s.hs.URL + "/v3"
}

// APIKey returns the key currently accepted.
func (s *Server) APIKey() string {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return s.key
}

// Close stops the listener and the clocks of imports still running.
func (s *Server) Close() {
	s.mu.Lock()
	for id, t := range s.timers {
		t.Stop()
		delete(s.timers, id)
	}
	s.mu.Unlock()
	if s.hs != nil {
		s.hs.CloseClientConnections()
		s.hs.Close()
	}
}

// RevokeKey makes every later request fail with 401, as a key deleted in
// Brevo's console does.
func (s *Server) RevokeKey() {
	s.ctl.Lock()
	s.revoked = true
	s.ctl.Unlock()
}

// SetKey replaces the accepted key (and un-revokes).
func (s *Server) SetKey(k string) {
	s.ctl.Lock()
	s.key, s.revoked = k, false
	s.ctl.Unlock()
}

// FailNext makes the next n authenticated requests answer status (e.g. 503)
// without being applied.
func (s *Server) FailNext(n, status int) {
	s.ctl.Lock()
	for i := 0; i < n; i++ {
		s.failNext = append(s.failNext, status)
	}
	s.ctl.Unlock()
}

// SetOutage makes every authenticated request answer status (e.g. 503)
// without being applied, until SetOutage(0): Brevo down for a while.
func (s *Server) SetOutage(status int) {
	s.ctl.Lock()
	s.outage = status
	s.ctl.Unlock()
}

// SetFaultRate changes Options.FaultRate at runtime.
func (s *Server) SetFaultRate(f float64) {
	s.ctl.Lock()
	s.opts.FaultRate = f
	s.ctl.Unlock()
}

// SetRateLimit changes the global limit at runtime (zero disables it).
func (s *Server) SetRateLimit(l Limit) {
	s.ctl.Lock()
	s.opts.RateLimit = l
	delete(s.windows, "")
	s.ctl.Unlock()
}

// reportedLimit is the nominal limit announced when none is configured, so
// every response still carries the headers.
const reportedLimit = 100000

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		h.ServeHTTP(w, r)
		return
	}
	if strings.HasPrefix(pattern, "GET /brevotest/") {
		s.mux.ServeHTTP(w, r) // report downloads: pre-signed, no key, not limited
		return
	}
	route := strings.Replace(pattern, " /v3/", " /", 1)
	if s.opts.OnRequest != nil {
		s.opts.OnRequest(route)
	}

	s.ctl.Lock()
	now := s.opts.Now()
	s.counts[route]++
	s.observe("", now)
	s.observe(route, now)
	s.observe(groupKey(RouteGroup(route)), now)
	hang := s.opts.HangRate > 0 && s.rng.Float64() < s.opts.HangRate
	s.ctl.Unlock()

	if s.opts.Latency > 0 && !sleep(r, s.opts.Latency) {
		return
	}
	if hang && !sleep(r, s.opts.HangFor) {
		return
	}

	s.ctl.Lock()
	ok, lim, rem, reset := s.admit(route, s.opts.Now())
	w.Header().Set("x-sib-ratelimit-limit", strconv.Itoa(lim))
	w.Header().Set("x-sib-ratelimit-remaining", strconv.Itoa(rem))
	w.Header().Set("x-sib-ratelimit-reset", strconv.Itoa(reset))
	authOK := !s.revoked && r.Header.Get("api-key") == s.key
	fault := 0
	if ok && authOK {
		if s.outage != 0 {
			fault = s.outage
		} else if len(s.failNext) > 0 {
			fault, s.failNext = s.failNext[0], s.failNext[1:]
		} else if s.opts.FaultRate > 0 && s.rng.Float64() < s.opts.FaultRate {
			fault = []int{500, 502, 503}[s.rng.IntN(3)]
		}
	}
	s.ctl.Unlock()

	switch {
	case !ok:
		s.fail(w, http.StatusTooManyRequests, "too_many_requests", "The rate limit of this endpoint is exceeded, retry after x-sib-ratelimit-reset seconds")
	case !authOK:
		s.fail(w, http.StatusUnauthorized, "unauthorized", "Key not found")
	case fault != 0:
		s.fail(w, fault, "internal_error", "Internal server error (injected)")
	default:
		// Through the mux, not h: only ServeMux.ServeHTTP sets path values.
		rec := &statusRecorder{ResponseWriter: w, s: s}
		if s.opts.AfterApply != nil {
			// Held back until the hook returns, so that nothing of the
			// answer reaches the client before it.
			rec.hold = &heldResponse{header: http.Header{}}
		}
		s.mux.ServeHTTP(rec, r)
		if s.opts.AfterApply != nil {
			s.opts.AfterApply(route)
			rec.release(w)
		}
	}
}

// sleep waits d or until the client goes away; false means it went away.
func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// observe records an arrival for the max-rate statistic (1 s sliding window).
func (s *Server) observe(key string, now time.Time) {
	q := s.recent[key]
	cut := now.Add(-time.Second)
	i := 0
	for i < len(q) && !q[i].After(cut) {
		i++
	}
	q = append(q[i:], now)
	s.recent[key] = q
	if len(q) > s.maxRate[key] {
		s.maxRate[key] = len(q)
	}
}

// admit counts the request against the global and route limits and returns
// the headers to announce (those of the tighter limit).
func (s *Server) admit(route string, now time.Time) (ok bool, limit, remaining, reset int) {
	ok, limit, remaining, reset = true, reportedLimit, reportedLimit, 1
	first := true
	check := func(key string, l Limit) {
		if l.Requests <= 0 || l.Per <= 0 {
			return
		}
		w := s.windows[key]
		elapsed := now.Sub(s.start)
		start := s.start.Add(elapsed - elapsed%l.Per)
		if w == nil || !w.start.Equal(start) {
			w = &window{start: start}
			s.windows[key] = w
		}
		w.count++
		rem := l.Requests - w.count
		if rem < 0 {
			ok = false
			rem = 0
		}
		left := start.Add(l.Per).Sub(now)
		sec := int((left + time.Second - 1) / time.Second)
		if first || rem < remaining {
			limit, remaining, reset = l.Requests, rem, max(sec, 1)
			first = false
		}
	}
	check("", s.opts.RateLimit)
	if l, has := s.opts.EndpointLimits[route]; has {
		check("route:"+route, l)
	}
	g := RouteGroup(route)
	for i, l := range s.opts.GroupLimits[g] {
		check(groupKey(g)+":"+strconv.Itoa(i), l)
	}
	return ok, limit, remaining, reset
}

type statusRecorder struct {
	http.ResponseWriter
	s    *Server
	done bool
	hold *heldResponse // non-nil: buffer the answer until release
}

// heldResponse is an answer kept back while Options.AfterApply runs.
type heldResponse struct {
	header http.Header
	status int
	body   []byte
}

func (r *statusRecorder) Header() http.Header {
	if r.hold != nil {
		return r.hold.header
	}
	return r.ResponseWriter.Header()
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.done {
		r.done = true
		r.s.ctl.Lock()
		r.s.statuses[code]++
		r.s.ctl.Unlock()
	}
	if r.hold != nil {
		if r.hold.status == 0 {
			r.hold.status = code
		}
		return
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.done {
		r.WriteHeader(http.StatusOK)
	}
	if r.hold != nil {
		r.hold.body = append(r.hold.body, b...)
		return len(b), nil
	}
	return r.ResponseWriter.Write(b)
}

// release sends a held answer.
func (r *statusRecorder) release(w http.ResponseWriter) {
	h := r.hold
	if h == nil {
		return
	}
	if h.status == 0 {
		h.status = http.StatusOK
	}
	for k, v := range h.header {
		w.Header()[k] = v
	}
	w.WriteHeader(h.status)
	_, _ = w.Write(h.body)
}

func (s *Server) fail(w http.ResponseWriter, status int, code, msg string) {
	s.ctl.Lock()
	s.statuses[status]++
	s.ctl.Unlock()
	writeJSON(w, status, map[string]any{"code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// RequestCount returns how many requests reached route (e.g.
// "POST /events/batch"), including refused ones.
func (s *Server) RequestCount(route string) int {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return s.counts[route]
}

// RequestCounts returns the request count of every route.
func (s *Server) RequestCounts() map[string]int {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// StatusCount returns how many responses had the given status.
func (s *Server) StatusCount(status int) int {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return s.statuses[status]
}

// MaxRate is the highest number of requests seen within any one second,
// over all routes ("") or for one route.
func (s *Server) MaxRate(route string) int {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return s.maxRate[route]
}

// ResetStats forgets the request statistics (counts, statuses, busiest
// seconds), not the rate-limit windows: a test measures from a known
// point, after its set-up's requests.
func (s *Server) ResetStats() {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.counts, s.statuses = map[string]int{}, map[int]int{}
	s.recent, s.maxRate = map[string][]time.Time{}, map[string]int{}
}

// MaxGroupRate is the highest number of requests seen within any one
// second for one endpoint group (GroupContacts, …), refused ones included.
func (s *Server) MaxGroupRate(group string) int {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return s.maxRate[groupKey(group)]
}

// groupKey keys a group's statistics and windows apart from the routes'.
func groupKey(group string) string { return "group:" + group }

// Routes lists the routes the simulator serves, sorted.
func (s *Server) Routes() []string {
	out := append([]string(nil), s.routeNames...)
	sort.Strings(out)
	return out
}
