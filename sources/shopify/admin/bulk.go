package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/tajo/tajo/pipeline"
)

// EmitFunc receives each backfilled object: kind (KindCustomer…), the
// canonical object (*schemas.Customer…) and its updated_at. An error stops
// the backfill and is returned as is.
type EmitFunc func(kind string, obj any, updatedAt time.Time) error

// BulkOperation is Shopify's BulkOperation object, as polled.
type BulkOperation struct {
	ID             string     `json:"id"`
	Status         string     `json:"status"` // CREATED, RUNNING, COMPLETED, FAILED, CANCELED, EXPIRED
	ErrorCode      string     `json:"errorCode"`
	ObjectCount    string     `json:"objectCount"` // UnsignedInt64, sent as a string
	FileSize       string     `json:"fileSize"`
	URL            string     `json:"url"`
	PartialDataURL string     `json:"partialDataUrl"`
	CreatedAt      time.Time  `json:"createdAt"`
	CompletedAt    *time.Time `json:"completedAt"`
}

// Objects is ObjectCount as a number (0 when absent or unparsable).
func (op BulkOperation) Objects() int64 {
	n, _ := strconv.ParseInt(op.ObjectCount, 10, 64)
	return n
}

// StartBulk starts a bulk query of kind, optionally limited to objects
// updated at or after since (zero: everything).
func (c *Client) StartBulk(ctx context.Context, kind string, since time.Time) (BulkOperation, error) {
	sp, ok := specs[kind]
	if !ok {
		return BulkOperation{}, pipeline.Stop(fmt.Errorf("shopify admin: unknown kind %q", kind))
	}
	args := ""
	if !since.IsZero() {
		args = fmt.Sprintf(`(query: "updated_at:>='%s'")`, since.UTC().Format(time.RFC3339))
	}
	var data struct {
		Run struct {
			BulkOperation *BulkOperation `json:"bulkOperation"`
			UserErrors    []struct {
				Field   []string `json:"field"`
				Message string   `json:"message"`
			} `json:"userErrors"`
		} `json:"bulkOperationRunQuery"`
	}
	if err := c.Do(ctx, MutationBulkRun, map[string]any{"query": fmt.Sprintf(sp.bulk, args), "groupObjects": true}, 10, &data); err != nil {
		return BulkOperation{}, err
	}
	if ue := data.Run.UserErrors; len(ue) > 0 {
		msgs := make([]string, len(ue))
		for i, e := range ue {
			msgs[i] = e.Message
		}
		err := fmt.Errorf("shopify admin: bulk %s query refused: %s", sp.root, clip(strings.Join(msgs, "; "), 500))
		if strings.Contains(strings.ToLower(err.Error()), "in progress") {
			return BulkOperation{}, pipeline.Retry(err)
		}
		return BulkOperation{}, pipeline.Stop(err)
	}
	if data.Run.BulkOperation == nil || data.Run.BulkOperation.ID == "" {
		return BulkOperation{}, pipeline.Retry(fmt.Errorf("shopify admin: bulk %s query: no operation in the answer", sp.root))
	}
	return *data.Run.BulkOperation, nil
}

// PollBulk reads the operation's current state.
func (c *Client) PollBulk(ctx context.Context, id string) (BulkOperation, error) {
	var data struct {
		Node *BulkOperation `json:"node"`
	}
	if err := c.Do(ctx, QueryBulkPoll, map[string]any{"id": id}, 1, &data); err != nil {
		return BulkOperation{}, err
	}
	if data.Node == nil {
		return BulkOperation{}, pipeline.Stop(fmt.Errorf("shopify admin: bulk operation %s not found", id))
	}
	return *data.Node, nil
}

// CurrentBulk returns the app's most recent bulk query operation on the
// shop, if any: after a restart, the caller finds the operation it had
// started (and its result URL, valid for 7 days) instead of starting over.
func (c *Client) CurrentBulk(ctx context.Context) (BulkOperation, bool, error) {
	var data struct {
		Op *BulkOperation `json:"currentBulkOperation"`
	}
	if err := c.Do(ctx, QueryCurrentBulk, nil, 1, &data); err != nil {
		return BulkOperation{}, false, err
	}
	if data.Op == nil {
		return BulkOperation{}, false, nil
	}
	return *data.Op, true, nil
}

// WaitBulk polls until the operation finishes, calling progress (if not
// nil) after each poll. A FAILED, CANCELED or EXPIRED operation is an
// error naming Shopify's errorCode; its partial data is not used, because
// a silently partial backfill is data loss that looks like success.
func (c *Client) WaitBulk(ctx context.Context, id string, progress func(BulkOperation)) (BulkOperation, error) {
	for {
		op, err := c.PollBulk(ctx, id)
		if err != nil {
			return op, err
		}
		if progress != nil {
			progress(op)
		}
		switch op.Status {
		case "COMPLETED":
			return op, nil
		case "FAILED", "CANCELED", "CANCELLED", "EXPIRED":
			return op, pipeline.Retry(fmt.Errorf("shopify admin: bulk operation %s ended %s (errorCode %s, %d objects written)",
				op.ID, op.Status, op.ErrorCode, op.Objects()))
		}
		if err := sleep(ctx, c.cfg.PollInterval); err != nil {
			return op, err
		}
	}
}

