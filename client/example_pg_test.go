package client_test

import (
	"go/doc"
	"go/parser"
	"go/token"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/eventlog/eventlog/internal/pgtest"
)

// The examples run as examples on SQLite; this runs each again on
// PostgreSQL and compares its output with the one its comment promises.
func TestExamplesOnPostgres(t *testing.T) {
	server := pgtest.URL(t)
	examples := map[string]func(){
		"":                     Example,
		"Client_NewLogger":     ExampleClient_NewLogger,
		"Client_List":          ExampleClient_List,
		"Client_Follow":        ExampleClient_Follow,
		"Client_Verify":        ExampleClient_Verify,
		"Dial_invalidArgument": ExampleDial_invalidArgument,
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "example_test.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, ex := range doc.Examples(f) {
		run, ok := examples[ex.Name]
		if !ok {
			t.Errorf("Example%s is not run on PostgreSQL: add it to the table", ex.Name)
			continue
		}
		found++
		t.Run("Example"+ex.Name, func(t *testing.T) {
			exampleDSN = func() string { return pgtest.NewDB(t, server) }
			defer func() { exampleDSN = nil }()
			got := captureStdout(t, run)
			if strings.TrimSpace(got) != strings.TrimSpace(ex.Output) {
				t.Errorf("output:\n%s\nwant:\n%s", got, ex.Output)
			}
		})
	}
	if found != len(examples) {
		t.Errorf("%d examples in example_test.go, %d in the table", found, len(examples))
	}
}

// captureStdout returns what run writes to standard output.
func captureStdout(t *testing.T, run func()) string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	defer func() { os.Stdout = saved }()
	run()
	w.Close()
	os.Stdout = saved
	return <-out
}
