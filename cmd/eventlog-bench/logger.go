package main

import (
	"context"
	"sync/atomic"

	"github.com/eventlog/eventlog/client"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
)

// loggerCalls logs through a client.Logger, as a service does: each call
// queues one entry and returns; the Logger sends batches.
type loggerCalls struct {
	c      *client.Client
	logger *client.Logger
	seq    atomic.Int64
}

func newLoggerCalls(ctx context.Context, p *serverProc) (*loggerCalls, error) {
	c, err := client.Dial(ctx, p.addr, client.WithInsecure())
	if err != nil {
		return nil, err
	}
	return &loggerCalls{c: c, logger: c.NewLogger(client.LoggerConfig{})}, nil
}

func (l *loggerCalls) log(ctx context.Context, _ int) (int, error) {
	w, err := protomap.WriteFromProto(&eventlogv1.LogEventRequest{Event: genEvent(int(l.seq.Add(1)))})
	if err != nil {
		return 0, err
	}
	return 1, l.logger.Log(ctx, w)
}

// flush waits until what was queued is stored.
func (l *loggerCalls) flush(ctx context.Context) error { return l.logger.Flush(ctx) }

func (l *loggerCalls) close() {
	l.logger.Close(context.Background())
	l.c.Close()
}
