package eventlog_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The direction of imports, written down: the domain package imports only
// the standard library; nothing imports the binaries under cmd/; the client
// that services import reaches the server only through the API, never
// through its packages; the store and the propagation rules never import
// gRPC; the web console reads through the REST API only.
func TestImportDirection(t *testing.T) {
	const module = "github.com/eventlog/eventlog"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rules := []struct {
		pkg    func(string) bool
		banned func(string) bool
		why    string
	}{
		{
			func(p string) bool { return p == module },
			func(imp string) bool { first, _, _ := strings.Cut(imp, "/"); return strings.Contains(first, ".") },
			"the domain package imports only the standard library",
		},
		{
			func(p string) bool { return !strings.HasPrefix(p, module+"/cmd/") },
			func(imp string) bool { return strings.HasPrefix(imp, module+"/cmd/") },
			"only cmd/ may import cmd/",
		},
		{
			func(p string) bool { return p == module+"/client" || strings.HasPrefix(p, module+"/client/") },
			func(imp string) bool {
				return imp == module+"/server" || imp == module+"/store" || strings.HasPrefix(imp, module+"/server/") || strings.HasPrefix(imp, module+"/store/")
			},
			"the client reaches the server through the API only",
		},
		{
			func(p string) bool { return p == module+"/console" },
			func(imp string) bool { first, _, _ := strings.Cut(imp, "/"); return strings.Contains(first, ".") },
			"the console reads through the REST API only: it imports only the standard library",
		},
		{
			func(p string) bool { return p == module+"/store" || p == module+"/propagation" },
			func(imp string) bool { return strings.HasPrefix(imp, "google.golang.org/grpc") },
			"storage and propagation know nothing of gRPC",
		},
	}
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := fields[0]
		for _, r := range rules {
			if !r.pkg(pkg) {
				continue
			}
			checked++
			for _, imp := range fields[1:] {
				if r.banned(imp) {
					t.Errorf("%s imports %s: %s", pkg, imp, r.why)
				}
			}
		}
	}
	if checked < 4 {
		t.Fatalf("only %d packages checked: go list printed\n%s", checked, out)
	}
}
