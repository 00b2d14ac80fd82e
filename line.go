package eventlog

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// LineTimeFormat is the layout of the time in a Line, nginx's $time_local.
// Lines always carry the zone offset and are rendered in UTC ("+0000").
const LineTimeFormat = "02/Jan/2006:15:04:05 -0700"

// Line is one line in the nginx-style format that eventlog uses for entries
// and for its access log:
//
//	REMOTE - USER [TIME] "METHOD PATH PROTOCOL" STATUS "USER_AGENT" MESSAGE
//
// for example
//
//	203.0.113.7 - alice [02/Jan/2026:15:04:05 +0000] "POST /entries/42 HTTP/1.1" 201 "curl/8.5.0" id=17 EDIT Entry/42 "Foo"
//
// A field that is missing is written "-": an empty string, a Status of zero
// or less, a zero Time (as "[-]"). The request line always has its three
// parts and the user agent is always quoted, so every line has the same
// fields in the same places.
//
// Escaping follows nginx (log_format escape=default): an escaped byte is
// written as \xHH, a backslash, an "x" and two upper-case hex digits, and
// reading a field back means replacing every \xHH with its byte. Escaped in
// every field are the backslash (\x5C), the double quote (\x22), the ASCII
// control characters and DEL, every byte of invalid UTF-8 and every byte of a
// rune that is not printable (strconv.IsPrint: this covers line and
// paragraph separators, non-ASCII spaces, bidirectional controls and
// zero-width characters, which could disguise a line). Printable non-ASCII
// text is kept as it is. In REMOTE, USER, METHOD, PATH and PROTOCOL the space
// is escaped too (\x20), so that none of them can split into two fields. A
// value that is exactly "-" is written \x2D, so that it cannot be mistaken
// for a missing one.
//
// MESSAGE is free text and runs to the end of the line. It is escaped like
// the other fields, except that spaces and double quotes are kept: nothing
// follows the message, so neither can end a field early, and keeping them
// lets the message quote its own values (EventLine does). A line never
// contains a newline or any other control character, and is always valid
// UTF-8.
type Line struct {
	RemoteAddr string
	User       string
	Time       time.Time
	Method     string
	Path       string
	Protocol   string
	Status     int
	UserAgent  string
	Message    string
}

// String returns the line, without a trailing newline.
func (l Line) String() string {
	return string(l.AppendTo(make([]byte, 0, 128+len(l.Path)+len(l.UserAgent)+len(l.Message))))
}

// AppendTo appends the line to b, without a trailing newline, and returns
// the extended buffer.
func (l Line) AppendTo(b []byte) []byte {
	b = appendField(b, l.RemoteAddr, escapeToken)
	b = append(b, " - "...)
	b = appendField(b, l.User, escapeToken)
	b = append(b, " ["...)
	if l.Time.IsZero() {
		b = append(b, '-')
	} else {
		b = appendLineTime(b, l.Time)
	}
	b = append(b, "] \""...)
	b = appendField(b, l.Method, escapeToken)
	b = append(b, ' ')
	b = appendField(b, l.Path, escapeToken)
	b = append(b, ' ')
	b = appendField(b, l.Protocol, escapeToken)
	b = append(b, "\" "...)
	if l.Status > 0 {
		b = strconv.AppendInt(b, int64(l.Status), 10)
	} else {
		b = append(b, '-')
	}
	b = append(b, " \""...)
	b = appendField(b, l.UserAgent, escapeQuoted)
	b = append(b, "\" "...)
	b = appendField(b, l.Message, escapeMessage)
	return b
}

// escapeMode says which printable ASCII characters a field escapes besides
// the backslash.
type escapeMode uint8

const (
	escapeToken   escapeMode = iota // also the double quote and the space
	escapeQuoted                    // also the double quote
	escapeMessage                   // nothing else
)

