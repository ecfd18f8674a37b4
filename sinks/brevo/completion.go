package brevo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tajo/tajo/pipeline/backoff"
	"github.com/tajo/tajo/pipeline/config"
)

// This file is how the sink learns that an import finished. Brevo counts
// GET /processes/{id} among "all other endpoints", 100 requests an hour
// for the whole account, so polls are paid from one hourly budget shared
// by every import (sinks.brevo.import.polls_per_hour). Where Brevo can
// reach tajo (sinks.brevo.import.notify_url), each import carries a
// notifyUrl on the webhook listener and completes on Brevo's call, with
// a poll as the fallback when no call comes (Brevo does not promise one).

// notifyFallback is how long an import with a notifyUrl waits for Brevo's
// call before it polls. A variable so that tests can shorten it.
var notifyFallback = time.Minute

// completion waits for the imports of one sink.
type completion struct {
	client *Client
	budget *pollBudget // nil: polls are not budgeted
	notify *notifier   // nil: no notifyUrl
}

// run runs req to completion (Client.runImport), each process waited
// for by a notifyUrl call or by polls within the budget.
func (c *completion) run(ctx context.Context, req ImportRequest) (*ImportResult, error) {
	var t *notifyTicket
	if c.notify != nil {
		t = c.notify.open()
		defer c.notify.close(t)
		req.NotifyURL = t.url
	}
	polls := 0
	res, err := c.client.runImport(ctx, req, func(ctx context.Context, id int64) (*Process, error) {
		return c.client.pollProcess(ctx, id, func(ctx context.Context, n int, wait time.Duration) (*Process, error) {
			if n == 0 && t != nil {
				wait = notifyFallback
			}
			// Wait out the interval, then for a poll of the budget; a
			// notification ends either wait.
			p, err := t.await(ctx, id, wait)
			for err == nil && (p == nil || !p.Done()) {
				d := c.budget.take()
				if d == 0 {
					polls++
					return p, nil
				}
				p, err = t.await(ctx, id, d)
			}
			return p, err
		})
	})
	if err == nil && t == nil {
		c.budget.finished(polls)
	}
	return res, err
}

// room says whether an import started beside running ones will have a
// poll when it needs one (see pollBudget.room); with a notifyUrl it
// needs none.
func (c *completion) room(running int) (ok bool, wait time.Duration) {
	if c.notify != nil {
		return true, 0
	}
	return c.budget.room(running)
}

// pollBudget is the imports' share of Brevo's hourly limit: at most
// perHour polls in any rolling hour, all usable at once, so that a
// backfill's imports hear their end in seconds. A long flood of imports
// could spend it and leave a running import without the poll that ends
// it until the hour gives one back; so a new import starts only while
// the budget holds the polls it is likely to need beside those the
// running imports are owed, plus a reserve for imports that take longer
// than expected (room). While it does not, the dispatcher sends the
// contacts alone, at Brevo's contacts rate.
type pollBudget struct {
	mu  sync.Mutex
	win window
	now func() time.Time
	// owed is how many polls an import is counted to need: what the last
	// one to finish took (at least 1), as Brevo's import time drifts
	// with its load and the imports' size.
	owed int
	// reserve is kept for running imports that need more polls than owed.
	reserve int
}

func newPollBudget(perHour int) *pollBudget {
	if perHour <= 0 {
		return nil
	}
	return &pollBudget{win: window{limit: perHour, per: time.Hour}, now: time.Now, owed: 1, reserve: perHour / 6}
}

// take spends one poll and returns 0, or returns how long until one is
// left (spending nothing). A nil budget always has one.
func (b *pollBudget) take() time.Duration {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.win.take(b.now())
}

// finished records the polls a finished import took.
func (b *pollBudget) finished(polls int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.owed = max(1, polls)
	b.mu.Unlock()
}