// Backfill reads every object of kind through a bulk operation and emits
// each, whole (children reassembled), in the order of the result file. It
// returns the completed operation. Memory stays bounded by one object.
func (c *Client) Backfill(ctx context.Context, kind string, since time.Time, emit EmitFunc) (BulkOperation, error) {
	op, err := c.StartBulk(ctx, kind, since)
	if err != nil {
		return op, err
	}
	log := c.log.WithFields(logrus.Fields{"kind": kind, "bulk_operation": op.ID})
	op, err = c.WaitBulk(ctx, op.ID, func(op BulkOperation) {
		log.WithFields(logrus.Fields{"status": op.Status, "objects": op.Objects()}).Debug("shopify admin: bulk operation progress")
	})
	if err != nil {
		return op, err
	}
	if op.URL == "" {
		// Shopify gives no file when the query matched nothing.
		return op, nil
	}
	_, err = c.DownloadBulk(ctx, op.URL, kind, 0, emit)
	return op, err
}

// DownloadBulk streams the JSONL result at url and emits its objects,
// skipping the first skip (a caller resuming after a crash passes the
// number it had persisted). A connection lost mid-file is retried from
// the start of the file, skipping what was already emitted. It returns the
// objects emitted plus skipped.
//
// The URL is a signed storage URL, not the Admin API: the access token is
// never sent to it.
func (c *Client) DownloadBulk(ctx context.Context, url, kind string, skip int64, emit EmitFunc) (int64, error) {
	if _, ok := specs[kind]; !ok {
		return skip, pipeline.Stop(fmt.Errorf("shopify admin: unknown kind %q", kind))
	}
	done := skip
	for attempt := 0; ; attempt++ {
		n, err := c.downloadOnce(ctx, url, kind, done, emit)
		done = n
		var te *transientError
		if err == nil || !errors.As(err, &te) || c.retry.Exhausted(attempt+1) || ctx.Err() != nil {
			return done, err
		}
		c.count(func(s *Stats) { s.Retries++ })
		if werr := c.backoff(ctx, attempt+1, te.err); werr != nil {
			return done, werr
		}
	}
}

// transientError marks a download failure that a new attempt may not hit.
type transientError struct{ err error }

func (t *transientError) Error() string { return t.err.Error() }
func (t *transientError) Unwrap() error { return t.err }

// errIdle ends a download that stopped sending: a result stream may take
// long, but a stalled one must not hang the backfill.
var errIdle = errors.New("no data received within the timeout")

func (c *Client) downloadOnce(ctx context.Context, url, kind string, skip int64, emit EmitFunc) (int64, error) {
	dctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(c.cfg.Timeout, func() { cancel(errIdle) })
	defer idle.Stop()
	req, err := http.NewRequestWithContext(dctx, http.MethodGet, url, nil)
	if err != nil {
		return skip, pipeline.Stop(fmt.Errorf("shopify admin: bulk result url: %w", unsignURL(err)))
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return skip, &transientError{pipeline.Retry(fmt.Errorf("shopify admin: bulk result download: %w", unsignURL(cause(dctx, err))))}
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		return skip, &transientError{&retryAfter{
			err:   pipeline.Retry(fmt.Errorf("shopify admin: bulk result download: HTTP %d", res.StatusCode)),
			after: parseRetryAfter(res.Header.Get("Retry-After"), time.Now()),
		}}
	case res.StatusCode != http.StatusOK:
		// Result URLs expire after 7 days: start a new operation.
		return skip, pipeline.Retry(fmt.Errorf("shopify admin: bulk result download: HTTP %d (the result URL may have expired)", res.StatusCode))
	}
	r := &readErrTracker{r: res.Body, idle: idle, timeout: c.cfg.Timeout}
	// The caller's own time (a slow sink) is not the stream's idleness.
	paused := func(kind string, obj any, updatedAt time.Time) error {
		idle.Stop()
		defer idle.Reset(c.cfg.Timeout)
		return emit(kind, obj, updatedAt)
	}
	n, err := DecodeBulk(r, kind, c.cfg.MaxLineBytes, skip, paused)
	if err != nil && r.err != nil && !errors.Is(r.err, io.EOF) {
		// The decoder saw a read failure (or the cut-off line it caused).
		return n, &transientError{pipeline.Retry(fmt.Errorf("shopify admin: bulk result download cut off: %w", unsignURL(cause(dctx, r.err))))}
	}
	return n, err
}

// unsignURL strips the query string (its signature, a credential valid for
// days) and fragment from the URL that net/http and net/url put in their
// errors (*url.Error), so an error that reaches a log names the host and
// path only.
func unsignURL(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		ue.URL = stripQuery(ue.URL)
	}
	return err
}

// stripQuery returns raw without its query string and fragment, for
// logging a signed URL; text that does not parse is cut at the first '?'
// or '#'.
func stripQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i]
	}
	return raw
}

// cause prefers the reason the download's context was cancelled (an idle
// timeout) over the bare "context canceled" the transport reports.
func cause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c
	}
	return err
}

// readErrTracker remembers the reader's error, to tell a dropped
// connection from a malformed file, and re-arms the idle timer on data.
type readErrTracker struct {
	r       io.Reader
	err     error
	idle    *time.Timer
	timeout time.Duration
}

func (t *readErrTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.idle.Reset(t.timeout)
	}
	if err != nil {
		t.err = err
	}
	return n, err
}
