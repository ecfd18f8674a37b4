package brevo_test

import (
	"fmt"
	"testing"

	"github.com/tajo/tajo/sinks/brevo"
)

// A real run needs the API key (blank counts as none); the lists a
// simulated account needs are every list some shop's contacts go to.
func TestDevNeedsTheKeyAndTheListsInUse(t *testing.T) {
	bc := brevo.NewSinkConfig().(*brevo.SinkConfig)
	bc.APIKey = "  "
	var missing []string
	bc.MissingCredentials(func(key, variable, service string) { missing = append(missing, key+" "+variable+" "+service) })
	if fmt.Sprint(missing) != "[api_key BREVO_API_KEY Brevo]" {
		t.Errorf("missing credentials %v", missing)
	}
	bc.APIKey, missing = "xkeysib-x", nil
	bc.MissingCredentials(func(key, _, _ string) { missing = append(missing, key) })
	if len(missing) != 0 {
		t.Errorf("with a key, missing %v", missing)
	}

	bc.ListsByShop = map[string]brevo.ListIDs{brevo.AnyShop: {AllCustomers: 5, Buyers: 6}, "b.myshopify.com": {AllCustomers: 15}}
	bc.Lists.AbandonedCart = 9
	if got := fmt.Sprint(bc.ListNames()); got != "map[5:All customers 6:Buyers 9:Abandoned cart 15:All customers]" {
		t.Errorf("list names %s", got)
	}
}
