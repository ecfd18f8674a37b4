// Package state is the durable store for positions and small stage state:
// source cursors, dedupe windows, customer aggregates, timers.
//
// It enforces the "persist, then ack" half of invariant 1 for whoever uses
// it, at two costs:
//
//   - Store (state.db, bbolt): Put and Update return only after the write
//     is fsynced, so a position written here survives kill -9 the moment
//     the call returns. Several keys written in one Update are atomic. For
//     writes that happen once per batch or less (source cursors).
//   - Journal (journal.go): the same store with batched commits, for state
//     that changes with every record (guard marks, aggregates, dedupe
//     windows). Put and Delete are visible to Get at once; Commit makes
//     them survive kill -9 with one write(2) to data_dir/state.journal,
//     which is folded into state.db every second and replayed on open. The
//     engine opens the one Journal of a process (pipeline.Env.Journal) and
//     commits it once per batch, before any record of the batch reaches a
//     sink; stages only read and write keys. A power loss can lose the
//     last second of journaled state, as with broker.embedded.fsync: false.
//
// Keys with a lifetime (a dedupe window) keep their time in their value:
// Journal.Sweep walks a bucket and returns the expired keys for the owner
// to delete.
package state
