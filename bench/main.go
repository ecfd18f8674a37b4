// Command bench runs tajo beside a peer, Benthos v4, on the same input and
// prints their throughput, CPU per message and memory: `make bench-peers`.
// What it measures and how to read it: README.md beside this file.
//
// It is its own module so that Benthos and its dependencies never enter
// tajo's go.mod; it builds tajo from the repository (../cmd/tajo) and runs
// it as a user would, from a configuration file.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// pipeline is one contender: how to start it on the input and where it
// writes its output.
type pipeline struct {
	name    string
	short   string // names its logs
	dataDir string // tajo's data_dir, emptied before each run; "" for the peer
	cmd     func(w *work) *exec.Cmd
}

// work is one bench session's files.
type work struct {
	dir, in, out, exe, tajo string
	peerIn                  string // what the peer reads: the bodies, or in
	n                       int
}

// result is one run.
type result struct {
	wall   time.Duration // start until the output held all n lines
	cpu    time.Duration // user + system, the process and the children it waited for
	maxRSS int64         // bytes, the largest of those processes
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "benthos" {
		runBenthos(os.Args[2:])
		return
	}
	n := flag.Int("n", envInt("BENCH_N", 300_000), "customers in the input (env BENCH_N)")
	runs := flag.Int("runs", envInt("BENCH_RUNS", 3), "runs of each pipeline, alternating (env BENCH_RUNS)")
	batch := flag.Int("batch", 100, "batch size of every pipeline")
	repo := flag.String("repo", "..", "the tajo repository to build ./cmd/tajo from")
	dir := flag.String("dir", "", "work directory (default: a temporary one, removed at the end)")
	goTool := flag.String("go", "go", "the go command that builds tajo")
	peer := flag.String("peer", "body", "what Benthos reads: body (the webhook bodies; it writes the contacts) or envelope (tajo's input; it writes tajo's output)")
	flag.Parse()
	if *peer != "body" && *peer != "envelope" {
		fmt.Fprintln(os.Stderr, "bench: -peer is body or envelope")
		os.Exit(2)
	}
	if err := run(*n, *runs, *batch, *peer == "envelope", *goTool, *repo, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n, runs, batch int, envelope bool, goTool, repo, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "tajo-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	w := &work{dir: dir, in: filepath.Join(dir, "in.jsonl"), out: filepath.Join(dir, "out.jsonl"), exe: exe, tajo: filepath.Join(dir, "tajo"), n: n}
	w.peerIn = filepath.Join(dir, "bodies.jsonl")
	if envelope {
		w.peerIn = w.in
	}

	fmt.Printf("building tajo from %s\n", repo)
	build := exec.Command(goTool, "build", "-o", w.tajo, "./cmd/tajo")
	build.Dir, build.Stdout, build.Stderr = repo, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/tajo: %w", err)
	}
	fmt.Printf("generating %d customers into %s\n", n, w.dir)
	bodies := w.peerIn
	if envelope {
		bodies = ""
	}
	body, line, err := generate(w.in, bodies, n)
	if err != nil {
		return err
	}
	fmt.Printf("input: %d customers/update, body %.0f B, envelope %.0f B (%.2f GB); tajo reads the envelopes, Benthos the %s\n\n",
		n, body, line, line*float64(n)/1e9, map[bool]string{false: "bodies", true: "envelopes"}[envelope])

	pipelines, err := setup(w, batch, envelope)
	if err != nil {
		return err
	}
	results := make([][]result, len(pipelines))
	var peer map[string]contact
	fmt.Println("| run | pipeline | msgs/s | CPU µs/msg | max RSS |")
	fmt.Println("|---|---|---|---|---|")
	for r := 1; r <= runs; r++ {
		for i, p := range pipelines {
			res, err := measure(w, p, fmt.Sprintf("%s-%d", p.short, r))
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", p.name, r, err)
			}
			got, err := sample(w.out)
			if err != nil {
				return err
			}
			if i == 0 {
				peer = got
			} else if err := same(peer, got); err != nil {
				return fmt.Errorf("%s wrote other contacts than %s: %w", p.name, pipelines[0].name, err)
			}
			results[i] = append(results[i], res)
			fmt.Printf("| %d | %s | %s |\n", r, p.name, res.row(n))
		}
	}
	report(pipelines, results, n)
	return nil
}

