package client_test

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
	"github.com/eventlog/eventlog/server"
	"golang.org/x/mod/sumdb/note"
)

func testKeys(t testing.TB, name string) (note.Signer, note.Verifier) {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func sign(t testing.TB, s note.Signer, text string) string {
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	return string(msg)
}

func TestParseCheckpoint(t *testing.T) {
	s, v := testKeys(t, "log.example/a")
	other, _ := testKeys(t, "log.example/a")
	_, otherName := testKeys(t, "log.example/b")
	root := make([]byte, 32)
	root[0] = 7
	good := server.CheckpointText("log.example/a", eventlog.TreeHead{Size: 42, Root: root})
	cp, err := client.ParseCheckpoint(sign(t, s, good), v)
	if err != nil || cp.Size != 42 || cp.Origin != "log.example/a" || cp.Root[0] != 7 {
		t.Fatalf("ParseCheckpoint(good) = %+v, %v", cp, err)
	}
	for _, tt := range []struct {
		name, note string
		v          note.Verifier
	}{
		{"signed by another key", sign(t, other, good), v},
		{"verifier of another log", sign(t, s, good), otherName},
		{"another origin", sign(t, s, strings.Replace(good, "log.example/a", "log.example/z", 1)), v},
		{"negative size", sign(t, s, "log.example/a\n-1\n"+base64.StdEncoding.EncodeToString(root)+"\n"), v},
		{"short root", sign(t, s, "log.example/a\n1\nAAAA\n"), v},
		{"missing root", sign(t, s, "log.example/a\n1\n"), v},
		{"changed after signing", strings.Replace(sign(t, s, good), "\n42\n", "\n43\n", 1), v},
	} {
		if _, err := client.ParseCheckpoint(tt.note, tt.v); err == nil {
			t.Errorf("ParseCheckpoint(%s) = nil error", tt.name)
		}
	}
}

// ParseCheckpoint never panics and accepts only what the key signed.
func FuzzParseCheckpoint(f *testing.F) {
	s, v := testKeys(f, "log.example/a")
	root := make([]byte, 32)
	f.Add(sign(f, s, server.CheckpointText("log.example/a", eventlog.TreeHead{Size: 3, Root: root})))
	f.Add("log.example/a\n3\nAAAA\n\n— log.example/a x\n")
	f.Fuzz(func(t *testing.T, text string) {
		cp, err := client.ParseCheckpoint(text, v)
		if err != nil {
			return
		}
		if cp.Size < 0 || len(cp.Root) != 32 || cp.Origin != "log.example/a" {
			t.Fatalf("accepted %q as %+v", text, cp)
		}
	})
}
