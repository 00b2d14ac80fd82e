package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
	"github.com/eventlog/eventlog/internal/pgtest"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/store"
)

func TestProofsSQLite(t *testing.T) { testProofs(t, filepath.Join(t.TempDir(), "proofs.db")) }

func TestProofsPostgres(t *testing.T) { testProofs(t, pgtest.NewDB(t, pgtest.URL(t))) }

// testProofs signs checkpoints, keeps them with witness, proves inclusion,
// and then tampers with the database as someone who can also rewrite the
// head would: removing the newest entries, and rewriting entries from one
// on. The chain alone passes both; a kept checkpoint catches each, and a
// witness catches a server that signs the shorter log.
func testProofs(t *testing.T, db string) {
	dir := t.TempDir()
	sk, state := filepath.Join(dir, "signing.key"), filepath.Join(dir, "state")
	out, err := cli(t, nil, "keys", "signing", "new", "--name", "test.example/log", "--out", sk)
	if err != nil {
		t.Fatalf("keys signing new: %v\n%s", err, out)
	}
	vkey := strings.TrimSpace(out)
	if !strings.HasPrefix(vkey, "test.example/log+") {
		t.Fatalf("keys signing new printed %q, want a verifier key", vkey)
	}
	if out, err := cli(t, nil, "keys", "signing", "new", "--name", "x", "--out", sk); err == nil {
		t.Errorf("keys signing new over an existing file = nil\n%s", out)
	}

	ts := startServer(t, db, "--signing-key", sk)
	env := map[string]string{"EVENTLOG_SERVER": ts.addr}
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	ctx := context.Background()
	logN := func(from, n int) {
		t.Helper()
		var reqs []*eventlogv1.LogEventRequest
		for i := range n {
			reqs = append(reqs, &eventlogv1.LogEventRequest{Event: newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "alice", "Entry", fmt.Sprint(from+i))})
		}
		if _, err := c.LogEvents(ctx, &eventlogv1.LogEventsRequest{Requests: reqs}); err != nil {
			t.Fatal(err)
		}
	}
	waitCheckpoint := func(size int64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			cp, err := c.GetCheckpoint(ctx, &eventlogv1.GetCheckpointRequest{})
			if err == nil && cp.GetTreeSize() == size {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint of %d entries within 20s: %v %v", size, cp, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	witness := func() (string, error) {
		return cli(t, env, "witness", "--state", state, "--verifier-key", vkey)
	}

	logN(1, 20)
	waitCheckpoint(20)
	if out, err := witness(); err != nil || !strings.HasPrefix(out, "first checkpoint: 20 entries") {
		t.Fatalf("witness, first run = %v\n%s", err, out)
	}
	state20 := filepath.Join(dir, "state20")
	if b, err := os.ReadFile(state); err != nil || os.WriteFile(state20, b, 0o600) != nil {
		t.Fatalf("keep the first checkpoint: %v", err)
	}
	logN(21, 5)
	waitCheckpoint(25)
	if out, err := witness(); err != nil || !strings.HasPrefix(out, "consistent: 25 entries, extending 20") {
		t.Fatalf("witness, second run = %v\n%s", err, out)
	}
	if out, err := cli(t, env, "verify", "--checkpoint", state, "--verifier-key", vkey); err != nil || !strings.Contains(out, "extends the checkpoint of 25 entries") {
		t.Errorf("verify --checkpoint against the server = %v\n%s", err, out)
	}

	// An entry's inclusion, through the client.
	verifier, err := client.ParseVerifierKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.Dial(ctx, ts.addr, client.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cp, err := cl.Checkpoint(ctx, verifier)
	if err != nil {
		t.Fatal(err)
	}
	e7, _, err := cl.GetEvent(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.VerifyInclusion(ctx, e7, cp); err != nil {
		t.Errorf("inclusion of entry 7: %v", err)
	}
	e7.ObjectRepr = "changed"
	eventlog.Seal(e7.PrevHash, &e7)
	if err := cl.VerifyInclusion(ctx, e7, cp); err == nil {
		t.Error("a changed entry 7 passes the inclusion check")
	}
	ts.stop(t)

	verifyDB := func(args ...string) (string, error) {
		return cli(t, nil, append([]string{"verify", "--db", db}, args...)...)
	}
	withCheckpoint := []string{"--checkpoint", state, "--verifier-key", vkey}
	if out, err := verifyDB(withCheckpoint...); err != nil || !strings.Contains(out, "the log extends the checkpoint of 25 entries") {
		t.Fatalf("verify --db --checkpoint before tampering = %v\n%s", err, out)
	}

	// Truncation with the head moved back: the chain is intact.
	tamperWith(t, db, `DELETE FROM events WHERE id > 23`,
		`UPDATE log_head SET last_id = 23, last_hash = (SELECT hash FROM events WHERE id = 23)`)
	if out, err := verifyDB(); err != nil || !strings.HasPrefix(out, "OK") {
		t.Fatalf("verify --db of a truncated log with its head moved back = %v, want the chain intact (the weakness checkpoints fix)\n%s", err, out)
	}
	out, err = verifyDB(withCheckpoint...)
	if !errors.Is(err, errChainBroken) || !strings.Contains(out, "BROKEN: truncated: the checkpoint covers 25 entries, the log holds 23") {
		t.Errorf("verify --db --checkpoint of a truncated log = %v\n%s", err, out)
	}

	// Entries rewritten from 15 on, every hash and the head recomputed.
	rewriteFrom(t, db, 15)
	if out, err := verifyDB(); err != nil || !strings.HasPrefix(out, "OK") {
		t.Fatalf("verify --db of a log rewritten with its hashes = %v, want the chain intact\n%s", err, out)
	}
	out, err = verifyDB("--checkpoint", state20, "--verifier-key", vkey)
	if !errors.Is(err, errChainBroken) || !strings.Contains(out, "BROKEN: rewritten: entries 1 to 20 do not hash to the checkpoint's root") {
		t.Errorf("verify --db --checkpoint of a rewritten log = %v\n%s", err, out)
	}

	// A server that rebuilt its tree over the shorter, rewritten log signs
	// what it holds; the witness does not follow it back.
	tamperTree(t, db)
	ts = startServer(t, db, "--signing-key", sk)
	env["EVENTLOG_SERVER"] = ts.addr
	c = eventlogv1.NewEventLogServiceClient(ts.conn(t))
	waitCheckpoint(23)
	out, err = witness()
	if !errors.Is(err, errChainBroken) || !strings.HasPrefix(out, "BROKEN") {
		t.Errorf("witness of a log that rolled back = %v\n%s", err, out)
	}
	if out, err := cli(t, env, "verify", "--checkpoint", state, "--verifier-key", vkey); !errors.Is(err, errChainBroken) {
		t.Errorf("verify --checkpoint against a server that rolled back = %v\n%s", err, out)
	}
}

// rewriteFrom changes the entry id and recomputes the hashes of it and
// every entry after it, and the head's, as a forger with write access to
// the database would.
func rewriteFrom(t *testing.T, db string, id int64) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DSN: db, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	events, err := st.ReadChain(context.Background(), id-2, 1<<62, 1000)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	prev := events[0].Hash
	var stmts []string
	for _, e := range events[1:] {
		if e.ID == id {
			e.ObjectRepr = "forged"
		}
		eventlog.Seal(prev, &e)
		stmts = append(stmts, fmt.Sprintf(`UPDATE events SET object_repr = '%s', hash = %s, prev_hash = %s WHERE id = %d`,
			e.ObjectRepr, bytesLiteral(db, e.Hash), bytesLiteral(db, prev), e.ID))
		prev = e.Hash
	}
	stmts = append(stmts, `UPDATE log_head SET last_hash = `+bytesLiteral(db, prev))
	tamperWith(t, db, stmts...)
}

// tamperTree empties the Merkle tree, so that a server builds it again
// over what the log holds now.
func tamperTree(t *testing.T, db string) {
	t.Helper()
	lift := []string{`DROP TRIGGER IF EXISTS tree_nodes_no_delete`}
	if strings.HasPrefix(db, "postgres") {
		lift = []string{`ALTER TABLE tree_nodes DISABLE TRIGGER USER`}
	}
	tamperWith(t, db, append(lift, `DELETE FROM tree_nodes`, `UPDATE tree_head SET size = 0`)...)
}

func bytesLiteral(db string, b []byte) string {
	if strings.HasPrefix(db, "postgres") {
		return "decode('" + hex.EncodeToString(b) + "', 'hex')"
	}
	return "X'" + hex.EncodeToString(b) + "'"
}
