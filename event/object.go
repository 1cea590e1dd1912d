package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// object is one JSON object whose members are decoded on demand, so each
// field's type is checked and named precisely in a RejectError.
type object map[string]json.RawMessage

func path(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

func jsonKind(v json.RawMessage) string {
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

func wrongType(parent, name, want string, v json.RawMessage) *RejectError {
	p := path(parent, name)
	return reject(CodeWrongType, p, "%s is %s, expected %s", p, jsonKind(v), want)
}

// str returns a string member; absent and null give "".
func (o object) str(parent, name string) (string, error) {
	v, ok := o[name]
	if !ok || isNull(v) {
		return "", nil
	}
	if v[0] != '"' {
		return "", wrongType(parent, name, "a string", v)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", reject(CodeNotJSON, path(parent, name), "%s is not a valid JSON string", path(parent, name))
	}
	return s, nil
}

func (o object) requiredStr(parent, name string) (string, error) {
	s, err := o.str(parent, name)
	if err == nil && s == "" {
		return "", reject(CodeMissing, path(parent, name), "missing required field %q", path(parent, name))
	}
	return s, err
}

func (o object) boolean(parent, name string) (bool, error) {
	v, ok := o[name]
	if !ok || isNull(v) {
		return false, nil
	}
	switch string(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, wrongType(parent, name, "true or false", v)
}

// integer returns a whole-number member, or nil when absent or null.
func (o object) integer(parent, name string) (*int64, error) {
	v, ok := o[name]
	if !ok || isNull(v) {
		return nil, nil
	}
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return nil, wrongType(parent, name, "a whole number", v)
	}
	var n int64
	if err := json.Unmarshal(v, &n); err != nil {
		return nil, reject(CodeWrongType, path(parent, name), "%s is not a whole number", path(parent, name))
	}
	return &n, nil
}

// object returns a nested object member, or nil when absent or null.
func (o object) object(parent, name string) (object, error) {
	v, ok := o[name]
	if !ok || isNull(v) {
		return nil, nil
	}
	if v[0] != '{' {
		return nil, wrongType(parent, name, "an object", v)
	}
	var m object
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, reject(CodeNotJSON, path(parent, name), "%s is not a valid JSON object", path(parent, name))
	}
	return m, nil
}

// extra returns the unknown top-level members as one JSON object, or nil.
// Keys are in sorted order, so the same message always gives the same bytes.
func (o object) extra() json.RawMessage {
	var keys []string
	for k := range o {
		if !knownFields[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		v := o[k]
		if b.Len() == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(v)
	}
	if b.Len() == 0 {
		return nil
	}
	b.WriteByte('}')
	return b.Bytes()
}

// syntaxHint describes a JSON syntax error by position only, never by content.
func syntaxHint(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	msg := err.Error()
	if i := strings.Index(msg, ":"); i > 0 {
		msg = msg[:i]
	}
	return msg
}
