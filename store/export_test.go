package store

import "github.com/eventlog/eventlog"

// AppendsAt returns how many appends s made in one statement (appendAt).
func AppendsAt(s *Store) int64 { return s.appendsAt.Load() }

// SetBeforeAppendAt makes s call f between building an append on the
// head it knows and writing it.
func SetBeforeAppendAt(s *Store, f func()) { s.beforeAppendAt = f }

// SetBeforeCommit makes s call f before an append made in a transaction
// (the locked path, or COPY on the known head) commits.
func SetBeforeCommit(s *Store, f func()) { s.beforeCommit = f }

// ForgetHead makes the next append of s take the locked path.
func ForgetHead(s *Store) { s.forgetHead() }

// SetAfterAnchor makes Prune call f after recording its anchor, and stop
// there when f returns an error, as a killed prune would.
func SetAfterAnchor(s *Store, f func() error) { s.afterAnchor = f }

// WhereOf returns the conditions and arguments List uses for f.
func WhereOf(s *Store, f eventlog.Filter) ([]string, []any) { return s.where(f) }
