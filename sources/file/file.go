package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/state"
)

// Config is `sources.file`.
type Config struct {
	// Path is the JSON-lines file to read; "-" reads standard input.
	// Relative paths are relative to data_dir.
	Path string `yaml:"path"`
	// Follow keeps reading lines appended after the end, like tail -f.
	Follow bool `yaml:"follow"`
	// MaxLineBytes bounds one line; a longer line stops the source with an
	// error naming its offset.
	MaxLineBytes int `yaml:"max_line_bytes"`
}

// NewConfig returns the defaults.
func NewConfig() any { return &Config{MaxLineBytes: 4 << 20} }

// Validate implements config.Validatable.
func (c *Config) Validate(p *config.Problems, path string) {
	if c.Path == "" {
		p.Add(config.Join(path, "path"), "required", `a JSON-lines file, or "-" for standard input`)
	}
	if c.MaxLineBytes < 1024 {
		p.Add(config.Join(path, "max_line_bytes"), "must be at least 1024", "")
	}
}

func init() {
	pipeline.RegisterSource("file", NewConfig, func(spec any, env pipeline.Env) (pipeline.Source, error) {
		c := *spec.(*Config)
		if c.Path != "-" && !filepath.IsAbs(c.Path) {
			c.Path = filepath.Join(env.DataDir, c.Path)
		}
		return New(c, env.Positions(), "sources."+env.Name), nil
	})
}

// Source reads JSON lines.
type Source struct {
	cfg    Config
	st     state.Positions
	bucket string
	f      *os.File
	r      *bufio.Reader
	off    int64 // offset of the next unread byte
	poll   time.Duration
}

// New returns a file source persisting its position in st under bucket.
func New(cfg Config, st state.Positions, bucket string) *Source {
	return &Source{cfg: cfg, st: st, bucket: bucket, poll: 200 * time.Millisecond}
}

// Open opens the file at its persisted offset.
func (s *Source) Open(context.Context) error {
	if s.cfg.Path == "-" {
		s.f = os.Stdin
		s.r = bufio.NewReaderSize(s.f, 64<<10)
		return nil
	}
	f, err := os.Open(s.cfg.Path)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.cfg.Path, err)
	}
	s.f = f
	if s.st != nil {
		b, err := s.st.Get(s.bucket, s.key())
		if err != nil {
			return err
		}
		if len(b) == 8 {
			s.off = int64(binary.BigEndian.Uint64(b))
		}
	}
	if fi, err := f.Stat(); err == nil && s.off > fi.Size() {
		return fmt.Errorf("%s is shorter (%d bytes) than its saved position (%d): the file was replaced; delete %s/state.db's entry or use a new file name", s.cfg.Path, fi.Size(), s.off, s.bucket)
	}
	if _, err := f.Seek(s.off, io.SeekStart); err != nil {
		return err
	}
	s.r = bufio.NewReaderSize(f, 64<<10)
	return nil
}

func (s *Source) key() string { return "offset:" + s.cfg.Path }

// Read returns up to max complete lines; empty lines are skipped. At the end
// of the file it returns io.EOF, or waits for more when following.
func (s *Source) Read(ctx context.Context, max int) ([]*pipeline.Record, error) {
	var out []*pipeline.Record
	for len(out) < max {
		line, err := s.readLine()
		if len(line) > 0 {
			rec := &pipeline.Record{Key: shopKey(line), Value: line, Time: time.Now()}
			pos := make(pipeline.Position, 8)
			binary.BigEndian.PutUint64(pos, uint64(s.off))
			rec.Position = pos
			out = append(out, rec)
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(out) > 0 {
				return out, nil
			}
			if !s.cfg.Follow {
				return nil, io.EOF
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(s.poll):
			}
			continue
		}
		if err != nil {
			return out, pipeline.Stop(err)
		}
	}
	return out, nil
}

// readLine returns the next non-empty complete line without its newline,
// advancing s.off past it. An incomplete last line (no newline yet) is left
// unread so that a writer still appending it is not cut in half.
func (s *Source) readLine() ([]byte, error) {
	for {
		var buf []byte
		for {
			chunk, err := s.r.ReadSlice('\n')
			buf = append(buf, chunk...)
			if len(buf) > s.cfg.MaxLineBytes {
				return nil, fmt.Errorf("%s: line at byte %d is longer than max_line_bytes (%d)", s.cfg.Path, s.off, s.cfg.MaxLineBytes)
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil {
				if len(buf) > 0 && s.cfg.Follow && s.f != os.Stdin {
					// Not a whole line yet, and a writer may still be
					// appending it: rewind to its start.
					if _, serr := s.f.Seek(s.off, io.SeekStart); serr != nil {
						return nil, serr
					}
					s.r.Reset(s.f)
					return nil, io.EOF
				}
				if len(buf) > 0 {
					s.off += int64(len(buf))
					return bytes.TrimSpace(buf), nil
				}
				return nil, err
			}
			break
		}
		s.off += int64(len(buf))
		if line := bytes.TrimSpace(buf); len(line) > 0 {
			return line, nil
		}
	}
}

// Ack persists the offset after the last acked line.
func (s *Source) Ack(_ context.Context, positions []pipeline.Position) error {
	if s.st == nil || s.cfg.Path == "-" || len(positions) == 0 {
		return nil
	}
	last := positions[len(positions)-1]
	return s.st.Save(s.bucket, s.key(), last)
}

// Close implements pipeline.Source.
func (s *Source) Close(context.Context) error {
	if s.f == nil || s.f == os.Stdin {
		return nil
	}
	return s.f.Close()
}
