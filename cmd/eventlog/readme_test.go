package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readme returns the README's text.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// shBlock returns the README's sh code block that contains s.
func shBlock(t *testing.T, text, s string) string {
	t.Helper()
	for _, part := range strings.Split(text, "```sh\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		if strings.Contains(block, s) {
			return block
		}
	}
	t.Fatalf("the README has no sh block with %q", s)
	return ""
}

// The README's examples give each action its own idempotency key: a key
// used twice returns the first entry, and the second example would
// silently show the first one's.
func TestREADMEIdempotencyKeysDistinct(t *testing.T) {
	seen := map[string]int{}
	for _, m := range regexp.MustCompile(`"idempotencyKey": "([^"]+)"`).FindAllStringSubmatch(readme(t), -1) {
		seen[m[1]]++
	}
	if len(seen) == 0 {
		t.Fatal("the README has no idempotency key in its examples")
	}
	for key, n := range seen {
		if n > 1 {
			t.Errorf("the README's examples use the idempotency key %q %d times", key, n)
		}
	}
}

// The propagation example runs as written: its commands work, "log"
// prints the lines the README shows (times and ids aside), and the id
// given to --source-id is the one the README showed for the entry.
func TestREADMEPropagationExample(t *testing.T) {
	block := shBlock(t, readme(t), "./eventlog relate ")
	var cmds [][]string
	for _, line := range strings.Split(block, "\n") {
		if cmd, ok := strings.CutPrefix(strings.TrimSpace(line), "./eventlog "); ok {
			cmd, _, _ = strings.Cut(cmd, "#")
			cmds = append(cmds, strings.Fields(cmd))
		}
	}
	shown := shownLines(block)
	ids := regexp.MustCompile(`id=(\d+) .*?(?:source=(\d+))?$`)
	if len(shown) != 2 {
		t.Fatalf("the README shows %q after log, want the entry and its child", shown)
	}
	entry, child := ids.FindStringSubmatch(shown[0]), ids.FindStringSubmatch(shown[1])
	if entry == nil || child == nil || child[2] != entry[1] {
		t.Fatalf("the README shows %q: want the child's source= to be the entry's id=", shown)
	}
	normalize := func(s string) string {
		s = regexp.MustCompile(`\[[^\]]+\]`).ReplaceAllString(s, "[TIME]")
		s = regexp.MustCompile(`id=\d+`).ReplaceAllString(s, "id=N")
		return regexp.MustCompile(`source=\d+`).ReplaceAllString(s, "source=N")
	}

	ts := startServer(t, filepath.Join(t.TempDir(), "readme.db"))
	env := map[string]string{"EVENTLOG_SERVER": ts.addr}
	realEntry := ""
	for _, args := range cmds {
		for i := range args {
			if i > 0 && args[i-1] == "--source-id" {
				if args[i] != entry[1] {
					t.Errorf("the README lists --source-id %s, but the entry it showed is id=%s", args[i], entry[1])
				}
				args[i] = realEntry
			}
		}
		out, err := cli(t, env, args...)
		if err != nil {
			t.Fatalf("eventlog %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		switch {
		case args[0] == "log":
			got := strings.Split(strings.TrimSpace(out), "\n")
			if len(got) != 2 || normalize(got[0]) != normalize(shown[0]) || normalize(got[1]) != normalize(shown[1]) {
				t.Errorf("eventlog %s printed\n%s\nthe README shows\n%s", strings.Join(args, " "), out, strings.Join(shown, "\n"))
			}
			if m := ids.FindStringSubmatch(got[0]); m != nil {
				realEntry = m[1]
			}
		case slices.Contains(args, "--source-id"), slices.Contains(args, "--object"):
			if !strings.Contains(out, `"objectId":"e1"`) || !strings.Contains(out, `"sourceId":"`+realEntry+`"`) {
				t.Errorf("eventlog %s printed no child of entry %s on Entity/e1:\n%s", strings.Join(args, " "), realEntry, out)
			}
		}
	}
	if len(cmds) < 6 || realEntry == "" {
		t.Errorf("ran %q: want the README's relate, relations, log, list and unrelate", cmds)
	}
}

// shownLines returns the output lines a block shows, without the
// explanations after them.
func shownLines(block string) []string {
	var out []string
	for _, line := range strings.Split(block, "\n") {
		if l, ok := strings.CutPrefix(strings.TrimSpace(line), "# - "); ok {
			l, _, _ = strings.Cut("- "+l, "   ")
			out = append(out, l)
		}
	}
	return out
}
