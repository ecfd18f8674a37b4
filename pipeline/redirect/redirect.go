package redirect

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is a redirect the client refused to follow because the request
// carried the credential.
type Error struct {
	From, To string // scheme://host of the request and of the redirect
	What     string // the credential, as the message names it ("the api-key")
}

func (e *Error) Error() string {
	return fmt.Sprintf("refused to follow a redirect from %s to %s with %s", e.From, e.To, e.What)
}

// KeepHome returns a copy of hc whose redirect policy refuses to take a
// request carrying header to another host or down to http; what names
// the credential in the error. hc's own policy, if any, still applies to
// the redirects it lets through; without one, at most 10 are followed.
func KeepHome(hc *http.Client, header, what string) *http.Client {
	c := *hc
	prev := hc.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		orig := via[0]
		if orig.Header.Get(header) != "" &&
			(!strings.EqualFold(req.URL.Host, orig.URL.Host) || (orig.URL.Scheme == "https" && req.URL.Scheme != "https")) {
			return &Error{From: orig.URL.Scheme + "://" + orig.URL.Host, To: req.URL.Scheme + "://" + req.URL.Host, What: what}
		}
		if prev != nil {
			return prev(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}