// setup writes each pipeline's configuration. The order is the order of
// every round: the peer first, then tajo without and with a broker.
func setup(w *work, batch int, envelope bool) ([]pipeline, error) {
	if err := os.WriteFile(filepath.Join(w.dir, "benthos.yaml"), []byte(benthosConfig(w.out, batch, envelope)), 0o644); err != nil {
		return nil, err
	}
	for _, b := range []struct{ name, broker string }{{"none", "none"}, {"kafka", "{}"}} {
		if err := os.WriteFile(filepath.Join(w.dir, "tajo-"+b.name+".yaml"), []byte(tajoConfig(w, b.name, b.broker, batch)), 0o644); err != nil {
			return nil, err
		}
	}
	tajo := func(label, name string) pipeline {
		return pipeline{name: label, short: "tajo-" + name, dataDir: filepath.Join(w.dir, "data-"+name), cmd: func(w *work) *exec.Cmd {
			return exec.Command(w.tajo, "run", "-c", filepath.Join(w.dir, "tajo-"+name+".yaml"))
		}}
	}
	return []pipeline{
		{name: "Benthos v4: stdin → bloblang → file", short: "benthos", cmd: func(w *work) *exec.Cmd {
			return exec.Command(w.exe, "benthos", "-c", filepath.Join(w.dir, "benthos.yaml"))
		}},
		tajo("tajo `broker: none`: file → default chain → file", "none"),
		tajo("tajo: file → embedded Kafka → default chain → file", "kafka"),
	}, nil
}

// tajoConfig is a file-to-file job on the default chain: no listeners, no
// connectors, no Brevo or ClickHouse; everything else is tajo's defaults
// (the embedded broker fsyncs every produced batch, the file sink every
// written one).
func tajoConfig(w *work, name, broker string, batch int) string {
	return fmt.Sprintf(`version: 1
data_dir: %q
server: {listen: ""}
control: {listen: ""}
broker: %s
pipeline: {batch_size: %d}
dead_letter: {path: dead-letter.jsonl}
connectors: {shopify: {enabled: false}}
sources:
  file: {enabled: true, path: %q}
sinks:
  file: {enabled: true, path: %q}
  clickhouse: {enabled: false}
  brevo: {enabled: false}
`, filepath.Join(w.dir, "data-"+name), broker, batch, w.in, w.out)
}

