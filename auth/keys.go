// Package auth checks who may call the eventlog API: bearer API keys with
// scopes, read from a keys file that holds only a hash of each token.
//
// # The keys file
//
// One key per line, three fields separated by spaces or tabs:
//
//	NAME SCOPES HASH
//
// NAME names the key in logs (never the token): 1 to 64 letters, digits,
// '.', '_' or '-', starting with a letter or digit, unique in the file.
// SCOPES is a comma-separated list of read, write, admin and metrics
// (scraping /metrics only, for a monitoring system). HASH is
// "sha256:" and the 64 lower-case hex digits of the SHA-256 of the token.
// Blank lines and lines starting with '#' are ignored. For example:
//
//	# eventlog API keys
//	ingest     write        sha256:5f2b6f0d1c...
//	dashboard  read         sha256:0b8e1a44e9...
//	ops        read,write   sha256:c3a90f6d27...
//
// "eventlog keys new" makes a token and prints its line. A token is 256
// random bits, so a fast hash is enough: nothing can be guessed from it.
package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Scope is a set of permissions a key carries.
type Scope uint8

// The scopes. Admin allows everything, the others what their names say;
// metrics allows scraping the server's metrics and nothing else.
const (
	ScopeRead Scope = 1 << iota
	ScopeWrite
	ScopeAdmin
	ScopeMetrics
)

var scopeNames = []struct {
	s    Scope
	name string
}{
	{ScopeRead, "read"},
	{ScopeWrite, "write"},
	{ScopeAdmin, "admin"},
	{ScopeMetrics, "metrics"},
}

// String returns the scopes as the keys file writes them: "read,write".
func (s Scope) String() string {
	var names []string
	for _, n := range scopeNames {
		if s&n.s != 0 {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ",")
}

// Has reports whether s allows what need asks for. Admin allows anything.
func (s Scope) Has(need Scope) bool { return s&ScopeAdmin != 0 || s&need == need }

// ParseScopes parses a comma-separated list of scope names, such as
// "read,write".
func ParseScopes(list string) (Scope, error) {
	var s Scope
	for _, name := range strings.Split(list, ",") {
		found := false
		for _, n := range scopeNames {
			if n.name == name {
				if s&n.s != 0 {
					return 0, fmt.Errorf("scope %s given twice", name)
				}
				s |= n.s
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown scope %s: want read, write, admin or metrics, separated by commas", quoteShort(name))
		}
	}
	return s, nil
}

// Key is one API key: its name, its scopes and the hash of its token.
type Key struct {
	Name   string
	Scopes Scope
	Hash   [sha256.Size]byte
}

// Line returns the key as a line of the keys file, without a newline.
func (k Key) Line() string {
	return fmt.Sprintf("%s %s %s%x", k.Name, k.Scopes, hashPrefix, k.Hash[:])
}

// KeySet is the keys of one keys file. It is read-only once built.
type KeySet struct {
	keys []Key
}

// Len returns the number of keys.
func (ks *KeySet) Len() int { return len(ks.keys) }

// Keys returns a copy of the keys, in file order.
func (ks *KeySet) Keys() []Key { return append([]Key(nil), ks.keys...) }

// Lookup returns the key whose token is token. It hashes token and compares
// the hash with every key's in constant time, so that the time taken does
// not depend on how much of a hash matched.
func (ks *KeySet) Lookup(token string) (Key, bool) {
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range ks.keys {
		if subtle.ConstantTimeCompare(sum[:], ks.keys[i].Hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Key{}, false
	}
	return ks.keys[found], true
}

// Limits of a keys file.
const (
	MaxKeysFileBytes = 1 << 20
	MaxKeys          = 10000
	MaxNameLen       = 64
	maxLineLen       = 4096
)

const (
	hashPrefix  = "sha256:"
	tokenPrefix = "evl_"
)

// LoadFile reads and parses the keys file at path.
func LoadFile(path string) (*KeySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ks, err := ParseKeys(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ks, nil
}

// ParseKeys parses a keys file (see the package documentation). Errors name
// the line; they never repeat a hash field, in case a token was put there by
// mistake.
func ParseKeys(r io.Reader) (*KeySet, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxKeysFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxKeysFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxKeysFileBytes)
	}
	ks := &KeySet{}
	names := make(map[string]int)
	hashes := make(map[[sha256.Size]byte]int)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 256), maxLineLen)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if prev, ok := names[k.Name]; ok {
			return nil, fmt.Errorf("line %d: name %s already used on line %d", n, k.Name, prev)
		}
		if prev, ok := hashes[k.Hash]; ok {
			return nil, fmt.Errorf("line %d: the same hash as line %d: every key needs a token of its own", n, prev)
		}
		if len(ks.keys) == MaxKeys {
			return nil, fmt.Errorf("line %d: more than %d keys", n, MaxKeys)
		}
		names[k.Name], hashes[k.Hash] = n, n
		ks.keys = append(ks.keys, k)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("a line longer than %d bytes", maxLineLen)
		}
		return nil, err
	}
	return ks, nil
}

func parseLine(line string) (Key, error) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return Key{}, fmt.Errorf("want three fields, NAME SCOPES HASH, got %d", len(f))
	}
	var k Key
	if err := CheckName(f[0]); err != nil {
		return Key{}, err
	}
	k.Name = f[0]
	s, err := ParseScopes(f[1])
	if err != nil {
		return Key{}, fmt.Errorf("key %s: %w", k.Name, err)
	}
	k.Scopes = s
	h, ok := strings.CutPrefix(f[2], hashPrefix)
	if !ok {
		if strings.HasPrefix(f[2], tokenPrefix) {
			return Key{}, fmt.Errorf("key %s: the third field looks like a token, not its hash; the file must hold only hashes (eventlog keys new prints the line to add)", k.Name)
		}
		return Key{}, fmt.Errorf("key %s: the hash must start with %q", k.Name, hashPrefix)
	}
	if len(h) != 2*sha256.Size || strings.ToLower(h) != h {
		return Key{}, fmt.Errorf("key %s: the hash must be %q and %d lower-case hex digits", k.Name, hashPrefix, 2*sha256.Size)
	}
	if _, err := hex.Decode(k.Hash[:], []byte(h)); err != nil {
		return Key{}, fmt.Errorf("key %s: the hash must be %q and %d lower-case hex digits", k.Name, hashPrefix, 2*sha256.Size)
	}
	return k, nil
}

// CheckName checks that name can name a key.
func CheckName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("key name %s: want 1 to %d characters", quoteShort(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("key name %s: want letters, digits, '.', '_' or '-', starting with a letter or digit", quoteShort(name))
		}
	}
	return nil
}

// NewKey makes a key with a new random token. It returns the token, to be
// shown once, and the key, which holds only the token's hash.
func NewKey(name string, scopes Scope) (token string, k Key, err error) {
	if err := CheckName(name); err != nil {
		return "", Key{}, err
	}
	if scopes == 0 {
		return "", Key{}, errors.New("a key needs at least one scope")
	}
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, Key{Name: name, Scopes: scopes, Hash: sha256.Sum256([]byte(token))}, nil
}

// quoteShort quotes s for an error message, cut to a readable length.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
