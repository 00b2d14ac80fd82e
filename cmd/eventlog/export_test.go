package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/eventlog/eventlog/gateway"
	"github.com/eventlog/eventlog/internal/pgtest"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

func TestExportSQLite(t *testing.T) { testExport(t, filepath.Join(t.TempDir(), "export.db")) }

func TestExportPostgres(t *testing.T) { testExport(t, pgtest.NewDB(t, pgtest.URL(t))) }

// exportResponse is an export read whole, with its trailers.
type exportResponse struct {
	status  int
	header  http.Header
	body    string
	trailer http.Header
}

func getExport(t *testing.T, base, query, token string) exportResponse {
	t.Helper()
	req, err := http.NewRequest("GET", base+gateway.ExportPath+"?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return exportResponse{resp.StatusCode, resp.Header, string(b), resp.Trailer}
}

// 2,500 entries, so that an export takes several pages; every seventh
// by "=cmd|' /C calc'!A0", a formula.
const exportEntries = 2500

func exportActor(i int) string {
	if i%7 == 0 {
		return "=cmd|' /C calc'!A0"
	}
	return fmt.Sprintf("user-%d", i%3)
}

func testExport(t *testing.T, db string) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	tokens := writeKeys(t, keys, "reader=read", "writer=write")
	ts := startServer(t, db, "--keys", keys)
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	ctx := withToken(context.Background(), tokens["writer"])
	for start := 0; start < exportEntries; start += 1000 {
		req := &eventlogv1.LogEventsRequest{View: eventlogv1.EventView_EVENT_VIEW_BASIC}
		for i := start; i < min(start+1000, exportEntries); i++ {
			e := newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, exportActor(i), "Entry", strconv.Itoa(i))
			e.Details = details(t, map[string]any{"note": "a, \"quoted\"\nline", "i": i})
			req.Requests = append(req.Requests, &eventlogv1.LogEventRequest{Event: e})
		}
		if _, err := c.LogEvents(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	reader := tokens["reader"]

	t.Run("Access", func(t *testing.T) {
		for who, want := range map[string]int{"": 401, "writer": 403, "reader": 200} {
			if r := getExport(t, ts.http, "format=csv&actor=nobody", tokens[who]); r.status != want {
				t.Errorf("export as %q = %d, want %d", who, r.status, want)
			}
		}
	})

	t.Run("BadQueries", func(t *testing.T) {
		for _, q := range []string{"format=xml", "format=csv&format=jsonl", "page_size=10", "pageToken=x", "order_by=id+desc",
			"actr=alice", "after_id=-1", "event_type=bogus", "start_time=yesterday"} {
			if r := getExport(t, ts.http, q, reader); r.status != 400 || !strings.Contains(r.body, `"code":3`) {
				t.Errorf("export?%s = %d %s, want 400 INVALID_ARGUMENT", q, r.status, r.body)
			}
		}
	})

	t.Run("CSV", func(t *testing.T) {
		r := getExport(t, ts.http, "format=csv", reader)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("export?format=csv = %d %s", r.status, r.header.Get("Content-Type"))
		}
		if !strings.Contains(r.body, "\r\n") {
			t.Error("CSV lines do not end in CRLF (RFC 4180)")
		}
		rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatalf("the export does not parse as CSV: %v", err)
		}
		if len(rows) != exportEntries+1 || strings.Join(rows[0], ",") != strings.Join(gateway.CSVHeader, ",") {
			t.Fatalf("%d rows, first %q; want the header and %d entries", len(rows), rows[0], exportEntries)
		}
		col := func(name string) int {
			for i, h := range rows[0] {
				if h == name {
					return i
				}
			}
			t.Fatalf("no column %s", name)
			return -1
		}
		for i, row := range rows[1:] {
			if row[col("id")] != strconv.Itoa(i+1) {
				t.Fatalf("row %d has id %s, want %d: oldest first, none missing", i+1, row[col("id")], i+1)
			}
			want := exportActor(i)
			if strings.HasPrefix(want, "=") {
				want = "'" + want
			}
			if got := row[col("actor_name")]; got != want {
				t.Fatalf("row %d actor_name %q, want %q", i+1, got, want)
			}
			if got := row[col("actor_kind")]; got != "ACTOR_KIND_USER" {
				t.Fatalf("row %d actor_kind %q, want ACTOR_KIND_USER", i+1, got)
			}
			var d map[string]any
			if err := json.Unmarshal([]byte(row[col("details")]), &d); err != nil || d["note"] != "a, \"quoted\"\nline" {
				t.Fatalf("row %d details %q (%v): want the JSON sent", i+1, row[col("details")], err)
			}
		}
		lastHash := rows[len(rows)-1][col("hash")]
		if r.trailer.Get(gateway.TrailerComplete) != "true" || r.trailer.Get(gateway.TrailerCount) != strconv.Itoa(exportEntries) ||
			r.trailer.Get(gateway.TrailerLastID) != strconv.Itoa(exportEntries) || r.trailer.Get(gateway.TrailerLastHash) != lastHash {
			t.Errorf("trailers %v, want complete, count and last id %d, last hash %s", r.trailer, exportEntries, lastHash)
		}
	})

	t.Run("JSONLinesFilteredAndResumed", func(t *testing.T) {
		r := getExport(t, ts.http, "actor=user-1&after_id=1000", reader)
		if r.status != 200 {
			t.Fatalf("export = %d %s", r.status, r.body)
		}
		sc := bufio.NewScanner(strings.NewReader(r.body))
		sc.Buffer(nil, 1<<20)
		var ids []int64
		var end struct {
			Export struct {
				Complete bool   `json:"complete"`
				Count    string `json:"count"`
				LastID   string `json:"lastId"`
				LastHash []byte `json:"lastHash"`
			} `json:"export"`
		}
		var lastHash []byte
		for sc.Scan() {
			line := sc.Bytes()
			if strings.HasPrefix(string(line), `{"export":`) {
				if err := json.Unmarshal(line, &end); err != nil {
					t.Fatal(err)
				}
				continue
			}
			var e struct {
				ID    string `json:"id"`
				Actor struct {
					Name string `json:"name"`
				} `json:"actor"`
				Hash []byte `json:"hash"`
			}
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			id, _ := strconv.ParseInt(e.ID, 10, 64)
			if id <= 1000 || e.Actor.Name != "user-1" {
				t.Fatalf("entry %d by %q in an export of user-1 after 1000", id, e.Actor.Name)
			}
			ids = append(ids, id)
			lastHash = e.Hash
		}
		var want []int64
		for i := 1000; i < exportEntries; i++ {
			if exportActor(i) == "user-1" {
				want = append(want, int64(i+1))
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Fatalf("exported %d entries, want %d (ids %v...)", len(ids), len(want), ids[:min(5, len(ids))])
		}
		if !end.Export.Complete || end.Export.Count != strconv.Itoa(len(want)) || end.Export.LastID != strconv.FormatInt(want[len(want)-1], 10) ||
			hex.EncodeToString(end.Export.LastHash) != hex.EncodeToString(lastHash) {
			t.Errorf("end line %+v, want complete with %d entries, the last %d", end.Export, len(want), want[len(want)-1])
		}
	})

	t.Run("Command", func(t *testing.T) {
		env := map[string]string{"EVENTLOG_SERVER": ts.addr, "EVENTLOG_TOKEN": reader}
		full := getExport(t, ts.http, "format=csv", reader).body
		out := filepath.Join(t.TempDir(), "audit.csv")
		if msg, err := cli(t, env, "export", "--format", "csv", "--out", out); err != nil {
			t.Fatalf("export: %v\n%s", err, msg)
		}
		if got := readFile(t, out); got != full {
			t.Errorf("export --format csv wrote %d bytes, want the %d of GET %s?format=csv", len(got), len(full), gateway.ExportPath)
		}
		if _, err := cli(t, env, "export", "--format", "csv", "--out", out); err == nil || !strings.Contains(err.Error(), "exists") {
			t.Errorf("export to an existing --out without --after-id = %v; want it refused", err)
		}

		// Resume: a file cut after the entry 1234 is completed from there.
		lines := strings.SplitAfter(full, "\r\n")
		part := filepath.Join(t.TempDir(), "part.csv")
		writeFile(t, part, strings.Join(lines[:1+1234], ""))
		if msg, err := cli(t, env, "export", "--format", "csv", "--out", part, "--after-id", "1234"); err != nil {
			t.Fatalf("export --after-id 1234: %v\n%s", err, msg)
		}
		if got := readFile(t, part); got != full {
			t.Errorf("the resumed file has %d bytes, want the %d of a whole export", len(got), len(full))
		}

		// JSON lines, with a filter, on standard output.
		got, err := cli(t, env, "export", "--actor", "user-1")
		if err != nil {
			t.Fatalf("export --actor user-1: %v\n%s", err, got)
		}
		want := getExport(t, ts.http, "actor=user-1", reader).body
		want = want[:strings.LastIndex(strings.TrimSuffix(want, "\n"), "\n")+1] // without the end line
		if got != want {
			t.Errorf("export --actor user-1 printed %d bytes, want the %d entries' lines of the HTTP export", len(got), len(want))
		}

		// A refused export says how to resume.
		env["EVENTLOG_TOKEN"] = tokens["writer"]
		if _, err := cli(t, env, "export", "--out", filepath.Join(t.TempDir(), "x.jsonl"), "--after-id", "7"); err == nil || !strings.Contains(err.Error(), "--after-id 7") {
			t.Errorf("export with a writer's key = %v; want an error saying to resume with --after-id 7", err)
		}
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
