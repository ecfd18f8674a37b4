package brevo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// TestKeyNeverInErrorsOrLogs: a hostile (or broken) Brevo, or a proxy in
// front of it, echoes the api-key in every kind of answer: per-event
// messages of a 207 and of a 400, a plain-text 5xx, a 401. Nothing the sink
// returns or logs carries the key; at most its last four characters.
func TestKeyNeverInErrorsOrLogs(t *testing.T) {
	const key = "xkeysib-0123456789abcdef0123456789abcdef-SECRETVALUE-WXYZ"
	secret := key[:len(key)-4]
	sim := brevotest.NewHandler(brevotest.Options{APIKey: key, Lists: map[int64]string{1: "a", 2: "b", 3: "c"}})
	var startFaults = 2
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echo := r.Header.Get("api-key")
		switch {
		case r.URL.Path == "/v3/contacts/attributes" && startFaults > 0:
			startFaults--
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "<html>upstream refused key %s</html>", echo)
		case r.URL.Path == "/v3/events/batch":
			w.WriteHeader(http.StatusMultiStatus)
			fmt.Fprintf(w, `{"status":"partial","total_events":3,"successful_events":1,"failed_events":2,"errors":[{"eventIndex":[0,1],"message":"key %s is odd"}]}`, echo)
		case r.URL.Path == "/v3/events":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"code":"invalid_parameter","message":"bad key %s"}`, echo)
		case r.URL.Path == "/v3/orders/status":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"code":"unauthorized","message":"Key not found: %s"}`, echo)
		case strings.HasPrefix(r.URL.Path, "/v3/contacts/lists") && r.Method == http.MethodPost:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "maintenance; your key %s", echo)
		default:
			sim.ServeHTTP(w, r)
		}
	}))
	defer hs.Close()

	var logs bytes.Buffer
	l := logrus.New()
	l.SetOutput(&logs)
	l.SetLevel(logrus.DebugLevel)
	cfg := *brevo.NewSinkConfig().(*brevo.SinkConfig)
	cfg.APIKey, cfg.BaseURL, cfg.Timeout = key, hs.URL+"/v3", 5*time.Second
	cfg.Lists.AllCustomers, cfg.Lists.Buyers = 1, 2
	cfg.Ecommerce.Enabled = false
	s, err := brevo.NewSink(cfg, pipeline.Env{Name: "brevo", Log: logrus.NewEntry(l)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	var texts []string
	collect := func(err error) {
		if err == nil {
			return
		}
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
		var be *pipeline.BatchError
		if errors.As(err, &be) {
			for _, e := range be.Errs {
				if e != nil {
					texts = append(texts, e.Error())
				}
			}
		}
	}
	var batch []*pipeline.Record
	for i := 1; i <= 3; i++ {
		batch = append(batch, envelope(t, schemas.TypeCheckoutCreated, schemas.KindCheckout, fmt.Sprint(i),
			map[string]any{"id": i, "token": fmt.Sprint("t", i), "email": fmt.Sprintf("c%d@example.com", i)}, nil))
	}
	collect(s.Write(ctx, batch))
	collect(s.Client().SendEvent(ctx, brevo.Event{Name: "x", Identifiers: brevo.Identifiers{EmailID: "a@example.com"}}))
	collect(s.Client().SendOrder(ctx, brevo.Order{ID: "1", CreatedAt: "2026-01-01T00:00:00Z", UpdatedAt: "2026-01-01T00:00:00Z", Status: "paid", Amount: 1,
		Products: []brevo.OrderProduct{{ProductID: "p", Quantity: 1, Price: 1}}, Identifiers: &brevo.OrderIdentifiers{EmailID: "a@example.com"}}))
	_, lerr := s.Client().AddToList(ctx, 1, []string{"a@example.com"})
	collect(lerr)
	collect(fmt.Errorf("%v %+v %#v", cfg, cfg, cfg))
	texts = append(texts, logs.String())
	if len(texts) < 8 {
		t.Fatalf("the hostile answers produced too few errors to prove anything: %q", texts)
	}
	for _, txt := range texts {
		if strings.Contains(txt, secret) {
			t.Fatalf("the key leaked: %s", txt)
		}
	}
	if all := strings.Join(texts, "\n"); !strings.Contains(all, "WXYZ") || !strings.Contains(all, "<api-key>") {
		t.Fatalf("expected the key's last four characters and the scrub marker somewhere:\n%s", all)
	}
}
