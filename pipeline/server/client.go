package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// The CLI side of the control listener: the commands that read what a
// running tajo holds (the history) ask it here, with its token.

// ClientToken is the token a CLI sends to the control listener, and where
// it came from (for messages; never the token itself): configured
// (control.token, TAJO_CONTROL_TOKEN in the shipped pipeline.yaml), else
// the one tajo run generated in dataDir. Unlike ControlToken it never
// generates one: a CLI that did would hold a token no running tajo knows.
func ClientToken(dataDir, configured string) (token, from string) {
	if configured != "" {
		return configured, "control.token"
	}
	path := filepath.Join(dataDir, ControlTokenFile)
	t, err := ReadControlToken(dataDir)
	switch {
	case err == nil:
		return t, path
	case errors.Is(err, fs.ErrNotExist):
		return "", "no token (control.token is empty and " + path + " does not exist)"
	}
	return "", fmt.Sprintf("no token (%v)", err)
}

// RefusedTokenError says that a tajo answers on a control listener but
// refused the CLI's token, and what to do about it.
type RefusedTokenError struct {
	Addr string // control.listen
	From string // where the token came from (ClientToken)
}

func (e RefusedTokenError) Error() string {
	return fmt.Sprintf("a tajo answers on control.listen %s but refused this CLI's token, from %s: "+
		"use the running tajo's token (the same control.token or TAJO_CONTROL_TOKEN, or the same data_dir, "+
		"whose generated token is in data_dir/%s), or stop it to read the history directly", e.Addr, e.From, ControlTokenFile)
}

// ControlState is what a probe of a control listener found.
type ControlState int

// The answers Probe tells apart.
const (
	ControlAbsent  ControlState = iota // nothing answers, or nothing mounted at the path
	ControlUp                          // a tajo serving the path accepted the token
	ControlRefused                     // a tajo answers but not to this token
)

// Probe asks the control listener on addr whether it serves path (a POST
// API such as the history's) and accepts token, within a second.
func Probe(ctx context.Context, addr, path, token string) ControlState {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, strings.NewReader("{}"))
	if err != nil {
		return ControlAbsent
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ControlAbsent
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return ControlRefused
	case http.StatusNotFound:
		return ControlAbsent
	}
	// Any other answer (400 for the empty request) means it is mounted.
	return ControlUp
}
