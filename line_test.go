package eventlog

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var lineTime = time.Date(2026, time.January, 2, 15, 4, 5, 123456000, time.UTC)

func TestLineString(t *testing.T) {
	tests := []struct {
		name string
		line Line
		want string
	}{
		{
			name: "full",
			line: Line{
				RemoteAddr: "203.0.113.7", User: "alice", Time: lineTime,
				Method: "POST", Path: "/v1/events?x=1", Protocol: "HTTP/1.1",
				Status: 201, UserAgent: "curl/8.5.0", Message: "id=17 CREATE Entry/42",
			},
			want: `203.0.113.7 - alice [02/Jan/2026:15:04:05 +0000] "POST /v1/events?x=1 HTTP/1.1" 201 "curl/8.5.0" id=17 CREATE Entry/42`,
		},
		{
			name: "empty",
			line: Line{},
			want: `- - - [-] "- - -" - "-" -`,
		},
		{
			name: "time in another zone is rendered in UTC",
			line: Line{Time: time.Date(2026, 1, 2, 23, 30, 0, 0, time.FixedZone("", 9*3600))},
			want: `- - - [02/Jan/2026:14:30:00 +0000] "- - -" - "-" -`,
		},
		{
			name: "negative status is missing",
			line: Line{Status: -1},
			want: `- - - [-] "- - -" - "-" -`,
		},
		{
			name: "space in remote, user and request line parts",
			line: Line{RemoteAddr: "a b", User: "Alice Smith", Method: "GE T", Path: "/a b", Protocol: "HTTP/1.1 x"},
			want: `a\x20b - Alice\x20Smith [-] "GE\x20T /a\x20b HTTP/1.1\x20x" - "-" -`,
		},
		{
			name: "dash is not missing",
			line: Line{RemoteAddr: "-", User: "-", Method: "-", Path: "-", Protocol: "-", UserAgent: "-", Message: "-"},
			want: `\x2D - \x2D [-] "\x2D \x2D \x2D" - "\x2D" \x2D`,
		},
		{
			name: "quotes and backslashes",
			line: Line{User: `a"b\c`, Path: `/"x"`, UserAgent: `Mozilla "5.0" \o/`, Message: `say "hi" \ bye`},
			want: `- - a\x22b\x5Cc [-] "- /\x22x\x22 -" - "Mozilla \x225.0\x22 \x5Co/" say "hi" \x5C bye`,
		},
		{
			name: "control characters",
			line: Line{User: "a\tb", UserAgent: "x\r\ny\x00\x7f", Message: "one\ntwo\x1b[31m"},
			want: `- - a\x09b [-] "- - -" - "x\x0D\x0Ay\x00\x7F" one\x0Atwo\x1B[31m`,
		},
		{
			name: "printable unicode is kept",
			line: Line{User: "zoë", Path: "/wiki/日本", UserAgent: "браузер ✓", Message: "naïve café 🎉"},
			want: `- - zoë [-] "- /wiki/日本 -" - "браузер ✓" naïve café 🎉`,
		},
		{
			name: "invalid UTF-8",
			line: Line{User: "a\xffb", UserAgent: "\xc3(", Message: "\xe2\x82"},
			want: `- - a\xFFb [-] "- - -" - "\xC3(" \xE2\x82`,
		},
		{
			name: "non-printable runes",
			// line separator, no-break space, right-to-left override, zero-width space
			line: Line{User: "a\u00a0b", UserAgent: "x\u2028y", Message: "abc\u202edef\u200b"},
			want: `- - a\xC2\xA0b [-] "- - -" - "x\xE2\x80\xA8y" abc\xE2\x80\xAEdef\xE2\x80\x8B`,
		},
		{
			name: "brackets in user",
			line: Line{User: "[root]"},
			want: `- - [root] [-] "- - -" - "-" -`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.line.String(); got != tt.want {
				t.Errorf("%#v.String() =\n%s\nwant\n%s", tt.line, got, tt.want)
			}
			prefix := []byte("log: ")
			if got := string(tt.line.AppendTo(prefix)); got != "log: "+tt.want {
				t.Errorf("AppendTo(%q) = %q, want %q", prefix, got, "log: "+tt.want)
			}
		})
	}
}

