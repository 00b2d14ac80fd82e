// Package client calls an eventlog server from Go, with the domain types of
// package eventlog in and out.
//
// # Connecting
//
// Dial returns a Client, safe for concurrent use; Close it when done:
//
//	c, err := client.Dial(ctx, "eventlog.internal:50051",
//		client.WithAPIKey(os.Getenv("EVENTLOG_TOKEN")))
//
// The connection is over TLS, checked against the system's CAs, unless
// WithTLS gives another configuration (a private CA, a client certificate
// for mutual TLS: see LoadTLS) or WithInsecure asks for plaintext, which a
// server on loopback may use. The API key goes with every call as a bearer
// token; Dial refuses to send it in plaintext to any host but a loopback
// one. FromEnv reads the same environment variables as the eventlog
// command: EVENTLOG_SERVER (the target, when Dial's is empty),
// EVENTLOG_TOKEN, EVENTLOG_TLS_CA, EVENTLOG_TLS_CERT and EVENTLOG_TLS_KEY.
//
// # Calls
//
// LogEvent and LogEvents append entries and return them as stored, with
// their ids, times and hashes. Give each write an idempotency key
// (Event.IdempotencyKey): a retry with the same key returns the stored
// entry instead of writing it twice, which makes every write safe to retry.
// GetEvent reads one entry; PutRelations, DeleteRelations and ListRelations
// edit the relation registry; Verify checks the server's hash chain.
//
// List and Follow are iterators, for range loops:
//
//	for e, err := range c.List(ctx, eventlog.Filter{ObjectID: "42"}) {
//		if err != nil {
//			return err
//		}
//		...
//	}
//
// List fetches pages as the loop goes on. Follow returns the entries after
// an id, then new ones as they are written, and never ends by itself: when
// the server restarts or the network fails it reconnects, with backoff, and
// resumes after the last entry it delivered, so the loop sees every entry
// once and in order. Keep the id of the last entry handled to resume after
// it in a later run.
//
// # Errors
//
// A failed call returns an *Error with the server's status code. Test it
// with errors.Is against ErrNotFound, ErrUnavailable (retry later or
// elsewhere) and ErrOutcomeUnknown (a write that may have been stored:
// retry with the same idempotency key), and with errors.As against
// *eventlog.InvalidError, whose Field names the field of the request at
// fault, such as "event.actor" or "requests[3].event.content_type".
package client
