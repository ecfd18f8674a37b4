// Package state is the durable store for positions and small stage state:
// source cursors, dedupe windows, customer aggregates, timers.
//
// It enforces the "persist, then ack" half of invariant 1 for whoever uses
// it: Put and Update return only after the write is fsynced (bbolt commits
// with fsync), so a position written here survives kill -9 the moment the
// call returns. Several keys written in one Update are atomic.
package state
