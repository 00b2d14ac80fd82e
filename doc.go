// Package eventlog holds the domain types of the eventlog service: an entry of
// the audit log (Event), the filters that select entries (Filter), the
// canonical form that the hash chain covers, and the errors every layer
// shares. It imports only the standard library; the storage, propagation and
// server packages all point at it.
package eventlog
