package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// treeWrites measures what the Merkle tree costs writes on PostgreSQL:
// LogEvent and LogEvents on a server that integrates every second against
// one that never does (--tree-interval 0), side by side; and an inclusion
// proof's latency.
func (b *bench) treeWrites(ctx context.Context) error {
	const section = "tree"
	var procs [2]*serverProc
	for i, interval := range []string{"1s", "0"} {
		dsn, err := b.newPGDB(ctx, "tree"+strconv.Itoa(i))
		if err != nil {
			return err
		}
		b.logf("%s: starting eventlog serve --tree-interval %s", section, interval)
		p, err := startServer(ctx, b.cfg.eventlog, dsn, "--tree-interval", interval)
		if err != nil {
			return err
		}
		defer p.stop()
		procs[i] = p
	}
	on, off := newCalls(procs[0]), newCalls(procs[1])
	n, bc := strconv.Itoa(b.cfg.clients), strconv.Itoa(b.cfg.batchClients)
	single := [2]*trial{
		{name: "LogEvent, tree", clients: b.cfg.clients, do: on.logEvent},
		{name: "LogEvent, no tree", clients: b.cfg.clients, do: off.logEvent},
	}
	batch := [2]*trial{
		{name: "LogEvents 1000/call, tree", clients: b.cfg.batchClients, do: on.logEvents(1000)},
		{name: "LogEvents 1000/call, no tree", clients: b.cfg.batchClients, do: off.logEvents(1000)},
	}
	if err := b.interleave(ctx, section, []*trial{single[0], single[1], batch[0], batch[1]}, nil); err != nil {
		return err
	}
	b.add(figure{Section: section, Name: "LogEvent with the tree, " + n + " clients", Value: single[0].rate(), Unit: "entries/s",
		Baseline: "without", BaseVal: single[1].rate(), Target: 0.9})
	b.add(figure{Section: section, Name: "LogEvents 1000/call with the tree, " + bc + " clients", Value: batch[0].rate(), Unit: "entries/s",
		Baseline: "without", BaseVal: batch[1].rate(), Target: 0.9})

	// Inclusion proofs of random entries in the tree as it is, against
	// GetEvent of the same entries.
	time.Sleep(2 * time.Second) // the last writes join the tree
	first, err := on.c.GetInclusionProof(ctx, &eventlogv1.GetInclusionProofRequest{Id: 1})
	if err != nil {
		return fmt.Errorf("inclusion proof: %w", err)
	}
	size := first.GetTreeSize()
	prove := &trial{name: "GetInclusionProof", clients: b.cfg.clients, do: func(ctx context.Context, _ int) (int, error) {
		_, err := on.c.GetInclusionProof(ctx, &eventlogv1.GetInclusionProofRequest{Id: 1 + rand.Int64N(size), TreeSize: size})
		return 1, err
	}}
	get := &trial{name: "GetEvent", clients: b.cfg.clients, do: func(ctx context.Context, _ int) (int, error) {
		_, err := on.c.GetEvent(ctx, &eventlogv1.GetEventRequest{Id: 1 + rand.Int64N(size)})
		return 1, err
	}}
	if err := b.interleave(ctx, section, []*trial{prove, get}, nil); err != nil {
		return err
	}
	b.add(figure{Section: section, Name: "GetInclusionProof p50 in a tree of " + strconv.FormatInt(size, 10), Value: prove.pct(0.5), Unit: "s",
		Baseline: "GetEvent p50", BaseVal: get.pct(0.5)})
	b.add(figure{Section: section, Name: "GetInclusionProof, " + n + " clients", Value: prove.rate(), Unit: "proofs/s",
		Baseline: "GetEvent", BaseVal: get.rate()})
	return nil
}
