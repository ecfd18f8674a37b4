package file

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
)

// Config is `sinks.file`.
type Config struct {
	// Path is the JSON-lines file to append to; "-" writes standard output.
	// Relative paths are relative to data_dir.
	Path string `yaml:"path"`
}

// NewConfig returns the defaults.
func NewConfig() any { return &Config{Path: "out.jsonl"} }

// Validate implements config.Validatable.
func (c *Config) Validate(p *config.Problems, path string) {
	if c.Path == "" {
		p.Add(config.Join(path, "path"), "required", `a file, or "-" for standard output`)
	}
}

func init() {
	pipeline.RegisterSink("file", NewConfig, func(spec any, env pipeline.Env) (pipeline.Sink, error) {
		c := *spec.(*Config)
		if c.Path != "-" && !filepath.IsAbs(c.Path) {
			c.Path = filepath.Join(env.DataDir, c.Path)
		}
		return New(c), nil
	})
}

// Sink appends JSON lines.
type Sink struct {
	cfg Config
	mu  sync.Mutex
	f   *os.File
	w   io.Writer
	buf []byte // the batch being written, reused
}

// New returns a file sink.
func New(cfg Config) *Sink { return &Sink{cfg: cfg} }

// Open opens the file for appending. A last line cut short by a crash is
// removed first, so the file always holds whole lines.
func (s *Sink) Open(context.Context) error {
	if s.cfg.Path == "-" {
		s.w = os.Stdout
		return nil
	}
	// Owner-only (0600): the output holds whole customer records.
	f, err := pipeline.OpenPrivate(s.cfg.Path, os.O_RDWR)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.cfg.Path, err)
	}
	end, err := wholeLinesEnd(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", s.cfg.Path, err)
	}
	if err := f.Truncate(end); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Seek(end, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	s.f, s.w = f, f
	return nil
}

// wholeLinesEnd returns the offset just after the last newline.
func wholeLinesEnd(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// maxKeptBuffer bounds the batch buffer the sink keeps between batches.
const maxKeptBuffer = 8 << 20

// Write appends the batch in one write and fsyncs it.
func (s *Sink) Write(_ context.Context, batch []*pipeline.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buf[:0]
	var errs []error
	for i, r := range batch {
		// The record's bytes are written here, straight into the batch's
		// buffer: a record a stage changed is encoded only now.
		start := len(b)
		var err error
		if b, err = r.AppendBytes(b); err != nil {
			if errs == nil {
				errs = make([]error, len(batch))
			}
			errs[i] = pipeline.Reject("encode", err)
			b = b[:start]
			continue
		}
		for len(b) > start && b[len(b)-1] == '\n' {
			b = b[:len(b)-1]
		}
		b = append(b, '\n')
	}
	if cap(b) <= maxKeptBuffer {
		s.buf = b // reused by the next batch; a huge one is let go
	}
	if _, err := s.w.Write(b); err != nil {
		return pipeline.Retry(fmt.Errorf("write %s: %w", s.cfg.Path, err))
	}
	if s.f != nil {
		if err := s.f.Sync(); err != nil {
			return pipeline.Retry(fmt.Errorf("fsync %s: %w", s.cfg.Path, err))
		}
	}
	if errs != nil {
		return &pipeline.BatchError{Errs: errs}
	}
	return nil
}

// Close implements pipeline.Sink.
func (s *Sink) Close(context.Context) error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}
