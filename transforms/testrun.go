package transforms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
)

// Tests is the `tests:` section: unit tests of the chain written in the
// configuration, run by `tajo test`.
type Tests []Test

// Test feeds events through the chain (or up to one stage) and compares
// what comes out of the last one.
type Test struct {
	Name string `yaml:"name"`
	// Stage stops the chain after the named stage; empty runs it whole.
	Stage string `yaml:"stage"`
	// Now is the clock of the run (RFC 3339); default the last input's
	// received_at, so RECENCY is deterministic.
	Now string `yaml:"now"`
	// Input is one event; Inputs several, in order (state carries over).
	Input  any    `yaml:"input"`
	Inputs []any  `yaml:"inputs"`
	Expect Expect `yaml:"expect"`
}

// Expect lists what to check; keys left out are not checked.
type Expect struct {
	Dropped     *bool          `yaml:"dropped"`
	Attributes  map[string]any `yaml:"attributes"`
	Identifiers map[string]any `yaml:"identifiers"`
	Consent     map[string]any `yaml:"consent"`
	Sinks       []string       `yaml:"sinks"`
	Rejected    string         `yaml:"rejected"` // a substring of the rejection reason
}

// NewTests returns an empty list.
func NewTests() any { return &Tests{} }

// Validate checks the shape; whether a test passes is tajo test's job.
func (t *Tests) Validate(p *config.Problems, path string) {
	for i, tc := range *t {
		tp := config.Join(path, i)
		if tc.Name == "" {
			p.Add(config.Join(tp, "name"), "required", "")
		}
		if (tc.Input == nil) == (len(tc.Inputs) == 0) {
			p.Add(tp, "set exactly one of input and inputs", "")
		}
		if tc.Now != "" {
			if _, err := time.Parse(time.RFC3339, tc.Now); err != nil {
				p.Add(config.Join(tp, "now"), "not an RFC 3339 time", "e.g. 2026-11-27T10:00:00Z")
			}
		}
	}
}

// RunTests runs the tests of cfg, printing one line per test and a diff
// for each failure; it returns the number of failures.
func RunTests(cfg *config.Config, w io.Writer) int {
	tests, _ := cfg.Sections["tests"].(*Tests)
	if tests == nil || len(*tests) == 0 {
		fmt.Fprintln(w, "no tests in the configuration (add a tests: section)")
		return 0
	}
	failed := 0
	for _, tc := range *tests {
		problems := runTest(cfg, tc)
		if len(problems) == 0 {
			fmt.Fprintf(w, "PASS  %s\n", tc.Name)
			continue
		}
		failed++
		fmt.Fprintf(w, "FAIL  %s\n", tc.Name)
		for _, pr := range problems {
			fmt.Fprintf(w, "      %s\n", strings.ReplaceAll(pr, "\n", "\n      "))
		}
	}
	fmt.Fprintf(w, "%d test(s), %d failed\n", len(*tests), failed)
	return failed
}

func runTest(cfg *config.Config, tc Test) []string {
	inputs := tc.Inputs
	if tc.Input != nil {
		inputs = []any{tc.Input}
	}
	recs := make([]*pipeline.Record, len(inputs))
	var now time.Time
	for i, in := range inputs {
		b, err := json.Marshal(jsonable(in))
		if err != nil {
			return []string{fmt.Sprintf("input %d: %v", i, err)}
		}
		recs[i] = &pipeline.Record{Value: b}
		var e struct {
			ReceivedAt time.Time `json:"received_at"`
			OccurredAt time.Time `json:"occurred_at"`
		}
		_ = json.Unmarshal(b, &e)
		now = e.ReceivedAt
		if now.IsZero() {
			now = e.OccurredAt
		}
	}
	if tc.Now != "" {
		now, _ = time.Parse(time.RFC3339, tc.Now)
	}
	ts, err := BuildWith(cfg, pipeline.Env{}, Options{Memory: true, Now: func() time.Time { return now }})
	if err != nil {
		return []string{err.Error()}
	}
	if tc.Stage != "" {
		n := -1
		for i, t := range ts {
			if t.Name == tc.Stage {
				n = i
			}
		}
		if n < 0 {
			return []string{fmt.Sprintf("no stage named %q", tc.Stage)}
		}
		ts = ts[:n+1]
	}
	var outs []*pipeline.Record
	var rejected error
	for _, r := range recs {
		outs, rejected = runChain(ts, r)
	}
	return compare(tc.Expect, outs, rejected)
}