func TestEventLineMessage(t *testing.T) {
	tests := []struct {
		name  string
		event Event
		want  string
	}{
		{
			name:  "original without repr",
			event: Event{ID: 17, Type: TypeCreate, ContentType: "Entry", ObjectID: "42"},
			want:  "id=17 CREATE Entry/42",
		},
		{
			name:  "repr and source",
			event: Event{ID: 18, Type: TypeEdit, ContentType: "Entry", ObjectID: "42", ObjectRepr: "Foo", SourceID: 12},
			want:  `id=18 EDIT Entry/42 "Foo" source=12`,
		},
		{
			name:  "quotes in repr are doubled",
			event: Event{ID: 1, Type: TypeEdit, ContentType: "Entry", ObjectID: "42", ObjectRepr: `say "hi"`},
			want:  `id=1 EDIT Entry/42 "say ""hi"""`,
		},
		{
			name:  "object id with slashes",
			event: Event{ID: 2, Type: TypeFetch, ContentType: "File", ObjectID: "a/b/c"},
			want:  "id=2 FETCH File/a/b/c",
		},
		{
			name:  "object with a space is quoted",
			event: Event{ID: 3, Type: TypeDelete, ContentType: "Entry", ObjectID: "my id", SourceID: 2},
			want:  `id=3 DELETE "Entry/my id" source=2`,
		},
		{
			name:  "object with a quote is quoted",
			event: Event{ID: 4, Type: TypeDelete, ContentType: "Entry", ObjectID: `4"2`},
			want:  `id=4 DELETE "Entry/4""2"`,
		},
		{
			name:  "nothing",
			event: Event{},
			want:  "id=0 UNSPECIFIED -/-",
		},
		{
			name:  "login",
			event: Event{ID: 5, Type: TypeLoginFailed, ContentType: "User", ObjectID: "7"},
			want:  "id=5 LOGIN_FAILED User/7",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EventLine(&tt.event).Message; got != tt.want {
				t.Errorf("EventLine(%+v).Message = %q, want %q", tt.event, got, tt.want)
			}
		})
	}
}

func TestEventLineUser(t *testing.T) {
	tests := []struct {
		name  string
		actor Actor
		want  string
	}{
		{"name", Actor{ID: "42", Name: "alice", Kind: ActorUser}, "alice"},
		{"id when no name", Actor{ID: "svc-7", Kind: ActorService}, "svc-7"},
		{"none", Actor{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EventLine(&Event{Actor: tt.actor}).User; got != tt.want {
				t.Errorf("EventLine(actor %+v).User = %q, want %q", tt.actor, got, tt.want)
			}
		})
	}
}

func TestLineGolden(t *testing.T) {
	request := Request{
		RemoteAddr: "203.0.113.7",
		Method:     "POST",
		Path:       "/api/v1/entries/42?expand=true",
		Protocol:   "HTTP/1.1",
		Status:     201,
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
		RequestID:  "req-abc",
	}
	tests := []struct {
		name  string
		event Event
	}{
		{
			name: "full",
			event: Event{
				ID: 17, Time: lineTime, OccurredTime: lineTime.Add(-time.Second),
				Type:        TypeCreate,
				Actor:       Actor{ID: "42", Name: "alice", Kind: ActorUser},
				ContentType: "Entry", ObjectID: "42", ObjectRepr: "Foo",
				Details: []byte(`{"field":"name"}`), Request: request,
				IdempotencyKey: "k1",
			},
		},
		{
			name:  "missing",
			event: Event{},
		},
		{
			name: "user_agent_escaped",
			event: Event{
				ID: 18, Time: lineTime, Type: TypeFetch,
				Actor:       Actor{ID: "7"},
				ContentType: "Entry", ObjectID: "42",
				Request: Request{
					RemoteAddr: "2001:db8::1", Method: "GET", Path: "/entries/42", Protocol: "HTTP/2.0", Status: 200,
					UserAgent: "evil \"agent\"\n203.0.113.9 - root [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 \"-\" forged",
				},
			},
		},
		{
			name: "unicode",
			event: Event{
				ID: 19, Time: lineTime.In(time.FixedZone("JST", 9*3600)), Type: TypeEdit,
				Actor:       Actor{Name: "zoë 山田"},
				ContentType: "Entry", ObjectID: "über/7", ObjectRepr: "Café «Straße» \u202egnp.exe",
				Request: Request{Method: "PUT", Path: "/wiki/日本", Protocol: "HTTP/1.1", Status: 204, UserAgent: "браузер/1.0"},
			},
		},
		{
			name: "propagated",
			event: Event{
				ID: 20, Time: lineTime, Type: TypeEdit,
				Actor:       Actor{ID: "42", Name: "alice", Kind: ActorUser},
				ContentType: "Relation", ObjectID: "9", ObjectRepr: `Foo -> "Bar"`,
				SourceID: 17,
				Request:  request,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EventLine(&tt.event).String() + "\n"
			path := filepath.Join("testdata", "line", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestLineGolden -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("EventLine(%s).String() =\n%s\nwant (%s)\n%s", tt.name, got, path, want)
			}
		})
	}
}

