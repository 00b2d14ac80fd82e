package store

// AppendsAt returns how many appends s made in one statement (appendAt).
func AppendsAt(s *Store) int64 { return s.appendsAt.Load() }

// SetBeforeAppendAt makes s call f between building an append on the
// head it knows and writing it.
func SetBeforeAppendAt(s *Store, f func()) { s.beforeAppendAt = f }
