package brevotest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Notification is one call the simulator made to an import's notifyUrl.
type Notification struct {
	ProcessID int64
	URL       string
	// Status is the answer's HTTP status, 0 when there was none (Err).
	Status int
	Err    string
	At     time.Time
}

// notifyClient calls notifyUrls: one attempt each, bounded, as a webhook
// sender that does not wait on its receivers.
var notifyClient = &http.Client{Timeout: 10 * time.Second}

// notify POSTs a finished import's process to its notifyUrl. Brevo's docs
// say only that the URL "will be called once the import process is
// finished" (the import-contacts reference), not with what body, and
// users report it not always called (getbrevo/brevo-csharp#16): the
// simulator sends the JSON GET /processes/{id} would answer
// ({"id", "name", "status": "completed", "info": {"import": …}}), so a
// client can take the process id from it and still poll when no call
// comes. It calls only loopback addresses: the simulator is for tests
// and demos, which must not reach out.
func (s *Server) notify(id int64, target string, body []byte) {
	n := Notification{ProcessID: id, URL: target}
	if err := loopbackURL(target); err != nil {
		n.Err = err.Error()
	} else if resp, err := notifyClient.Post(target, "application/json", bytes.NewReader(body)); err != nil {
		n.Err = err.Error()
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		n.Status = resp.StatusCode
	}
	n.At = s.opts.Now()
	s.mu.Lock()
	s.notified = append(s.notified, n)
	s.mu.Unlock()
}

func loopbackURL(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("notifyUrl %q: not http(s)", target)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("notifyUrl %q: the simulator calls loopback addresses only", target)
	}
	return nil
}

// Notifications returns the notifyUrl calls made so far, in order.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Notification(nil), s.notified...)
}
