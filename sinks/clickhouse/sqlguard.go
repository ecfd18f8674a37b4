package clickhouse

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	chschema "github.com/tajo/tajo/schemas/clickhouse"
)

// The history query path (`tajo query`, POST APIPath) runs SQL a person
// typed. It must only read tajo's own tables: error_history holds customer
// PII next to nothing else, but the same engine can read files (file(),
// /proc/self/environ holds the Brevo key), reach the network (url(), s3(),
// remote()), run programs (executable()), list other databases (system.*)
// and, in a WITH or after EXPLAIN, write (INSERT, INTO OUTFILE). checkSQL
// refuses all of that from the statement's tokens, and the query then runs
// with readonly and result limits set (see ReadOnlyQuery), so a hole in one
// layer is closed by the other.

// SQLError is a statement the history query path refuses, with the reason
// a person can act on.
type SQLError struct{ Reason string }

func (e *SQLError) Error() string { return "read-only query refused: " + e.Reason }

func refuse(format string, args ...any) error {
	return &SQLError{Reason: fmt.Sprintf(format, args...)}
}

type tokKind int

const (
	tWord   tokKind = iota // a bare identifier or keyword
	tQuoted                // a "quoted" or `quoted` identifier
	tString                // a 'string' literal
	tNumber
	tPunct // one character: ( ) , . ; and operators
)

type token struct {
	kind tokKind
	text string // the identifier unquoted, the literal, or the character
	end  int    // the byte offset after the token in the statement
}

func (t token) is(word string) bool { return t.kind == tWord && strings.EqualFold(t.text, word) }

// ident reports whether t names something (a bare or quoted identifier).
func (t token) ident() bool { return t.kind == tWord || t.kind == tQuoted }

// tokenize splits sql the way ClickHouse's lexer does, as far as it matters
// here: quoted strings and identifiers (backslash escapes and doubled
// quotes), -- and /* */ comments, numbers, words and punctuation. Where
// ClickHouse versions disagree (nested block comments, # comments,
// $heredoc$ strings) or a character has no place outside quotes, it refuses
// rather than guess, so a keyword can never hide from the checks in text
// that ClickHouse reads as code.
func tokenize(sql string) ([]token, error) {
	var out []token
	i, n := 0, len(sql)
	for i < n {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < n && sql[i+1] == '-':
			for i < n && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return nil, refuse("a /* comment is not closed")
			}
			if strings.Contains(sql[i+2:i+2+end], "/*") {
				return nil, refuse("nested /* comments are not accepted")
			}
			i += 2 + end + 2
		case c == '\'' || c == '"' || c == '`':
			s, next, err := unquote(sql, i)
			if err != nil {
				return nil, err
			}
			kind := tQuoted
			if c == '\'' {
				kind = tString
			}
			out = append(out, token{kind, s, next})
			i = next
		case c >= '0' && c <= '9':
			j := scanNumber(sql, i)
			out = append(out, token{tNumber, sql[i:j], j})
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < n && (sql[j] == '_' || sql[j] >= 'a' && sql[j] <= 'z' || sql[j] >= 'A' && sql[j] <= 'Z' || sql[j] >= '0' && sql[j] <= '9') {
				j++
			}
			out = append(out, token{tWord, sql[i:j], j})
			i = j
		case strings.IndexByte("(),.;[]{}+-*/%=<>!|?:^&~@", c) >= 0:
			out = append(out, token{tPunct, string(c), i + 1})
			i++
		case c >= 0x80:
			return nil, refuse("non-ASCII text is accepted only inside quotes (at byte %d)", i)
		default:
			return nil, refuse("the character %q is not accepted outside quotes (at byte %d)", c, i)
		}
	}
	return out, nil
}

