package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tajo/tajo/pipeline/server"

	"github.com/tajo/tajo/sinks/brevo/brevotest"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

func init() {
	register("dev", command{args: "brevo-sim|shopify-sim [flags]", summary: "run a local simulator of Brevo or a Shopify store, for demos and tests", run: cmdDev, order: 70})
}

func cmdDev(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: tajo dev brevo-sim|shopify-sim [flags]  (-h after the name lists its flags)")
		return 2
	}
	switch args[0] {
	case "brevo-sim":
		return brevoSim(args[1:], stdout, stderr, nil)
	case "shopify-sim":
		return shopifytest.Main(args[1:])
	}
	fmt.Fprintf(stderr, "tajo dev: unknown simulator %q (brevo-sim or shopify-sim)\n", args[0])
	return 2
}

// brevoSim serves the Brevo simulator until SIGINT/SIGTERM. ready, when
// set, receives the bound address (for tests).
func brevoSim(args []string, stdout, stderr io.Writer, ready chan<- string) int {
	fs := flag.NewFlagSet("brevo-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("listen", "127.0.0.1:8090", "address to serve the Brevo API on (/v3)")
	key := fs.String("key", brevotest.DefaultAPIKey, "api-key to accept")
	rate := fs.Int("rate", 0, "requests per second over all endpoints (0 = no limit; Brevo's contacts limit is 10)")
	fault := fs.Float64("fault-rate", 0, "fraction of requests answered with an injected 500/502/503")
	latency := fs.Duration("latency", 0, "latency added to every request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *fault < 0 || *fault > 1 || *rate < 0 {
		fmt.Fprintln(stderr, "brevo-sim: -fault-rate must be within 0..1 and -rate at least 0")
		return 2
	}
	opts := brevotest.Options{APIKey: *key, FaultRate: *fault, Latency: *latency, Lenient: true,
		Lists: map[int64]string{1: "All customers", 2: "Buyers", 3: "Abandoned cart"}}
	if *rate > 0 {
		opts.RateLimit = brevotest.Limit{Requests: *rate, Per: time.Second}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "brevo-sim: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "brevo-sim: serving the Brevo API v3 on http://%s/v3 (lists 1 all customers, 2 buyers, 3 abandoned cart; rate %d/s, faults %.0f%%)\n",
		ln.Addr(), *rate, *fault*100)
	fmt.Fprintf(stdout, "brevo-sim: sinks.brevo: {base_url: http://%s/v3, api_key: %s}\n", ln.Addr(), *key)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := server.ServeUntil(ctx, ln, brevotest.NewHandler(opts), ready); err != nil {
		fmt.Fprintf(stderr, "brevo-sim: %v\n", err)
		return 1
	}
	return 0
}
