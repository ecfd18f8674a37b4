package shopify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline/config"
)

// onDay sets the clock API versions are judged by.
func onDay(t *testing.T, day string) {
	t.Helper()
	d, err := time.Parse("2006-01-02", day)
	if err != nil {
		t.Fatal(err)
	}
	old := now
	now = func() time.Time { return d.Add(15 * time.Hour) }
	t.Cleanup(func() { now = old })
}

func parseShopify(t *testing.T, section string) (errs, warns []string) {
	t.Helper()
	cfg, err := config.Parse([]byte("version: 1\ndata_dir: /tmp/x\nconnectors:\n  shopify: "+section+"\n"), func(string) (string, bool) { return "", false })
	var ce *config.Error
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			errs = append(errs, p.String())
		}
	} else if err != nil {
		t.Fatal(err)
	}
	for _, w := range cfg.Warnings {
		warns = append(warns, w.String())
	}
	return errs, warns
}

// On 2026-12-01: the seed's 2024-01 is refused with the reason and the
// fix; 2026-01 (ends 2027-01-01) is accepted with a warning; 2026-04 and
// the pinned default are accepted silently; a store's own version is
// judged at its own path.
func TestAPIVersionRetiredRefusedEndingWarned(t *testing.T) {
	onDay(t, "2026-12-01")
	base := `{shop_url: a.myshopify.com, api_secret: s, access_token: t, api_version: "%s"}`
	cases := []struct {
		version   string
		err, warn string
	}{
		{"2024-01", `connectors.shopify.api_version: Shopify stopped serving API version 2024-01 on 2025-01-01: requests fall forward to the oldest version it serves, in a shape tajo does not expect (write api_version: "2026-10" (tajo's pinned default), or leave it out)`, ""},
		{"2025-10", "Shopify stopped serving API version 2025-10 on 2026-10-01", ""},
		{"2022-07", "Shopify no longer serves API version 2022-07", ""},
		{"2026-02", "is not a Shopify release: versions are quarterly", ""},
		{"2027-04", "API version 2027-04 is not released yet", ""},
		{"2024-1", `"2024-1" is not a Shopify API version`, ""},
		{"2026-01", "", `connectors.shopify.api_version: Shopify stops serving API version 2026-01 on 2027-01-01 (in 31 days); it then falls forward to the oldest version it serves (move to a newer version before then: write api_version: "2026-10" (tajo's pinned default), or leave it out)`},
		{"unstable", "", `"unstable" changes without notice`},
		{"2026-04", "", ""},
		{"2026-10", "", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		errs, warns := parseShopify(t, strings.Replace(base, "%s", c.version, 1))
		e, w := strings.Join(errs, "\n"), strings.Join(warns, "\n")
		if (c.err == "") != (e == "") || !strings.Contains(e, c.err) {
			t.Errorf("%q: problems %q, want %q", c.version, e, c.err)
		}
		if (c.warn == "") != (w == "") || !strings.Contains(w, c.warn) {
			t.Errorf("%q: warnings %q, want %q", c.version, w, c.warn)
		}
	}

	errs, warns := parseShopify(t, `{api_secret: s, api_version: "2026-01", stores: [{shop_url: a.myshopify.com, access_token: t, api_version: "2024-01"}, {shop_url: b.myshopify.com, access_token: t}]}`)
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "connectors.shopify.stores[0].api_version: Shopify stopped serving API version 2024-01") {
		t.Errorf("per-store problems: %q", errs)
	}
	if len(warns) != 1 || !strings.HasPrefix(warns[0], "connectors.shopify.api_version: Shopify stops serving API version 2026-01") {
		t.Errorf("inherited version warnings: %q", warns)
	}
	// A month later 2026-01 is refused too.
	onDay(t, "2027-01-01")
	if errs, _ := parseShopify(t, strings.Replace(base, "%s", "2026-01", 1)); len(errs) != 1 {
		t.Errorf("2026-01 on its end day: %q", errs)
	}
}

// tajo connectors test says what validate says: ✗ for a retired version,
// a warning line for one near its end, ✓ otherwise; nothing is fetched
// for the verdict, so stores without a token still get it.
func TestConnectionTestJudgesAPIVersion(t *testing.T) {
	onDay(t, "2026-12-01")
	cfg := NewConfig().(*Config)
	cfg.APISecret = "s"
	cfg.Stores = []Store{{ShopURL: "old.myshopify.com", APIVersion: "2024-01"}, {ShopURL: "soon.myshopify.com", APIVersion: "2026-01"}, {ShopURL: "ok.myshopify.com"}}
	checks, err := TestConnection(context.Background(), cfg)
	if err == nil {
		t.Fatal("no failure")
	}
	var lines []string
	for _, c := range checks {
		lines = append(lines, c.String())
	}
	out := strings.Join(lines, "\n")
	for _, want := range []string{
		"✗ API version served (old.myshopify.com): Shopify stopped serving API version 2024-01 on 2025-01-01",
		"! API version served (soon.myshopify.com): Shopify stops serving API version 2026-01 on 2027-01-01 (in 31 days)",
		"✓ API version served (ok.myshopify.com: 2026-10)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}
