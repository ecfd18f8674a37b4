package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/server"
)

// ReportFrom renders a report of the history cfg's pipeline keeps: it
// opens the store sinks.clickhouse names, or, when a running tajo holds
// it, asks that process on its control listener (control.listen) with
// the control token. The CLI's history commands (tajo connectors …, tajo
// query, tajo replay) read the history through it; an error is the
// message to print.
func ReportFrom(cfg *config.Config, req ReportRequest, w io.Writer) error {
	comp := cfg.Component("sinks", SinkName)
	if comp == nil {
		return fmt.Errorf("the sync history lives in sinks.clickhouse, which is not enabled in %s", cfg.File)
	}
	ctx, cancel := context.WithTimeout(context.Background(), CapQueryTimeout+time.Minute)
	defer cancel()
	ctl := cfg.Control.Listen
	token, tokenFrom := server.ClientToken(cfg.DataDir, cfg.Control.Token.Reveal())
	remote := func() error {
		err := RemoteReport(ctx, ctl, token, req, w)
		if errors.Is(err, ErrUnauthorized) {
			return server.RefusedTokenError{Addr: ctl, From: tokenFrom}
		}
		return err
	}
	// A running tajo answers for the store it holds; asking it first also
	// keeps this process from locking the store while tajo run starts.
	if ctl != "" {
		switch server.Probe(ctx, ctl, APIPath, token) {
		case server.ControlUp:
			return remote()
		case server.ControlRefused:
			return server.RefusedTokenError{Addr: ctl, From: tokenFrom}
		}
	}
	// Only tajo run migrates: a CLI that migrated too collided with the
	// run starting beside it on a shared server (OpenExisting).
	db, err := OpenExisting(ctx, comp.Spec.(*Config), cfg.DataDir)
	if errors.Is(err, ErrLocked) {
		if ctl == "" {
			return fmt.Errorf("%v\ncontrol.listen is empty in %s, so the running tajo cannot be asked: set it (default 127.0.0.1:8081) and restart tajo run", err, cfg.File)
		}
		return remote() // its control listener may have started just now
	}
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Report(ctx, req, w)
}

// ChecksDeclarer is a component config whose run reports connection
// checks (pipeline.ConnectionCheck): one per Shopify store, one for
// Brevo's key. shopify.Config and brevo.SinkConfig satisfy it without
// importing this package.
type ChecksDeclarer interface {
	EachCheck(fn func(service, shop string))
}

// ExpectedChecks are the connection checks a status needs before it says
// connected: those every enabled component declares, in config.Each's
// order.
func ExpectedChecks(cfg *config.Config) []ExpectedCheck {
	var out []ExpectedCheck
	cfg.Each(func(_ string, spec any) {
		if d, ok := spec.(ChecksDeclarer); ok {
			d.EachCheck(func(service, shop string) { out = append(out, ExpectedCheck{Service: service, Shop: shop}) })
		}
	})
	return out
}
