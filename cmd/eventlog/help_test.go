package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/eventlog/eventlog/internal/version"
	"github.com/google/go-cmp/cmp"
)

// runOut runs the binary's run with no environment and returns what it
// printed on stdout and stderr.
func runOut(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// Every command's help lists its flags as --flag, as the documentation
// writes them, and "eventlog help COMMAND" prints the same.
func TestHelpEveryCommand(t *testing.T) {
	singleDash := regexp.MustCompile(`(?m)^\s+-[a-z]`)
	var cmds [][]string
	for _, c := range commands() {
		cmds = append(cmds, []string{c.name})
	}
	cmds = append(cmds, []string{"keys", "new"}, []string{"keys", "check"})
	for _, c := range cmds {
		t.Run(strings.Join(c, " "), func(t *testing.T) {
			out, help, err := runOut(append(c, "--help")...)
			if !errors.Is(err, flag.ErrHelp) || out != "" || !strings.HasPrefix(help, "Usage:\n  eventlog "+c[0]) {
				t.Fatalf("eventlog %s --help = %v, stdout %q, stderr:\n%s", strings.Join(c, " "), err, out, help)
			}
			if m := singleDash.FindString(help); m != "" {
				t.Errorf("eventlog %s --help lists a flag as %q, want --flag:\n%s", strings.Join(c, " "), m, help)
			}
			out, viaHelp, err := runOut(append([]string{"help"}, c...)...)
			if !errors.Is(err, flag.ErrHelp) || out != "" {
				t.Errorf("eventlog help %s = %v, stdout %q", strings.Join(c, " "), err, out)
			}
			if diff := cmp.Diff(help, viaHelp); diff != "" {
				t.Errorf("eventlog help %s differs from --help (-want +got):\n%s", strings.Join(c, " "), diff)
			}
		})
	}
	_, help, _ := runOut("list", "--help")
	for _, want := range []string{
		"\n  --source-id id\n        only entries propagated from the entry with this id; 0 for original entries only\n",
		"\n  --order order\n        order of ids: desc (newest first) or asc (default \"desc\")\n",
		"\n  --timeout duration\n        deadline of each call to the server; 0 for none (default 10s)\n",
		"\n  --all\n        follow the pages to the last one\n",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("eventlog list --help has no %q:\n%s", want, help)
		}
	}
	if _, _, err := runOut("help", "nosuch"); exitCode(err) != 2 || !strings.Contains(err.Error(), `unknown command "nosuch"`) {
		t.Errorf("eventlog help nosuch = %v, want a usage error naming it", err)
	}
	out, _, err := runOut("help")
	if err != nil || !strings.Contains(out, `Run "eventlog help COMMAND"`) || !strings.Contains(out, "  version ") {
		t.Errorf("eventlog help = %v:\n%s", err, out)
	}
}

// Mistakes on the command line name flags as --flag too.
func TestFlagErrorsNameFlagsWithTwoDashes(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "--nope"}, "flag provided but not defined: --nope (see eventlog list --help)"},
		{[]string{"list", "-nope"}, "flag provided but not defined: --nope (see eventlog list --help)"},
		{[]string{"list", "--limit", "ten"}, `invalid value "ten" for flag --limit: parse error (see eventlog list --help)`},
		{[]string{"list", "--limit", "-5", "--type"}, "flag needs an argument: --type (see eventlog list --help)"},
		{[]string{"list", "--all=maybe"}, `invalid boolean value "maybe" for --all: parse error (see eventlog list --help)`},
	} {
		_, _, err := runOut(tt.args...)
		if exitCode(err) != 2 || err.Error() != tt.want {
			t.Errorf("eventlog %q = %v, want the usage error %q", tt.args, err, tt.want)
		}
	}
}

// The example of "rules check --help" names a file that exists and passes.
func TestRulesHelpExample(t *testing.T) {
	f := strings.Fields(rulesHelp.example)
	if len(f) != 4 || f[1] != "rules" || f[2] != "check" {
		t.Fatalf("rules example %q: want eventlog rules check FILE", rulesHelp.example)
	}
	out, errOut, err := runOut("rules", "check", filepath.Join("..", "..", f[3]))
	if err != nil || !strings.Contains(out, "rules, ok") {
		t.Errorf("eventlog rules check %s (the example) = %v\n%s%s", f[3], err, out, errOut)
	}
}

func TestVersion(t *testing.T) {
	want := version.Get().Long()
	if !strings.HasPrefix(want, "eventlog ") || !strings.Contains(want, "built with go") {
		t.Fatalf("version.Get().Long() = %q", want)
	}
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		out, errOut, err := runOut(args...)
		if err != nil || out != want || errOut != "" {
			t.Errorf("eventlog %s = %v, stdout %q, stderr %q; want stdout %q", args[0], err, out, errOut, want)
		}
	}
	if _, _, err := runOut("version", "extra"); exitCode(err) != 2 {
		t.Errorf("eventlog version extra = %v, want a usage error", err)
	}
}

// The served OpenAPI description carries the binary's version.
func TestServeOpenAPIVersion(t *testing.T) {
	ts := startServer(t, filepath.Join(t.TempDir(), "log.db"))
	resp, err := http.Get(ts.http + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var doc struct {
		Info struct{ Version string } `json:"info"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("GET /openapi.json: %v\n%s", err, body)
	}
	if want := version.Get().String(); doc.Info.Version != want {
		t.Errorf("GET /openapi.json: info.version %q, want the binary's %q", doc.Info.Version, want)
	}
	if !strings.Contains(ts.logs.String(), "version="+version.Get().String()) {
		t.Errorf("the start-up line does not name the version:\n%s", ts.logs)
	}
}

// "eventlog health" succeeds against a serving server, with API keys and
// no token, and fails, with status 1, against one that does not answer.
func TestHealthCommand(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	writeKeys(t, keys, "admin=admin")
	ts := startServer(t, filepath.Join(dir, "log.db"), "--keys", keys)
	for _, args := range [][]string{
		{"health", "--server", ts.addr},
		{"health", "--server", ts.addr, "--service", "eventlog.v1.EventLogService"},
	} {
		out, err := cli(t, nil, args...)
		if err != nil || out != "SERVING\n" {
			t.Errorf("eventlog %q = %v, %q; want SERVING", args, err, out)
		}
	}
	out, err := cli(t, map[string]string{"EVENTLOG_SERVER": ts.addr}, "health", "--service", "no.such.Service")
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("eventlog health --service no.such.Service = %v (exit %d), want NotFound with status 1\n%s", err, exitCode(err), out)
	}
	addr := ts.addr
	ts.stop(t)
	if out, err := cli(t, nil, "health", "--server", addr, "--timeout", "2s"); exitCode(err) != 1 || !strings.Contains(err.Error(), "health of "+addr) {
		t.Errorf("eventlog health of a stopped server = %v (exit %d), want a failure with status 1\n%s", err, exitCode(err), out)
	}
}
