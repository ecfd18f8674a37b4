package shopify

import (
	"context"
	"errors"
	"fmt"

	"github.com/tajo/tajo/sources/shopify/admin"
)

// Check is one line of `tajo connectors test shopify`.
type Check struct {
	Shop   string
	Name   string // e.g. "API connection successful"
	OK     bool
	Detail string // what was seen, or why it failed
	// Warning marks a check that passed with a remark (an API version
	// near its end): it does not fail the test.
	Warning bool
	// Skipped marks a check that was not made (Detail says why): it does
	// not fail the test.
	Skipped bool
}

// String is the line as printed: "✓ <name> (<shop>: <detail>)",
// "! <name> (<shop>): <detail>" for a warning, "- <name> (<shop>):
// skipped: <detail>" for a check not made, or
// "✗ <name> (<shop>): <detail>".
func (c Check) String() string {
	where := c.Shop
	if c.Skipped {
		return fmt.Sprintf("- %s (%s): skipped: %s", c.Name, where, c.Detail)
	}
	if c.OK && c.Warning {
		return fmt.Sprintf("! %s (%s): %s", c.Name, where, c.Detail)
	}
	if c.OK {
		if c.Detail != "" {
			where += ": " + c.Detail
		}
		return fmt.Sprintf("✓ %s (%s)", c.Name, where)
	}
	return fmt.Sprintf("✗ %s (%s): %s", c.Name, where, c.Detail)
}

// TestConnection checks every configured store the way the seed's
// `tajo connectors test shopify` does: the Admin API answers with the
// token, the token belongs to the app api_key names (skipped without
// api_key), each synced resource is readable (one object of each), the
// webhook secret is set, and the API version is one Shopify serves (as
// tajo validate judges it: ✗ once retired, a warning line within 90 days
// of its end). It returns every check, and an error when one
// failed. Nothing it returns contains a secret.
func TestConnection(ctx context.Context, cfg *Config) ([]Check, error) {
	var out []Check
	failed := 0
	add := func(c Check) {
		if !c.OK && !c.Skipped {
			failed++
		}
		out = append(out, c)
	}
	stores := cfg.StoreList()
	if len(stores) == 0 {
		return nil, errors.New("shopify: no store configured (shop_url or stores)")
	}
	names := map[string]string{
		admin.KindProduct: "Products accessible", admin.KindCustomer: "Customers readable",
		admin.KindOrder: "Orders readable", admin.KindCheckout: "Abandoned checkouts readable",
	}
	for _, st := range stores {
		if st.APISecret == "" {
			add(Check{Shop: st.ShopURL, Name: "Webhooks verifiable", Detail: "no api_secret: every webhook would be refused"})
		} else {
			add(Check{Shop: st.ShopURL, Name: "Webhooks verifiable", OK: true, Detail: "api_secret set; subscriptions are declared in the app (shopify.app.toml)"})
		}
		add(versionCheck(st))
		if st.AccessToken == "" {
			add(Check{Shop: st.ShopURL, Name: "API connection successful", Detail: "no access_token"})
			continue
		}
		client, err := admin.New(admin.Config{Shop: st.ShopURL, AccessToken: st.AccessToken.Reveal(), APIVersion: st.APIVersion, AdminURL: st.AdminURL, MaxRetries: 2})
		if err != nil {
			add(Check{Shop: st.ShopURL, Name: "API connection successful", Detail: err.Error()})
			continue
		}
		connected := false
		for _, kind := range enabledKinds(cfg.Sync) {
			pg, err := client.FetchPage(ctx, kind, admin.Cursor{}, 1)
			if err != nil {
				if !connected {
					add(Check{Shop: st.ShopURL, Name: "API connection successful", Detail: err.Error()})
					break
				}
				add(Check{Shop: st.ShopURL, Name: names[kind], Detail: err.Error()})
				continue
			}
			if !connected {
				connected = true
				add(Check{Shop: st.ShopURL, Name: "API connection successful", OK: true, Detail: servedVersion(st, client)})
			}
			detail := "empty"
			if len(pg.Objects) > 0 {
				detail = fmt.Sprintf("%s %s read", kind, pg.Objects[0].ID)
			}
			add(Check{Shop: st.ShopURL, Name: names[kind], OK: true, Detail: detail})
		}
		add(appCheck(ctx, cfg, st, client, connected))
	}
	if failed > 0 {
		return out, fmt.Errorf("shopify: %d of %d checks failed", failed, len(out))
	}
	return out, nil
}

// appCheckName is the line of the check that the token is api_key's app's.
const appCheckName = "Token of the app api_key names"

// appQuery asks which app the access token was issued to.
const appQuery = `query AppOfToken { currentAppInstallation { app { apiKey } } }`

// appCheck says whether the store's access token belongs to the app whose
// client id is api_key. A token of another app (a second custom app, a
// copy from another store's setup) reads the store as well, but its
// webhooks are signed with that app's secret, so every one would be
// refused as unsigned: this names the cause before the first webhook.
// api_key is the app of the top-level api_secret: a store with its own
// api_secret is another app and is skipped, as is every store without
// api_key or whose token the Admin API refused.
func appCheck(ctx context.Context, cfg *Config, st Store, client *admin.Client, connected bool) Check {
	c := Check{Shop: st.ShopURL, Name: appCheckName, Skipped: true}
	switch {
	case cfg.APIKey == "":
		c.Detail = "no api_key: set it to the app's client id (Shopify admin → Apps → Develop apps → API credentials) to check that the access token is that app's"
		return c
	case st.APISecret != cfg.APISecret:
		c.Detail = "this store sets its own api_secret, so its token is another app's than api_key"
		return c
	case !connected:
		c.Detail = "the Admin API did not answer with the access token"
		return c
	}
	c.Skipped = false
	var out struct {
		CurrentAppInstallation *struct {
			App struct {
				APIKey string `json:"apiKey"`
			} `json:"app"`
		} `json:"currentAppInstallation"`
	}
	if err := client.Do(ctx, appQuery, nil, 1, &out); err != nil {
		c.Detail = err.Error()
		return c
	}
	got := ""
	if out.CurrentAppInstallation != nil {
		got = out.CurrentAppInstallation.App.APIKey
	}
	if got != cfg.APIKey {
		c.Detail = fmt.Sprintf("the access token belongs to the app with client id %q, not api_key %q: set access_token to a token of app %q (or api_key to %q if that is the app whose api_secret signs the webhooks)",
			got, cfg.APIKey, cfg.APIKey, got)
		return c
	}
	c.OK, c.Detail = true, "api_key "+got
	return c
}

func apiVersion(st Store) string {
	if st.APIVersion != "" {
		return st.APIVersion
	}
	return admin.DefaultAPIVersion
}

// versionCheck says whether Shopify still serves the store's API version.
func versionCheck(st Store) Check {
	c := Check{Shop: st.ShopURL, Name: "API version served", OK: true, Detail: apiVersion(st)}
	if v := judgeAPIVersion(st.APIVersion, now()); !v.ok() {
		c.OK, c.Warning = !v.refused, !v.refused
		c.Detail = v.message + "; " + v.hint
	}
	return c
}

// servedVersion is "API <version>", naming the pinned one too when
// Shopify answered with another (it fell forward).
func servedVersion(st Store, client *admin.Client) string {
	pinned, served := apiVersion(st), client.APIVersion()
	if served != pinned {
		return fmt.Sprintf("API %s (pinned %s: Shopify fell forward)", served, pinned)
	}
	return "API " + served
}
