package shopifytest

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/tajo/tajo/pipeline/server"
)

// Main runs a simulated store until interrupted; `tajo dev shopify-sim`
// calls it with its arguments. It returns the process exit code.
func Main(args []string) int { return run(args, os.Stdout, os.Stderr, nil) }

// run is Main with its outputs and an optional ready channel (receiving the
// bound address) for tests.
func run(args []string, stdout, stderr io.Writer, ready chan<- string) int {
	fs := flag.NewFlagSet("shopify-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	addr := fs.String("listen", "127.0.0.1:8765", "address to serve the Admin API on")
	fs.StringVar(&o.Shop, "shop", "tajo-sim.myshopify.com", "shop domain")
	fs.IntVar(&o.Customers, "customers", 100, "number of customers")
	fs.IntVar(&o.Orders, "orders", 200, "number of orders")
	fs.IntVar(&o.Products, "products", 20, "number of products")
	fs.IntVar(&o.Checkouts, "checkouts", 30, "number of abandoned checkouts")
	fs.StringVar(&o.Secret, "secret", "simulator-secret", "app client secret that signs webhooks")
	fs.StringVar(&o.AccessToken, "token", "shpat_simulator", "Admin API access token to accept")
	fs.StringVar(&o.APIKey, "api-key", "simulator-api-key", "client id of the app the token belongs to (currentAppInstallation)")
	fs.Float64Var(&o.RestoreRate, "restore-rate", 100, "cost points restored per second")
	fs.Float64Var(&o.MaxAvailable, "bucket", 2000, "cost bucket size")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "shopify-sim: %v\n", err)
		return 1
	}
	o.BaseURL = "http://" + ln.Addr().String()
	s := NewStore(o)
	o = s.Options()
	fmt.Fprintf(stdout, "shopify-sim: %s on %s (customers=%d orders=%d products=%d checkouts=%d)\n",
		o.Shop, o.BaseURL, o.Customers, o.Orders, o.Products, o.Checkouts)
	fmt.Fprintf(stdout, "shopify-sim: admin_url=%s; the access token and secret are the ones you passed\n", o.BaseURL)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := server.ServeUntil(ctx, ln, s, ready); err != nil {
		fmt.Fprintf(stderr, "shopify-sim: %v\n", err)
		return 1
	}
	return 0
}