// unquote reads the quoted token starting at sql[i] and returns its text
// and the index after its closing quote.
func unquote(sql string, i int) (string, int, error) {
	q := sql[i]
	var b strings.Builder
	for j := i + 1; j < len(sql); j++ {
		switch c := sql[j]; {
		case c == '\\':
			if j+1 >= len(sql) {
				break
			}
			j++
			b.WriteByte(sql[j])
		case c == q && j+1 < len(sql) && sql[j+1] == q:
			b.WriteByte(q)
			j++
		case c == q:
			return b.String(), j + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, refuse("a %c quote is not closed", q)
}

// scanNumber returns the end of the number at sql[i]: decimal digits with a
// fraction and exponent, or 0x/0b digits. Letters after it start a new
// word, so "1INSERT" is a number and the word INSERT, not one token.
func scanNumber(sql string, i int) int {
	n := len(sql)
	digits := func(j int, ok func(byte) bool) int {
		for j < n && ok(sql[j]) {
			j++
		}
		return j
	}
	dec := func(c byte) bool { return c >= '0' && c <= '9' }
	if sql[i] == '0' && i+2 < n && (sql[i+1] == 'x' || sql[i+1] == 'X') {
		return digits(i+2, func(c byte) bool { return dec(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' })
	}
	if sql[i] == '0' && i+2 < n && (sql[i+1] == 'b' || sql[i+1] == 'B') && (sql[i+2] == '0' || sql[i+2] == '1') {
		return digits(i+2, func(c byte) bool { return c == '0' || c == '1' })
	}
	j := digits(i, dec)
	if j < n && sql[j] == '.' {
		j = digits(j+1, dec)
	}
	if j+1 < n && (sql[j] == 'e' || sql[j] == 'E') {
		k := j + 1
		if sql[k] == '+' || sql[k] == '-' {
			k++
		}
		if k < n && dec(sql[k]) {
			j = digits(k, dec)
		}
	}
	return j
}

// deniedWords are refused wherever they appear as bare words: they write
// (INSERT, INTO OUTFILE, the DDL verbs), change the limits (SETTINGS), change
// the output format the result is parsed from (FORMAT), or reach the system
// database. A column that happens to be named so can be `quoted`.
var deniedWords = map[string]string{
	"insert": "writes", "into": "writes (INTO OUTFILE writes a file)", "outfile": "writes a file",
	"create": "changes the schema", "alter": "changes the schema", "drop": "changes the schema",
	"truncate": "deletes rows", "delete": "deletes rows", "update": "writes", "rename": "changes the schema",
	"attach": "changes the schema", "detach": "changes the schema", "exchange": "changes the schema",
	"undrop": "changes the schema", "optimize": "rewrites tables", "kill": "stops queries",
	"grant": "changes access", "revoke": "changes access", "backup": "writes", "restore": "writes",
	"settings":           "overrides the limits tajo sets",
	"system":             "reads the system database (only tajo's tables are readable)",
	"information_schema": "reads other tables (only tajo's tables are readable)",
}

// deniedFunctions read files, reach the network, run programs or read
// tables other than the one named in FROM, wherever they are called (file()
// is also a scalar function, and IN accepts a table function). Table
// functions that only make rows (numbers(), values()) are refused in FROM
// like every table function, but not here.
var deniedFunctions = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`file filecluster url urlcluster s3 s3cluster gcs cosn oss
		azureblobstorage azureblobstoragecluster hdfs hdfscluster hive remote remotesecure cluster
		clusterallreplicas executable executablepool mysql postgresql sqlite mongodb redis jdbc odbc
		input merge mergetreeindex mergetreeprojection view viewifpermitted viewexplain dictionary
		loop iceberg icebergs3 icebergazure iceberghdfs icebergcluster icebergs3cluster deltalake
		deltalakecluster hudi hudicluster
		ytsaurus arrowflight timeseriesdata timeseriesmetrics timeseriestags prometheusquery prometheusqueryrange
		joinget joingetornull hascolumnintable catboostevaluate modelevaluate evalmlmethod
		getsetting getsettingordefault getserversetting getmergetreesetting getmacro
		in notin globalin globalnotin nullin notnullin globalnullin globalnotnullin
		innullableset filesystemavailable filesystemcapacity filesystemunreserved`) {
		deniedFunctions[f] = true
	}
}

// fromFunctions take a FROM (or IN) inside their parentheses that is not a
// table: extract(DAY FROM ts), trim(BOTH ' ' FROM s), position(a IN b).
var fromFunctions = []string{"extract", "trim", "substring", "substr", "overlay", "position", "locate"}

var (
	tablesOnce sync.Once
	ownTables  map[string]bool
)

// tajoTables are the tables the history query path may read: every table
// the migrations create (a relayout's "<table>_new" counts as <table>) and
// schema_migrations.
func tajoTables() map[string]bool {
	tablesOnce.Do(func() {
		ownTables = map[string]bool{chschema.MigrationsTable: true}
		ms, _ := chschema.Migrations()
		for _, m := range ms {
			for _, s := range m.Statements {
				toks, err := tokenize(s)
				if err != nil || len(toks) < 3 || !toks[0].is("create") || !toks[1].is("table") {
					continue
				}
				k := 2
				if len(toks) > 5 && toks[2].is("if") && toks[3].is("not") && toks[4].is("exists") {
					k = 5
				}
				if k < len(toks) && toks[k].ident() {
					ownTables[strings.TrimSuffix(toks[k].text, chschema.RelayoutSuffix)] = true
				}
			}
		}
	})
	return ownTables
}

// TajoTables lists, sorted, the tables `tajo query` may read.
func TajoTables() []string {
	var out []string
	for t := range tajoTables() {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// frame is one level of parentheses (the statement itself is the first).
type frame struct {
	fn        string // the function whose arguments these are, lower case; "" for a subquery or grouping
	sawSelect bool
	inFrom    bool // in a FROM list, where a comma starts another table
}

// checkSQL returns sql without a trailing semicolon when it is one
// statement that only reads tajo's tables, and a *SQLError otherwise.
func checkSQL(sql string) (string, error) {
	toks, err := tokenize(sql)
	if err != nil {
		return "", err
	}
	for len(toks) > 0 && toks[len(toks)-1].kind == tPunct && toks[len(toks)-1].text == ";" {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 {
		return "", refuse("the query is empty")
	}
	for _, t := range toks {
		if t.kind == tPunct && t.text == ";" {
			return "", refuse("one statement only (a ; separates two)")
		}
	}
	first := 0
	for first < len(toks) && toks[first].kind == tPunct && toks[first].text == "(" {
		first++
	}
	if first == len(toks) || !slices.ContainsFunc([]string{"select", "with", "show", "describe", "desc", "explain"}, toks[first].is) {
		return "", refuse("only SELECT, WITH … SELECT, SHOW, DESCRIBE and EXPLAIN are accepted")
	}
	ctes := map[string]bool{}
	for i := 0; i+2 < len(toks); i++ {
		if toks[i].ident() && toks[i+1].is("as") && toks[i+2].kind == tPunct && toks[i+2].text == "(" {
			ctes[toks[i].text] = true
		}
	}
	tables := tajoTables()
	// table checks the table expression starting at toks[i].
	table := func(i int) error {
		if i >= len(toks) {
			return nil // a syntax error for ClickHouse to report
		}
		t := toks[i]
		if t.kind == tPunct && t.text == "(" {
			return nil // a subquery, checked as the scan reaches it
		}
		if !t.ident() {
			return refuse("expected a table name, got %q", t.text)
		}
		if i+1 < len(toks) && toks[i+1].kind == tPunct {
			switch toks[i+1].text {
			case ".":
				return refuse("%s.…: tables of other databases are not readable; tajo's tables are %s", t.text, strings.Join(TajoTables(), ", "))
			case "(":
				return refuse("table function %s() is not accepted: only tajo's tables are readable (%s)", t.text, strings.Join(TajoTables(), ", "))
			}
		}
		if !tables[t.text] && !ctes[t.text] {
			return refuse("%q is not one of tajo's tables (%s)", t.text, strings.Join(TajoTables(), ", "))
		}
		return nil
	}
	stack := []*frame{{}}
	show := toks[first].is("show")
	for i := first; i < len(toks); i++ {
		t := toks[i]
		top := stack[len(stack)-1]
		next := func(k int) token {
			if i+k < len(toks) {
				return toks[i+k]
			}
			return token{kind: tPunct, text: ""}
		}
		if t.ident() && next(1).kind == tPunct && next(1).text == "." && (strings.EqualFold(t.text, "system") || strings.EqualFold(t.text, "information_schema")) {
			return "", refuse("%s.… is not readable: only tajo's tables are (%s)", t.text, strings.Join(TajoTables(), ", "))
		}
		if t.ident() && next(1).kind == tPunct && next(1).text == "(" && (deniedFunctions[strings.ToLower(t.text)] || strings.HasPrefix(strings.ToLower(t.text), "dict")) {
			if !(t.kind == tWord && strings.EqualFold(t.text, "in") && inOperator(toks, i)) {
				return "", refuse("%s() is not accepted: it reads outside tajo's tables (files, network, other tables)", t.text)
			}
		}
		if t.kind == tPunct {
			switch t.text {
			case "(":
				fn := ""
				if i > 0 && toks[i-1].ident() {
					fn = strings.ToLower(toks[i-1].text)
				}
				stack = append(stack, &frame{fn: fn})
			case ")":
				if len(stack) > 1 {
					stack = stack[:len(stack)-1]
				}
			case ",":
				if top.inFrom {
					if err := table(i + 1); err != nil {
						return "", err
					}
				}
			}
			continue
		}
		if t.kind != tWord {
			continue
		}
		w := strings.ToLower(t.text)
		if why, ok := deniedWords[w]; ok && !(show && w == "create" && i == first+1) {
			return "", refuse("%s %s; this path only reads", strings.ToUpper(w), why)
		}
		switch w {
		case "format":
			if next(1).kind != tPunct || next(1).text != "(" {
				return "", refuse("FORMAT is not accepted: tajo picks the output format (--json for JSON)")
			}
		case "select":
			top.sawSelect, top.inFrom = true, false
		case "from":
			if slices.Contains(fromFunctions, top.fn) && !top.sawSelect {
				continue
			}
			if err := table(i + 1); err != nil {
				return "", err
			}
			top.inFrom = !show
		case "join":
			if i > 0 && toks[i-1].is("array") {
				continue
			}
			if err := table(i + 1); err != nil {
				return "", err
			}
			top.inFrom = true
		case "in":
			if slices.Contains(fromFunctions, top.fn) && !top.sawSelect {
				continue
			}
			// x IN t reads table t; x IN f(…) is a set expression.
			if n, after := next(1), next(2); n.ident() && !(after.kind == tPunct && after.text == "(") || show {
				if err := table(i + 1); err != nil {
					return "", err
				}
			}
		case "describe", "desc":
			if i == first {
				k := i + 1
				if next(1).is("table") {
					k++
				}
				if err := table(k); err != nil {
					return "", err
				}
			}
		case "table":
			if show {
				if err := table(i + 1); err != nil {
					return "", err
				}
			}
		case "where", "prewhere", "group", "order", "limit", "having", "union", "except", "intersect",
			"window", "qualify", "array", "on", "using", "offset":
			top.inFrom = false
		}
		if show && i == first {
			if s := next(1); !s.is("tables") && !s.is("create") && !s.is("columns") {
				return "", refuse("only SHOW TABLES, SHOW CREATE TABLE and SHOW COLUMNS are accepted")
			}
			if next(1).is("create") && !next(2).is("table") {
				if err := table(i + 2); err != nil {
					return "", err
				}
			}
		}
	}
	// The text ends with its last token: no trailing semicolon or comment
	// that could swallow what ReadOnlyQuery appends.
	return sql[:toks[len(toks)-1].end], nil
}

// inOperator reports whether toks[i] (IN) is the operator in `x [NOT] IN
// (…)`, after an operand, rather than the in() function, which would read
// any table named as its second argument.
func inOperator(toks []token, i int) bool {
	j := i - 1
	for j >= 0 && (toks[j].is("not") || toks[j].is("global")) {
		j--
	}
	if j < 0 {
		return false
	}
	p := toks[j]
	switch p.kind {
	case tQuoted, tString, tNumber:
		return true
	case tPunct:
		return p.text == ")" || p.text == "]"
	}
	return !slices.ContainsFunc([]string{"select", "where", "prewhere", "having", "and", "or", "not", "on",
		"when", "then", "else", "case", "distinct", "by", "limit", "offset", "as", "all", "any", "global"}, p.is)
}
