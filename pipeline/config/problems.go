package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	Path    string // e.g. connectors.shopify.sync.products.filter.status
	Message string // e.g. must be one of active, draft, archived
	Hint    string // e.g. did you mean "active"?
}

func (p Problem) String() string {
	path := p.Path
	if path == "" {
		path = "(root)"
	}
	if p.Hint != "" {
		return fmt.Sprintf("%s: %s (%s)", path, p.Message, p.Hint)
	}
	return fmt.Sprintf("%s: %s", path, p.Message)
}

// Problems collects every problem of a configuration so they can be
// reported at once, and its warnings: a problem makes the configuration
// invalid; a warning is a key that is accepted but whose effect is not
// what a user may expect yet (a seed key whose feature comes next, an API
// version near its end). `tajo validate` prints warnings and exits 0;
// `tajo run` logs them at start.
type Problems struct {
	list     []Problem
	warnings []Problem
}

// Warn records a warning at path: the value is accepted, with this said.
func (p *Problems) Warn(path, message, hint string) {
	p.warnings = append(p.warnings, Problem{Path: path, Message: message, Hint: hint})
}

// Warnings returns the warnings in the order they were found.
func (p *Problems) Warnings() []Problem { return p.warnings }

// Add records a problem at path.
func (p *Problems) Add(path, message, hint string) {
	p.list = append(p.list, Problem{Path: path, Message: message, Hint: hint})
}

// Addf records a problem with a formatted message and no hint.
func (p *Problems) Addf(path, format string, args ...any) {
	p.Add(path, fmt.Sprintf(format, args...), "")
}

// firstPerPath keeps the first problem of each path: a value that could not
// be read (an unset variable, a wrong type) is not also reported as invalid.
func (p *Problems) firstPerPath() {
	seen := map[string]bool{}
	out := p.list[:0]
	for _, pr := range p.list {
		if seen[pr.Path] {
			continue
		}
		seen[pr.Path] = true
		out = append(out, pr)
	}
	p.list = out
	// A warning at a path already refused, or said twice, adds nothing.
	warned := map[string]bool{}
	ws := p.warnings[:0]
	for _, w := range p.warnings {
		if seen[w.Path] || warned[w.String()] {
			continue
		}
		warned[w.String()] = true
		ws = append(ws, w)
	}
	p.warnings = ws
}

// List returns the problems in the order they were found.
func (p *Problems) List() []Problem { return p.list }

// Err returns nil when there are no problems, or an *Error listing them.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &Error{Problems: append([]Problem(nil), p.list...)}
}

// Error is an invalid configuration: every problem found, one per line.
type Error struct {
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s: ", e.File)
	}
	fmt.Fprintf(&b, "%d problem(s) in the configuration:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Join builds a path: Join("sinks", "file", "path") = "sinks.file.path";
// an int element becomes an index: Join("stores", 2) = "stores[2]".
func Join(base string, elems ...any) string {
	var b strings.Builder
	b.WriteString(base)
	for _, e := range elems {
		switch v := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

// OneOf checks that v is one of allowed and records a problem otherwise.
func (p *Problems) OneOf(path, v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	p.Add(path, "must be one of "+strings.Join(allowed, ", "), suggest(v, allowed))
	return false
}

// suggest returns `did you mean "x"?` for the closest candidate, or "".
func suggest(got string, candidates []string) string {
	if best := Closest(got, candidates); best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	return ""
}

// Closest returns the candidate nearest to got (edit distance, ignoring
// case) when it is near enough to be a typo of it, else "".
func Closest(got string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(got), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || got == "" || bestD > max(2, len(got)/3) {
		return ""
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
