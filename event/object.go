package event

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
)

// value is the JSON text of one object member, exactly as it appears in the
// message, already checked by the scanner; nil means the member is absent.
// Its methods decode it as the type a field needs, and name the field
// precisely in a RejectError when it holds another type.
type value []byte

// member is one key and value of a JSON object; the key has its escapes decoded.
type member struct {
	key []byte
	val value
}

func path(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// isNull reports whether v is absent or null; the decoder treats both alike.
func (v value) isNull() bool { return len(v) == 0 || string(v) == "null" }

// kind names v's JSON type for a reason, such as "a number".
func (v value) kind() string {
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

func wrongType(parent, name, want string, v value) *RejectError {
	p := path(parent, name)
	return reject(CodeWrongType, p, "%s is %s, expected %s", p, v.kind(), want)
}

// text returns a string member's contents with escapes decoded; absent and
// null give nil. ok is false when v is not a string. Without escapes the
// result shares memory with the message, so copy it before keeping it.
func (v value) text() (b []byte, ok bool) {
	if v.isNull() {
		return nil, true
	}
	if v[0] != '"' {
		return nil, false
	}
	return unquote(v[1 : len(v)-1]), true
}

// idText is text for a field that identifies something (an event, a
// conversation, a person): a \u escape of a lone UTF-16 surrogate is
// rejected rather than decoded to U+FFFD, because two distinct ids would
// then decode to one and the second be taken for the first.
func (v value) idText(field string) ([]byte, error) {
	if v.isNull() {
		return nil, nil
	}
	if v[0] != '"' {
		return nil, nil // the caller's type check reports it
	}
	b, lone := unquoteLone(v[1 : len(v)-1])
	if lone {
		return nil, reject(CodeInvalidValue, field, "%s escapes a lone UTF-16 surrogate (a \\u escape of D800-DFFF without its pair); send valid UTF-16 pairs or UTF-8", field)
	}
	return b, nil
}

// idStr is str for an identifying field (idText).
func (s *strs) idStr(v value, parent, name string) (string, error) {
	if _, err := v.idText(path(parent, name)); err != nil {
		return "", err
	}
	return s.str(v, parent, name)
}

// strs holds the strings of one event in shared memory, so that an event
// costs one allocation for all of its text rather than one per field. A
// string it returns stays valid as the memory grows: a strings.Builder never
// changes a byte it has written.
type strs struct{ b strings.Builder }

// copy returns p as a string in s's memory.
func (s *strs) copy(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	if s.b.Cap() == 0 {
		s.b.Grow(max(len(p), 256)) // enough for the text of most events
	}
	n := s.b.Len()
	s.b.Write(p)
	return s.b.String()[n:]
}

// str returns a string member; absent and null give "".
func (s *strs) str(v value, parent, name string) (string, error) {
	b, ok := v.text()
	if !ok {
		return "", wrongType(parent, name, "a string", v)
	}
	return s.copy(b), nil
}

func (s *strs) requiredStr(v value, parent, name string) (string, error) {
	str, err := s.str(v, parent, name)
	if err == nil && str == "" {
		return "", missing(parent, name)
	}
	return str, err
}

// enum is str for a field with a fixed set of values: a value in known is
// returned as the constant from known, without allocating.
func (v value) enum(parent, name string, known []string) (string, error) {
	b, ok := v.text()
	if !ok {
		return "", wrongType(parent, name, "a string", v)
	}
	return intern(b, known), nil
}

func (v value) requiredEnum(parent, name string, known []string) (string, error) {
	s, err := v.enum(parent, name, known)
	if err == nil && s == "" {
		return "", missing(parent, name)
	}
	return s, err
}

func missing(parent, name string) *RejectError {
	p := path(parent, name)
	return reject(CodeMissing, p, "missing required field %q", p)
}

// intern returns the element of known equal to b, or else b as a new string.
func intern(b []byte, known []string) string {
	for _, k := range known {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

func (v value) boolean(parent, name string) (bool, error) {
	switch string(v) {
	case "", "null", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, wrongType(parent, name, "true or false", v)
}

// integer returns a whole-number member; ok is false when it is absent or
// null. Fractions, exponents and values beyond int64 are not whole numbers.
func (v value) integer(parent, name string) (n int64, ok bool, err error) {
	if v.isNull() {
		return 0, false, nil
	}
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return 0, false, wrongType(parent, name, "a whole number", v)
	}
	n, err = strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, false, reject(CodeWrongType, path(parent, name), "%s is not a whole number", path(parent, name))
	}
	return n, true, nil
}

// object is a JSON object split into its members, in input order.
type object []member

// get returns the value of member name, or nil when there is none. Of a
// repeated key the last wins, as with encoding/json.
func (o object) get(name string) value {
	for i := len(o) - 1; i >= 0; i-- {
		if string(o[i].key) == name {
			return o[i].val
		}
	}
	return nil
}

// object checks that v is an object and splits it into its members, appended
// to buf. ok is false when v is absent or null; an empty object is ok.
func (v value) object(parent, name string, buf object) (o object, ok bool, err error) {
	if v.isNull() {
		return nil, false, nil
	}
	if v[0] != '{' {
		return nil, false, wrongType(parent, name, "an object", v)
	}
	// v was checked with the whole message, so walking it cannot fail.
	_ = walkObject(v, func(key []byte, v value) { buf = append(buf, member{key, v}) }, nil)
	return buf, true, nil
}

// lastOfEachKey sorts ms by key and keeps, of each repeated key, the member
// that came last: the one encoding/json would keep. It reuses ms's memory.
func lastOfEachKey(ms []member) []member {
	slices.SortStableFunc(ms, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	out := ms[:0]
	for i, m := range ms {
		if i+1 < len(ms) && bytes.Equal(ms[i+1].key, m.key) {
			continue // a later one wins
		}
		out = append(out, m)
	}
	return out
}
