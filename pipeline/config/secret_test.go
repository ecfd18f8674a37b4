package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// broker.sasl.password is a Secret: whichever way the decoded config is
// printed, encoded or wrapped in an error, the password does not show.
func TestSASLPasswordNeverPrints(t *testing.T) {
	cfg, err := Parse([]byte(`version: 1
broker:
  brokers: ["kafka-1:9092"]
  sasl: {mechanism: scram-sha-512, username: tajo, password: "hunter2%x"}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Broker.SASL.Password.Reveal(); got != "hunter2%x" {
		t.Fatalf("Reveal = %q", got)
	}
	js, _ := json.Marshal(cfg.Broker)
	ym, _ := yaml.Marshal(cfg.Broker)
	for _, out := range []string{
		fmt.Sprint(cfg.Broker), fmt.Sprintf("%v", cfg.Broker.SASL), fmt.Sprintf("%+v", cfg.Broker), fmt.Sprintf("%#v", cfg.Broker),
		fmt.Sprintf("%s", cfg.Broker.SASL.Password), fmt.Sprintf("%q", cfg.Broker.SASL.Password), fmt.Sprintf("%x", cfg.Broker.SASL.Password),
		fmt.Sprintf("%d", cfg.Broker.SASL.Password), fmt.Errorf("connecting with %v: %w", cfg.Broker.SASL, errors.New("refused")).Error(),
		string(js), string(ym),
	} {
		if strings.Contains(out, "hunter2") || strings.Contains(out, "68756e74657232") || !strings.Contains(out, Masked) {
			t.Errorf("password shown or not masked: %s", out)
		}
	}
	if s := fmt.Sprint(Secret("")); s != "" {
		t.Errorf("empty secret prints %q", s)
	}
}
