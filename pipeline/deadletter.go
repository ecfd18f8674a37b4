package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// fileDeadLetters appends dead letters to a JSON-lines file and fsyncs
// before returning, so a dead letter is durable before its record is acked.
type fileDeadLetters struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

// deadLetterLine is one line of the dead-letter file.
type deadLetterLine struct {
	Time    time.Time       `json:"time"`
	Stage   string          `json:"stage"`
	Class   string          `json:"class"`
	Code    string          `json:"code,omitempty"`
	Reason  string          `json:"reason"`
	Key     string          `json:"key,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
	// PayloadText holds a payload that is not valid JSON, as a string.
	PayloadText string `json:"payload_text,omitempty"`
}

// openFileDeadLetters opens the dead-letter file owner-only (0600): dead
// letters carry whole customer records.
func openFileDeadLetters(path string) (*fileDeadLetters, error) {
	f, err := OpenPrivate(path, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return nil, fmt.Errorf("dead_letter.path: %w", err)
	}
	return &fileDeadLetters{path: path, f: f}, nil
}

func (d *fileDeadLetters) WriteDeadLetters(_ context.Context, dls []DeadLetter) error {
	var buf []byte
	for _, dl := range dls {
		line := deadLetterLine{Time: dl.Time, Stage: dl.Stage, Class: dl.Class.String(), Code: dl.Code, Reason: dl.Reason, Key: string(dl.Key)}
		if json.Valid(dl.Payload) {
			line.Payload = dl.Payload
		} else {
			line.PayloadText = string(dl.Payload)
		}
		b, err := json.Marshal(line)
		if err != nil {
			return err
		}
		buf = append(append(buf, b...), '\n')
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.f.Write(buf); err != nil {
		return fmt.Errorf("write %s: %w", d.path, err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", d.path, err)
	}
	return nil
}

func (d *fileDeadLetters) Close() error { return d.f.Close() }
