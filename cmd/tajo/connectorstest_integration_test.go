//go:build integration

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

// tajo connectors test shopify against a simulated store: ✓ lines and exit
// 0 with the right token, ✗ and exit 1 with a wrong one; no secret printed.
func TestConnectorsTestShopify(t *testing.T) {
	st := shopifytest.New(shopifytest.Options{})
	defer st.Close()
	o := st.Options()
	cfgPath, _ := filepath.Abs("../../pipeline.yaml")
	run := func(token string) (string, int) {
		c := exec.Command(tajoBin, "connectors", "test", "shopify", "-c", cfgPath)
		c.Env = append(withoutCredentials(os.Environ()), "TAJO_DATA_DIR="+t.TempDir(), "TAJO_SIMULATE=never",
			"SHOPIFY_SHOP="+o.Shop, "SHOPIFY_ACCESS_TOKEN="+token, "SHOPIFY_API_SECRET="+o.Secret, "SHOPIFY_ADMIN_URL="+st.URL(),
			"BREVO_API_KEY=unused")
		out, err := c.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	out, code := run(o.AccessToken)
	if code != 0 || !strings.Contains(out, "✓ API connection") || strings.Contains(out, "✗") {
		t.Fatalf("good token: exit %d\n%s", code, out)
	}
	out, code = run("shpat_wrong_token")
	if code != 1 || !strings.Contains(out, "✗") || strings.Contains(out, "shpat_wrong_token") {
		t.Fatalf("wrong token: exit %d\n%s", code, out)
	}
}
