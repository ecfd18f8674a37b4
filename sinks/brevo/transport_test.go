package brevo_test

import (
	"net/http"
	"net/http/httptest"
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