func runChain(ts []pipeline.NamedTransform, rec *pipeline.Record) ([]*pipeline.Record, error) {
	cur := []*pipeline.Record{rec}
	for _, t := range ts {
		var next []*pipeline.Record
		for _, r := range cur {
			out, err := t.Process(context.Background(), r)
			if err != nil {
				var skip *pipeline.SkipError
				if errors.As(err, &skip) {
					continue // dropped on purpose, as a filter would
				}
				return nil, fmt.Errorf("%s: %w", t.Name, err)
			}
			if len(cur) == 1 {
				next = out // one record in: the stage's list is the next one
				break
			}
			next = append(next, out...)
		}
		cur = next
	}
	return cur, nil
}

func compare(x Expect, outs []*pipeline.Record, rejected error) []string {
	var problems []string
	if x.Rejected != "" || rejected != nil {
		switch {
		case rejected == nil:
			return []string{fmt.Sprintf("rejected: want a rejection containing %q, the record passed", x.Rejected)}
		case x.Rejected == "" || !strings.Contains(rejected.Error(), x.Rejected):
			return []string{fmt.Sprintf("rejected: %v", rejected)}
		}
		return nil
	}
	dropped := len(outs) == 0
	if x.Dropped != nil && *x.Dropped != dropped {
		return []string{fmt.Sprintf("dropped: want %v, got %v", *x.Dropped, dropped)}
	}
	if dropped {
		if x.Attributes != nil || x.Identifiers != nil || x.Consent != nil {
			problems = append(problems, "the event was dropped; nothing to compare")
		}
		return problems
	}
	var got struct {
		Attributes  map[string]any `json:"attributes"`
		Identifiers map[string]any `json:"identifiers"`
		Consent     map[string]any `json:"consent"`
	}
	b, err := outs[0].Bytes()
	if err == nil {
		err = json.Unmarshal(b, &got)
	}
	if err != nil {
		return []string{"output is not JSON: " + err.Error()}
	}
	problems = append(problems, diff("attributes", x.Attributes, got.Attributes)...)
	problems = append(problems, diff("identifiers", x.Identifiers, got.Identifiers)...)
	problems = append(problems, diff("consent", x.Consent, got.Consent)...)
	if x.Sinks != nil && !reflect.DeepEqual(append([]string{}, x.Sinks...), append([]string{}, outs[0].Sinks...)) {
		problems = append(problems, fmt.Sprintf("sinks: want %v, got %v", x.Sinks, outs[0].Sinks))
	}
	return problems
}

// diff compares an expected object with the output, key by key, as JSON.
func diff(name string, want, got map[string]any) []string {
	if want == nil {
		return nil
	}
	var out []string
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		w, wok := want[k]
		g, gok := got[k]
		wb, _ := json.Marshal(jsonable(w))
		gb, _ := json.Marshal(g)
		switch {
		case !wok:
			out = append(out, fmt.Sprintf("%s.%s: unexpected, got %s", name, k, gb))
		case !gok:
			out = append(out, fmt.Sprintf("%s.%s: want %s, missing", name, k, wb))
		case !jsonEqual(wb, gb):
			out = append(out, fmt.Sprintf("%s.%s: want %s, got %s", name, k, wb, gb))
		}
	}
	return out
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// jsonable turns YAML-decoded values (map[string]any with any keys,
// time.Time from unquoted timestamps) into what encoding/json writes as
// the user meant.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonable(e)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return v
}