// lineRE matches a rendered Line, one group per field.
var lineRE = regexp.MustCompile(`^(\S+) - (\S+) \[(-|\d\d/[A-Z][a-z][a-z]/-?\d{4,}:\d\d:\d\d:\d\d \+0000)\] "(\S+) (\S+) (\S+)" (-|[1-9]\d*) "([^"]*)" (.+)$`)

// unescapeField reverses the escaping of a field ("-" reads as empty); ok is
// false when s holds a backslash that does not start an \xHH escape or, in
// a field other than the message, an unescaped double quote.
func unescapeField(s string, message bool) (out string, ok bool) {
	if s == "-" {
		return "", true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+4 > len(s) || s[i+1] != 'x' || strings.ToUpper(s[i+2:i+4]) != s[i+2:i+4] {
				return "", false
			}
			n, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteByte(byte(n))
			i += 3
		case c == '"' && !message:
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

func FuzzLine(f *testing.F) {
	f.Add("203.0.113.7", "alice", int64(1767366245), "POST", "/v1/events", "HTTP/1.1", 201, "curl/8.5.0", "id=17 CREATE Entry/42")
	f.Add("", "", int64(0), "", "", "", 0, "", "")
	f.Add("-", "a b", int64(-1), "G\"T", "/\\", "\n", -5, "a\"\nb", "x\ny\r\u2028\xff")
	f.Add("[::1]:80", "[root]", int64(253402300799), "]", "\"", " ", 99999, "\\x41", "\\")
	f.Fuzz(func(t *testing.T, remote, user string, sec int64, method, path, protocol string, status int, ua, msg string) {
		// Keep the time within years 1 to 9999, which the layout renders
		// as four digits; 0 stands for the zero Time.
		var tm time.Time
		if sec != 0 {
			const first, last = -62135596800, 253402300799
			if sec < first || sec > last {
				sec = first + (sec%(last-first)+(last-first))%(last-first)
			}
			tm = time.Unix(sec, 0)
		}
		l := Line{RemoteAddr: remote, User: user, Time: tm, Method: method, Path: path, Protocol: protocol, Status: status, UserAgent: ua, Message: msg}
		s := l.String()
		if strings.ContainsAny(s, "\n\r") {
			t.Fatalf("line %q contains a newline", s)
		}
		if !utf8.ValidString(s) {
			t.Fatalf("line %q is not valid UTF-8", s)
		}
		m := lineRE.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("line %q does not have the fields of a line", s)
		}
		fields := []struct {
			name    string
			got     string
			want    string
			message bool
		}{
			{"remote", m[1], remote, false},
			{"user", m[2], user, false},
			{"method", m[4], method, false},
			{"path", m[5], path, false},
			{"protocol", m[6], protocol, false},
			{"user agent", m[8], ua, false},
			{"message", m[9], msg, true},
		}
		for _, fl := range fields {
			got, ok := unescapeField(fl.got, fl.message)
			if !ok || got != fl.want {
				t.Errorf("line %q: %s field %q reads back as %q (ok %v), want %q", s, fl.name, fl.got, got, ok, fl.want)
			}
		}
		if tm.IsZero() {
			if m[3] != "-" {
				t.Errorf("line %q: time %q, want -", s, m[3])
			}
		} else if got, err := time.Parse(LineTimeFormat, m[3]); err != nil || !got.Equal(tm) {
			t.Errorf("line %q: time %q reads back as %v (%v), want %v", s, m[3], got, err, tm)
		}
		wantStatus := "-"
		if status > 0 {
			wantStatus = strconv.Itoa(status)
		}
		if m[7] != wantStatus {
			t.Errorf("line %q: status %q, want %q", s, m[7], wantStatus)
		}
	})
}
