// Package file is a source that reads JSON lines from a file or standard
// input, for replays and file-to-file jobs.
//
// Its position (the byte offset after the last acked line) is persisted in
// the state store when acked, so a restart continues after the last line
// that was durably handled. Standard input has no position to resume from.
//
// A record's key (its Kafka partition) is the line's top-level "shop",
// taken by a validating scanner that decodes nothing (key.go): the line is
// decoded once, later, by whoever processes it.
package file
