package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The client reaches the server only through the API: neither it nor
// anything it imports is the server or the store.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed %d packages: %q", len(deps), deps)
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/eventlog/eventlog/server", "github.com/eventlog/eventlog/store", "github.com/eventlog/eventlog/cmd/"} {
			if d == banned || strings.HasPrefix(d, strings.TrimSuffix(banned, "/")+"/") {
				t.Errorf("the client imports %s", d)
			}
		}
	}
}
