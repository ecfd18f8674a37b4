package brevo_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// A 429 storm (two forced 429s every 1.5 s, on whatever request comes
// next) against an account rated like the General tier, while contacts
// are written and an import is polled, as the sink does in a flood. No
// request may sit in the discipline for long: a forced 429 answered with
// headers that say the window is not spent (remaining > 0) must not pause
// its group until that window's reset, which for "all other endpoints"
// (/processes, 100/h) is the end of the hour.
func TestDisciplineUnder429Storm(t *testing.T) {
	if testing.Short() {
		t.Skip("a 12 s storm")
	}
	srv := brevotest.New(brevotest.Options{GroupLimits: brevotest.GeneralTier(), Lenient: true})
	defer srv.Close()
	d := brevo.NewDiscipline(nil, brevo.DisciplineConfig{Timeout: 30 * time.Second, Initial: 2, Max: 8, Retries: 2})
	c := &http.Client{Transport: d}
	ctx, stop := context.WithTimeout(context.Background(), 12*time.Second)
	defer stop()

	var mu sync.Mutex
	worst := map[string]time.Duration{}
	count := map[string]int{}
	send := func(method, path, body string) {
		// Bounded, so that a stall fails the test instead of hanging it.
		rctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(rctx, method, srv.URL()+strings.TrimPrefix(path, "/v3"), strings.NewReader(body))
		if body == "" {
			req, _ = http.NewRequestWithContext(rctx, method, srv.URL()+strings.TrimPrefix(path, "/v3"), nil)
		}
		req.Header.Set("api-key", srv.APIKey())
		req.Header.Set("content-type", "application/json")
		start := time.Now()
		resp, err := c.Do(req)
		took := time.Since(start)
		if err != nil {
			t.Errorf("%s %s: %v", method, path, err)
			return
		}
		resp.Body.Close()
		route := method + " " + strings.SplitN(strings.TrimPrefix(path, "/v3/"), "/", 2)[0]
		mu.Lock()
		worst[route] = max(worst[route], took)
		count[route]++
		mu.Unlock()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the storm
		defer wg.Done()
		tick := time.NewTicker(1500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				srv.FailNext(2, http.StatusTooManyRequests)
			}
		}
	}()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() { // contact writes, as fast as the discipline lets them
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				send(http.MethodPost, "/v3/contacts", fmt.Sprintf(`{"email":"storm-%d-%d@example.com","updateEnabled":true}`, w, i))
			}
		}()
	}
	wg.Add(1)
	go func() { // an import's polls: one a second, within the 100/h
		defer wg.Done()
		for ctx.Err() == nil {
			send(http.MethodGet, "/v3/processes/1", "")
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	wg.Wait()
	t.Logf("429s: %d; requests %v; slowest %v", srv.StatusCount(http.StatusTooManyRequests), count, worst)
	for route, took := range worst {
		// A forced 429 pauses its group about a second, twice for the
		// transport's retries; the rest is the 8/s window: a few seconds,
		// more on a loaded machine. The stall this guards against waited
		// for a reset up to an hour away (over 40 s in 12).
		if took > 10*time.Second {
			t.Errorf("a %s request took %v under the storm (want under 10 s)", route, took)
		}
	}
	if count["GET processes"] < 5 {
		t.Errorf("only %d polls went out in 12 s (one a second asked)", count["GET processes"])
	}
}

// Brevo limits per endpoint group; the discipline keeps each group to
// rate_share (default 0.8) of it: 8 in any second of contacts' 10/s, and
// the events group's 8 beside them, whatever the other does.
func TestDisciplineKeepsEachGroupToItsShare(t *testing.T) {
	var mu sync.Mutex
	arrivals := map[string][]time.Time{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		g := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/v3/"), "/", 2)[0]
		arrivals[g] = append(arrivals[g], time.Now())
		mu.Unlock()
	}))
	defer srv.Close()
	// sinks.brevo.rate_share's default, as the sink passes it.
	d := brevo.NewDiscipline(nil, brevo.DisciplineConfig{Initial: 8, Max: 8, RateShare: brevo.NewSinkConfig().(*brevo.SinkConfig).RateShare})
	c := &http.Client{Transport: d}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		for _, path := range []string{"/v3/contacts", "/v3/events/batch"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if resp, err := c.Post(srv.URL+path, "application/json", nil); err == nil {
					resp.Body.Close()
				}
			}()
		}
	}
	wg.Wait()
	for g, as := range arrivals {
		if busiest := busiestSecond(as); busiest != 8 {
			t.Errorf("%s: %d requests in the busiest second, want 8 (0.8 of Brevo's 10/s)", g, busiest)
		}
	}
	if len(arrivals) != 2 {
		t.Fatalf("arrivals by group: %v", arrivals)
	}
}

// busiestSecond is the most arrivals within any one second.
func busiestSecond(as []time.Time) int {
	slices.SortFunc(as, time.Time.Compare)
	most := 0
	for i := range as {
		n := 0
		for _, a := range as[i:] {
			if a.Sub(as[i]) < time.Second {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}
