package brevo_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tajo/tajo/sinks/brevo"
)

func TestDisciplineAIMD(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	d := brevo.NewDiscipline(nil, brevo.DisciplineConfig{Initial: 1, Max: 4, Retries: 0})
	c := &http.Client{Transport: d}
	get := func() {
		resp, err := c.Get(srv.URL + "/v3/account")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for i := 0; i < 30; i++ {
		get()
	}
	if l := d.Limits()["other"]; l != 4 {
		t.Fatalf("after 30 fast successes the limit is %v, want the ceiling 4", l)
	}
	status.Store(503)
	get()
	if l := d.Limits()["other"]; l != 2 {
		t.Fatalf("after a 503 the limit is %v, want 2", l)
	}
	get()
	get()
	if l := d.Limits()["other"]; l != 1 {
		t.Fatalf("the limit must not go below 1: %v", l)
	}
}

// No sliding second sees more than the documented limit of a group, even
// when many requests are ready at once.
func TestDisciplineSlidingWindow(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
	}))
	defer srv.Close()
	d := brevo.NewDiscipline(nil, brevo.DisciplineConfig{Initial: 8, Max: 8})
	c := &http.Client{Transport: d}
	var wg sync.WaitGroup
	for i := 0; i < 7; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Post(srv.URL+"/v3/products/batch", "application/json", nil)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	const limit = 2 // products: 2 requests/s
	for i := range arrivals {
		n := 0
		for _, a := range arrivals[i:] {
			if a.Sub(arrivals[i]) < time.Second {
				n++
			}
		}
		if n > limit {
			t.Fatalf("%d requests within one second on a group limited to %d", n, limit)
		}
	}
}

// slowToLeave is a transport whose requests reach the server (arrive) a
// while after the discipline let them go: every third one 300 ms late,
// as on a busy machine or with a large body. It records the arrivals.
type slowToLeave struct {
	mu       sync.Mutex
	n        int
	arrivals []time.Time
}

func (s *slowToLeave) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.n++
	late := s.n%3 == 1
	s.mu.Unlock()
	if late {
		time.Sleep(300 * time.Millisecond)
	}
	s.mu.Lock()
	s.arrivals = append(s.arrivals, time.Now())
	s.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

// A request counts in the rate window from its answer, not from when it
// was let go: one slow to reach Brevo never lands within a second of the
// requests the window let go a second after it, so no second of arrivals
// holds more than the limit.
func TestDisciplineCountsSlowRequestsFromTheirAnswer(t *testing.T) {
	const limit = 5
	base := &slowToLeave{}
	d := brevo.NewDiscipline(base, brevo.DisciplineConfig{Initial: 8, Max: 8, TotalRate: limit, Retries: 0})
	c := &http.Client{Transport: d}
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get("http://brevo.invalid/v3/account")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	at := base.arrivals
	slices.SortFunc(at, time.Time.Compare)
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			n++
		}
		if n > limit {
			t.Fatalf("%d requests arrived within one second from %s, over the limit of %d", n, at[i].Format("15:04:05.000"), limit)
		}
	}
}