// appendField appends s escaped as described on Line, "-" when s is empty.
func appendField(b []byte, s string, mode escapeMode) []byte {
	switch s {
	case "":
		return append(b, '-')
	case "-":
		return appendHexByte(b, '-')
	}
	plain := &plainBytes[mode]
	for i := 0; i < len(s); {
		// The run of bytes kept as they are, in one append.
		start := i
		for i < len(s) && plain[s[i]] {
			i++
		}
		b = append(b, s[start:i]...)
		if i == len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			b = appendHexByte(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !strconv.IsPrint(r) {
			for j := range size {
				b = appendHexByte(b, s[i+j])
			}
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// plainBytes tells, for each escapeMode, the bytes appendField keeps as
// they are: printable ASCII but for the backslash and the mode's own.
var plainBytes = func() (t [3][256]bool) {
	for mode := range t {
		for c := 0x20; c < 0x7F; c++ {
			t[mode][c] = !(c == '\\' ||
				c == '"' && escapeMode(mode) != escapeMessage ||
				c == ' ' && escapeMode(mode) == escapeToken)
		}
	}
	return t
}()

// formattedSecond is the last second appendLineTime formatted.
type formattedSecond struct {
	unix int64
	text string
}

var lastSecond atomic.Pointer[formattedSecond]

// appendLineTime appends t in UTC in LineTimeFormat. Lines come many a
// second: each second is formatted once.
func appendLineTime(b []byte, t time.Time) []byte {
	sec := t.Unix()
	if lt := lastSecond.Load(); lt != nil && lt.unix == sec {
		return append(b, lt.text...)
	}
	text := t.UTC().AppendFormat(nil, LineTimeFormat)
	lastSecond.Store(&formattedSecond{unix: sec, text: string(text)})
	return append(b, text...)
}

func appendHexByte(b []byte, c byte) []byte {
	const hex = "0123456789ABCDEF"
	return append(b, '\\', 'x', hex[c>>4], hex[c&0xF])
}

// EventLine returns the line for entry e: the request context, the actor's
// name (its id when it has no name) as the user, the time of the write, and
// a message describing the entry:
//
//	id=ID TYPE OBJECT[ "REPR"][ source=SOURCE_ID]
//
// TYPE is e.Type.String (CREATE, LOGIN_FAILED, ...). OBJECT is
// CONTENT_TYPE/OBJECT_ID, "-" for an empty part, put in double quotes when it
// holds a space or a double quote. REPR, the object's display text, appears
// only when it is not empty, always in double quotes. Inside double quotes a
// double quote is doubled ("say ""hi"""), so the message reads back without
// ambiguity. The source appears only for a propagated entry. For example:
//
//	id=17 EDIT Entry/42 "Foo" source=12
func EventLine(e *Event) Line {
	user := e.Actor.Name
	if user == "" {
		user = e.Actor.ID
	}
	return Line{
		RemoteAddr: e.Request.RemoteAddr,
		User:       user,
		Time:       e.Time,
		Method:     e.Request.Method,
		Path:       e.Request.Path,
		Protocol:   e.Request.Protocol,
		Status:     int(e.Request.Status),
		UserAgent:  e.Request.UserAgent,
		Message:    eventMessage(e),
	}
}

func eventMessage(e *Event) string {
	var b strings.Builder
	b.WriteString("id=")
	b.WriteString(strconv.FormatInt(e.ID, 10))
	b.WriteByte(' ')
	b.WriteString(e.Type.String())
	b.WriteByte(' ')
	object := orDash(e.ContentType) + "/" + orDash(e.ObjectID)
	if strings.ContainsAny(object, ` "`) {
		writeQuoted(&b, object)
	} else {
		b.WriteString(object)
	}
	if e.ObjectRepr != "" {
		b.WriteByte(' ')
		writeQuoted(&b, e.ObjectRepr)
	}
	if e.SourceID != 0 {
		b.WriteString(" source=")
		b.WriteString(strconv.FormatInt(e.SourceID, 10))
	}
	return b.String()
}

// writeQuoted writes s in double quotes, doubling the double quotes in it.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	b.WriteString(strings.ReplaceAll(s, `"`, `""`))
	b.WriteByte('"')
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
