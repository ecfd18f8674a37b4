package pipeline

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tajo/tajo/pipeline/state"
)

// JournalFile is the state journal's file in data_dir.
const JournalFile = "state.journal"

// legacyJournalFile is where tajo kept the journal while it belonged to the
// transforms package.
const legacyJournalFile = "transforms.journal"

// OpenJournal opens the state journal of dataDir in front of st (see
// state.Journal). A process opens one: the runner, which hands it to every
// component in Env.Journal.
func OpenJournal(st state.Store, dataDir string) (*state.Journal, error) {
	path := filepath.Join(dataDir, JournalFile)
	// What an older tajo journaled and did not fold into state.db yet
	// (it was killed) is replayed from its file, taken over once.
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(filepath.Join(dataDir, legacyJournalFile), path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return state.OpenJournal(st, path)
}

// JournalStage is the engine's own last stage of a chain: it passes every
// record through, commits j once per batch (FlushBatch: after the
// transforms of the batch ran, before any of its records reaches a sink,
// which is invariant 1 for the state they changed) and closes it after the
// flows stopped (Closer). The stages before it only read and write keys.
func JournalStage(j *state.Journal) NamedTransform {
	return NamedTransform{Name: "state", Transform: journalStage{j}}
}

type journalStage struct{ j *state.Journal }

func (s journalStage) Process(_ context.Context, rec *Record) ([]*Record, error) {
	return []*Record{rec}, nil
}

// FlushBatch implements BatchFlusher. A failed commit wrote nothing; the
// engine retries it.
func (s journalStage) FlushBatch(context.Context) error { return s.j.Commit() }

// Close implements Closer: the last checkpoint.
func (s journalStage) Close(context.Context) error { return s.j.Close() }
