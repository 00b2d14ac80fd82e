package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

var healthHelp = commandHelp{
	usage: "eventlog health [--server ADDR] [flags]",
	description: `Health asks a server's standard gRPC health service whether it serves, and
exits with status 0 when it does and 1 when it does not or cannot be
reached. The health service needs no API key, so a container's health
check can run it with no token; it fails once the server begins to stop.
--service asks about one service, such as eventlog.v1.EventLogService;
by default, about the server as a whole.`,
	example: `  eventlog health
  eventlog health --server 127.0.0.1:50051 --timeout 2s`,
}

// runHealth is "eventlog health".
func runHealth(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	var (
		server  string
		timeout time.Duration
		service string
		conn    connOptions
	)
	fs.StringVar(&server, "server", defaultServer, "`address` of the eventlog server; when not given, $"+serverEnv+" if set")
	fs.DurationVar(&timeout, "timeout", 5*time.Second, "deadline of the check; 0 for none")
	fs.StringVar(&service, "service", "", "the `service` to ask about; the whole server when empty")
	conn.register(fs)
	rest, err := parseFlags(fs, e, healthHelp, args)
	if err != nil {
		return err
	}
	if err := noArgs(healthHelp, rest); err != nil {
		return err
	}
	if !isSet(fs, "server") {
		if v := strings.TrimSpace(e.getenv(serverEnv)); v != "" {
			server = v
		}
	}
	if timeout < 0 {
		return usagef("--timeout: want a duration of 0 or more, got %s", timeout)
	}
	conn.resolve(fs, e)
	cc, err := dial(ctx, e, server, conn)
	if err != nil {
		return err
	}
	defer cc.Close()
	cctx, cancel := context.WithCancel(ctx)
	if timeout > 0 {
		cctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc.Conn()).Check(cctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return fmt.Errorf("health of %s: %w", server, rpcError(err))
	}
	if st := resp.GetStatus(); st != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health of %s: %s", server, st)
	}
	fmt.Fprintln(e.stdout, "SERVING")
	return nil
}
