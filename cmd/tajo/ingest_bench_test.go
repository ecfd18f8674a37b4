package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tajo/tajo/sources/shopify"
)

// BenchmarkWebhookIngest posts signed customers/create webhooks to a real
// `tajo run` on loopback (the binary, its Shopify plugin, the embedded
// broker with fsync; no sink, so the ingest half only) from this process:
// one sender, then 128 at once. One op is one distinct webhook answered
// 200, and a 200 means its record is on Kafka with acks=all. It reports
// each answer's p50 and p99, the webhooks accepted per second and, on
// Linux, the CPU tajo and its plugin spent per webhook (the machine's
// other load moves the first three, not that one).
//
// For a bounded run: go test -run '^$' -bench WebhookIngest -benchtime 2000x
// ./cmd/tajo/. TAJO_BENCH_BIN runs another tajo binary instead of this
// tree's (an older build, for a before/after in one run).
func BenchmarkWebhookIngest(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "..", "sources", "shopify", "testdata", "webhooks", "customers-create.json"))
	if err != nil {
		b.Fatal(err)
	}
	url, pid := startIngestBench(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	var seq atomic.Int64
	for _, senders := range []int{1, 128} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			// Signed before the clock starts: the load generator shares the
			// cores with tajo and should cost it as little as possible.
			reqs := make([]benchDelivery, b.N)
			for i := range reqs {
				n := seq.Add(1)
				// Another customer each time, same length as the fixture's id.
				d := bytes.ReplaceAll(body, []byte("706405506930370084"), []byte(strconv.FormatInt(700000000000000000+n, 10)))
				reqs[i] = benchDelivery{body: d, hdr: benchHeaders(d, fmt.Sprintf("bench-%d", n))}
			}
			b.ResetTimer()
			cpu := processTreeCPU(pid)
			start := time.Now()
			sent, answered, err := postDeliveries(client, url, reqs, senders)
			elapsed := time.Since(start)
			cpu = processTreeCPU(pid) - cpu
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, b.N)
			for i := range lat {
				lat[i] = answered[i].Sub(sent[i])
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "accepted/s")
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "tajo-cpu-µs/op")
			}
		})
	}
}

const (
	benchShop   = "bench.myshopify.com"
	benchSecret = "bench-secret"
)

func benchHeaders(body []byte, id string) http.Header {
	h := http.Header{}
	h.Set(shopify.HeaderShopDomain, benchShop)
	h.Set(shopify.HeaderTopic, "customers/create")
	h.Set(shopify.HeaderWebhookID, id)
	h.Set(shopify.HeaderAPIVersion, "2026-04")
	h.Set(shopify.HeaderTriggeredAt, "2026-11-20T10:00:00Z")
	h.Set(shopify.HeaderHMAC, shopify.Sign(body, benchSecret))
	return h
}

func benchPost(c *http.Client, url string, body []byte, hdr http.Header) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = hdr
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// benchDelivery is one signed webhook; email is its customer's, where
// the benchmark looks for it in Brevo.
type benchDelivery struct {
	body  []byte
	hdr   http.Header
	email string
}

// postDeliveries posts reqs from senders goroutines at once and says when
// each left and was answered. Any answer but 200 stops the senders and is
// the error.
func postDeliveries(c *http.Client, url string, reqs []benchDelivery, senders int) (sent, answered []time.Time, err error) {
	sent, answered = make([]time.Time, len(reqs)), make([]time.Time, len(reqs))
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range min(senders, len(reqs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for failed.Load() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) {
					return
				}
				sent[i] = time.Now()
				status, err := benchPost(c, url, reqs[i].body, reqs[i].hdr)
				answered[i] = time.Now()
				if err != nil || status != http.StatusOK {
					failed.CompareAndSwap(nil, fmt.Errorf("webhook %d: status %d, %v", i, status, err))
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		return sent, answered, f.(error)
	}
	return sent, answered, nil
}

// startIngestBench starts tajo with a webhook-only Shopify connector and
// no sink, and returns its webhook URL once it answers, and its pid.
func startIngestBench(b *testing.B) (string, int) {
	b.Helper()
	dir := b.TempDir()
	httpAddr, kafkaAddr := benchAddr(b), benchAddr(b)
	cfg := fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: %q}
control: {listen: ""}
log: {level: warn}
broker: {partitions: 4, embedded: {listen: %q}}
pipeline: {progress_interval: 1h}
connectors:
  shopify:
    enabled: true
    api_secret: %s
    stores:
      - {shop_url: %s}
    sync: {backfill: false, reconcile_every: 0}
`, dir, httpAddr, kafkaAddr, benchSecret, benchShop)
	pid := startTajoBench(b, dir, cfg, httpAddr)
	return "http://" + httpAddr + "/webhooks/shopify", pid
}

// startTajoBench runs `tajo run` on cfg (written to dir/pipeline.yaml,
// logging to dir/tajo.log) with env added to this process's environment,
// stops it when the benchmark ends, and returns its pid once
// httpAddr/healthz answers 200. The binary is this tree's, built into dir,
// or TAJO_BENCH_BIN.
func startTajoBench(b *testing.B, dir, cfg, httpAddr string, env ...string) int {
	b.Helper()
	bin := os.Getenv("TAJO_BENCH_BIN")
	if bin == "" {
		if _, err := exec.LookPath("go"); err != nil {
			b.Skip("no go toolchain to build tajo with (or set TAJO_BENCH_BIN):", err)
		}
		bin = filepath.Join(dir, "tajo")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			b.Fatalf("building tajo: %v\n%s", err, out)
		}
	}
	path := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "tajo.log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "-c", path)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		if resp, err := http.Get("http://" + httpAddr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "tajo.log"))
			b.Fatalf("tajo did not come up:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return cmd.Process.Pid
}

// peakRSS is a process's high-water resident set (VmHWM), in MiB.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// processTreeCPU is the CPU time pid and its children (the plugins) have
// used, from /proc (Linux, in USER_HZ = 100 ticks a second); 0 elsewhere.
func processTreeCPU(pid int) time.Duration {
	stat := func(path string) (ppid int, cpu time.Duration, ok bool) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, 0, false
		}
		// pid (comm) state ppid … utime stime: comm may hold spaces.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			return 0, 0, false
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			return 0, 0, false
		}
		ppid, _ = strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return ppid, time.Duration(ut+st) * 10 * time.Millisecond, true
	}
	_, total, ok := stat(fmt.Sprintf("/proc/%d/stat", pid))
	if !ok {
		return 0
	}
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		if ppid, cpu, ok := stat(p); ok && ppid == pid {
			total += cpu
		}
	}
	return total
}

func benchAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
