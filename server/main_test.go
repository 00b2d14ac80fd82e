package server

import (
	"net"
	"testing"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serveGRPC serves srv, started, over gRPC on a loopback port, and returns
// a client of it and a function that stops both: the server as serve
// does (streams end, then the listener, then the service), then the
// client's connection.
func serveGRPC(t *testing.T, srv *Server) (eventlogv1.EventLogServiceClient, func()) {
	t.Helper()
	g := grpc.NewServer()
	srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(lis)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Shutdown()
		g.Stop()
		srv.Close()
		t.Fatal(err)
	}
	return eventlogv1.NewEventLogServiceClient(cc), func() {
		cc.Close()
		srv.Shutdown()
		g.Stop()
		srv.Close()
	}
}