// room says whether a new import may start beside running ones: the
// budget holds the polls each of them is owed, and the reserve. When it
// does not, wait is how long until it may (-1: only a finished import
// can make room). A nil budget always has room.
func (b *pollBudget) room(running int) (ok bool, wait time.Duration) {
	if b == nil {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	need := b.owed*(running+1) + b.reserve
	if need > b.win.limit {
		if running > 0 {
			return false, -1
		}
		// Imports that take more polls than the budget leaves beside its
		// reserve: one at a time, with the polls it took last.
		need = min(b.owed, b.win.limit)
	}
	if b.win.room(now) >= need {
		return true, 0
	}
	// The window has room for need once all but limit-need of the polls
	// in it have left it.
	cut := now.Add(-b.win.span())
	var live []time.Time
	for _, t := range b.win.sent {
		if t.After(cut) {
			live = append(live, t)
		}
	}
	return false, live[len(live)-(b.win.limit-need)-1].Add(b.win.span()).Sub(now) + time.Millisecond
}

// used returns the polls spent in the last hour and the hourly budget
// (0, 0 for a nil budget), for /status.
func (b *pollBudget) used() (spent, perHour int) {
	if b == nil {
		return 0, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.win.limit - b.win.room(b.now()), b.win.limit
}

// notifier serves the notifyUrls of a sink's imports on the webhook
// listener, under a path with a random token made at each start, so that
// only Brevo (which is given the URL) can end an import early; each import
// has its own nonce under it.
type notifier struct {
	base    string // notify_url + prefix
	prefix  string // "/brevo/imports/<token>/"
	mu      sync.Mutex
	tickets map[string]*notifyTicket
}

// notifyTicket is one import's notifyUrl and the calls it received.
type notifyTicket struct {
	nonce string
	url   string
	ch    chan *Process
	seen  map[int64]*Process // calls for another process of the import
}

func newNotifier(notifyURL string, mux *http.ServeMux) *notifier {
	n := &notifier{prefix: "/brevo/imports/" + randomHex(16) + "/", tickets: map[string]*notifyTicket{}}
	n.base = strings.TrimRight(notifyURL, "/") + n.prefix
	mux.Handle(n.prefix, n)
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

func (n *notifier) open() *notifyTicket {
	t := &notifyTicket{nonce: randomHex(8), ch: make(chan *Process, 16), seen: map[int64]*Process{}}
	t.url = n.base + t.nonce
	n.mu.Lock()
	n.tickets[t.nonce] = t
	n.mu.Unlock()
	return t
}

func (n *notifier) close(t *notifyTicket) {
	n.mu.Lock()
	delete(n.tickets, t.nonce)
	n.mu.Unlock()
}

// maxNotifyBody bounds a notification: a process is a few hundred bytes.
const maxNotifyBody = 64 << 10

// ServeHTTP takes Brevo's call. Its body is not documented; the sink
// reads it as GET /processes/{id} answers (what the simulator sends) and,
// when it is not one, takes the call as a sign to poll now.
func (n *notifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	nonce := strings.TrimPrefix(r.URL.Path, n.prefix)
	n.mu.Lock()
	t := n.tickets[nonce]
	n.mu.Unlock()
	if t == nil {
		http.NotFound(w, r) // an import that already ended (or a previous run's)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxNotifyBody))
	p := &Process{}
	if json.Unmarshal(body, p) != nil {
		p = &Process{}
	}
	select {
	case t.ch <- p:
	default: // a burst of calls for one import: one is enough to act on
	}
	w.WriteHeader(http.StatusNoContent)
}

// await waits d or until Brevo calls about process id; it returns the
// process the call carried (final or not: a call that says nothing is a
// sign to poll), or nil when d passed. A nil ticket just sleeps.
func (t *notifyTicket) await(ctx context.Context, id int64, d time.Duration) (*Process, error) {
	if t == nil {
		return nil, backoff.Sleep(ctx, d)
	}
	if p, ok := t.seen[id]; ok {
		delete(t.seen, id)
		return p, nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
			return nil, nil
		case p := <-t.ch:
			if p.ID != 0 && p.ID != id {
				t.seen[p.ID] = p
				continue
			}
			if p.ID == 0 {
				p.Status = "" // says nothing of which process: poll
			}
			return p, nil
		}
	}
}

// checkNotifyURL accepts an absolute https URL without query or fragment,
// or http to a loopback address: the token in the path must not travel
// in clear text.
func checkNotifyURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("must be an absolute https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must have no query or fragment (the sink adds its own path)")
	}
	if u.Scheme == "http" && !config.IsLoopback(u.Hostname()) {
		return fmt.Errorf("must be https: http://%s would carry the import token in clear text", u.Host)
	}
	return nil
}