// measure runs p once on a fresh output (and, for tajo, a fresh data_dir),
// until the output holds all n lines; then it stops the process with
// SIGINT, as Ctrl-C would, and reads its resource usage from wait4.
func measure(w *work, p pipeline, label string) (result, error) {
	os.Remove(w.out)
	if p.dataDir != "" {
		os.RemoveAll(p.dataDir)
		if err := os.Mkdir(p.dataDir, 0o700); err != nil {
			return result{}, err
		}
	}
	logPath := filepath.Join(w.dir, label+".log")
	log, err := os.Create(logPath)
	if err != nil {
		return result{}, err
	}
	defer log.Close()
	cmd := p.cmd(w)
	cmd.Stdout, cmd.Stderr = log, log
	if p.dataDir == "" { // the peer reads standard input
		in, err := os.Open(w.peerIn)
		if err != nil {
			return result{}, err
		}
		defer in.Close()
		cmd.Stdin = in
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	wall, err := follow(w.out, w.n, start, exited)
	if err != nil {
		cmd.Process.Kill()
		<-exited
		return result{}, fmt.Errorf("%w (exit: %v; log: %s)\n%s", err, waitErr, logPath, tail(logPath))
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited: // tajo with `broker: none` and Benthos stop at the end of their input
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-exited
		return result{}, fmt.Errorf("did not stop within 2m of SIGINT (log: %s)", logPath)
	}
	if final, err := countLines(w.out); err != nil || final != w.n {
		return result{}, fmt.Errorf("the output holds %d lines, want %d (%v)", final, w.n, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return result{
		wall:   wall,
		cpu:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		maxRSS: ru.Maxrss << 10, // KiB on Linux
	}, nil
}

// stall is how long the output may stay unchanged before a run fails.
const stall = time.Minute

// follow reads the output as it grows until it holds n lines and returns
// the time from start until then. It fails if the process exits without
// writing them or the output stops growing.
func follow(path string, n int, start time.Time, exited <-chan struct{}) (time.Duration, error) {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	buf := make([]byte, 1<<20)
	lines, last, done := 0, time.Now(), false
	for {
		if f == nil {
			f, _ = os.Open(path) // not there until the pipeline opens it
		}
		for f != nil {
			k, err := f.Read(buf)
			lines += bytes.Count(buf[:k], []byte{'\n'})
			if k > 0 {
				last = time.Now()
			}
			if lines >= n {
				return time.Since(start), nil
			}
			if err == io.EOF || k == 0 {
				break
			}
			if err != nil {
				return 0, err
			}
		}
		if done {
			return 0, fmt.Errorf("exited after writing %d of %d lines", lines, n)
		}
		select {
		case <-exited:
			done = true // read once more: it may have written the rest before exiting
		case <-time.After(5 * time.Millisecond):
		}
		if time.Since(last) > stall {
			return 0, fmt.Errorf("no output for %v after %d of %d lines", stall, lines, n)
		}
	}
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	lines := 0
	for {
		k, err := f.Read(buf)
		lines += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return lines, nil
		}
		if err != nil {
			return lines, err
		}
	}
}

// contact is what a pipeline computed for one record: the three fields
// tajo's chain adds to the envelope.
type contact struct {
	Attributes  map[string]any    `json:"attributes"`
	Identifiers map[string]string `json:"identifiers"`
	Consent     map[string]string `json:"consent"`
}

// sampleLines is how many lines of each output are compared. Both keep
// roughly the input order, so the first lines of two outputs are mostly
// the same records.
const sampleLines = 2000

// sample reads the contacts of an output's first lines by customer id
// (identifiers.ext_id: every input customer is a different one).
func sample(path string) (map[string]contact, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.UseNumber()
	out := map[string]contact{}
	for range sampleLines {
		var c contact
		if err := dec.Decode(&c); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out[c.Identifiers["ext_id"]] = c
	}
	return out, nil
}

// same compares the contacts of the records both samples hold; numbers
// compare by value (tajo writes money with its own digits).
func same(want, got map[string]contact) error {
	common := 0
	for id, g := range got {
		w, ok := want[id]
		if !ok {
			continue
		}
		common++
		if norm(w) != norm(g) {
			return fmt.Errorf("customer %s:\n  want %s\n  got  %s", id, norm(w), norm(g))
		}
	}
	if common < min(len(want), len(got))/2 {
		return fmt.Errorf("only %d of the first %d records in common", common, len(got))
	}
	return nil
}

func norm(c contact) string {
	a := map[string]any{}
	for k, v := range c.Attributes {
		if n, ok := v.(json.Number); ok {
			f, _ := n.Float64()
			v = f
		}
		a[k] = v
	}
	b, _ := json.Marshal(contact{a, c.Identifiers, c.Consent})
	return string(b)
}

// tail is the end of a run's log, for an error message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func (r result) rate(n int) float64 { return float64(n) / r.wall.Seconds() }
func (r result) cpuPer(n int) float64 {
	return float64(r.cpu.Microseconds()) / float64(n)
}
func (r result) rssMiB() float64 { return float64(r.maxRSS) / (1 << 20) }

func (r result) row(n int) string {
	return fmt.Sprintf("%s | %.0f | %.0f MiB", kilo(r.rate(n)), r.cpuPer(n), r.rssMiB())
}

func kilo(v float64) string { return fmt.Sprintf("%.1fk", v/1000) }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// report prints each pipeline's medians and tajo's ratios to the peer
// (the first pipeline), then the broker's cost within tajo.
func report(ps []pipeline, rs [][]result, n int) {
	type med struct{ rate, cpu, rss float64 }
	meds := make([]med, len(ps))
	for i := range ps {
		var rate, cpu, rss []float64
		for _, r := range rs[i] {
			rate, cpu, rss = append(rate, r.rate(n)), append(cpu, r.cpuPer(n)), append(rss, r.rssMiB())
		}
		meds[i] = med{median(rate), median(cpu), median(rss)}
	}
	fmt.Printf("\nMedians of %d runs, %d customers:\n\n", len(rs[0]), n)
	fmt.Println("| pipeline | msgs/s | CPU µs/msg | max RSS | msgs/s ÷ peer | CPU ÷ peer | RSS ÷ peer |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for i, p := range ps {
		m, b := meds[i], meds[0]
		fmt.Printf("| %s | %s | %.0f | %.0f MiB | %.2f× | %.2f× | %.2f× |\n", p.name, kilo(m.rate), m.cpu, m.rss, m.rate/b.rate, m.cpu/b.cpu, m.rss/b.rss)
	}
	if len(ps) == 3 {
		fmt.Printf("\ntajo through the embedded Kafka: %.2f× the msgs/s of `broker: none`.\n", meds[2].rate/meds[1].rate)
	}
}
