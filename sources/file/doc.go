// Package file is a source that reads JSON lines from a file or standard
// input, for replays and file-to-file jobs.
//
// Its position (the byte offset after the last acked line) is persisted in
// the state store when acked, so a restart continues after the last line
// that was durably handled. Standard input has no position to resume from.
package file
