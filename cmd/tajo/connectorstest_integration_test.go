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
// api_key (SHOPIFY_API_KEY in pipeline.yaml) is checked against the app
// the token belongs to: ✓ for that app's client id, ✗ with the fix and
// exit 1 for another app's, a skipped line (exit 0) when it is empty.
func TestConnectorsTestShopify(t *testing.T) {
	const appKey = "5d41402abc4b2a76b9719d911017c592"
	st := shopifytest.New(shopifytest.Options{APIKey: appKey})
	defer st.Close()
	o := st.Options()
	cfgPath, _ := filepath.Abs("../../pipeline.yaml")
	run := func(token, apiKey string) (string, int) {
		c := exec.Command(tajoBin, "connectors", "test", "shopify", "-c", cfgPath)
		c.Env = append(withoutCredentials(os.Environ()), "TAJO_DATA_DIR="+t.TempDir(), "TAJO_SIMULATE=never",
			"SHOPIFY_SHOP="+o.Shop, "SHOPIFY_ACCESS_TOKEN="+token, "SHOPIFY_API_SECRET="+o.Secret, "SHOPIFY_ADMIN_URL="+st.URL(),
			"SHOPIFY_API_KEY="+apiKey, "BREVO_API_KEY=unused")
		out, err := c.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	out, code := run(o.AccessToken, appKey)
	if code != 0 || !strings.Contains(out, "✓ API connection") || strings.Contains(out, "✗") ||
		!strings.Contains(out, "✓ Token of the app api_key names ("+o.Shop+": api_key "+appKey+")") {
		t.Fatalf("good token of api_key's app: exit %d\n%s", code, out)
	}
	out, code = run("shpat_wrong_token", appKey)
	if code != 1 || !strings.Contains(out, "✗") || strings.Contains(out, "shpat_wrong_token") {
		t.Fatalf("wrong token: exit %d\n%s", code, out)
	}
	const other = "7215ee9c7d9dc229d2921a40e899ec5f"
	out, code = run(o.AccessToken, other)
	if want := "✗ Token of the app api_key names (" + o.Shop + `): the access token belongs to the app with client id "` + appKey + `", not api_key "` + other + `": set access_token to a token of app "` + other + `"`; code != 1 || !strings.Contains(out, want) {
		t.Fatalf("token of another app than api_key: exit %d, want %q in\n%s", code, want, out)
	}
	out, code = run(o.AccessToken, "")
	if want := "- Token of the app api_key names (" + o.Shop + "): skipped: no api_key"; code != 0 || !strings.Contains(out, want) || strings.Contains(out, "✗") {
		t.Fatalf("no api_key: exit %d, want %q in\n%s", code, want, out)
	}
}
