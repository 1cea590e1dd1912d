package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The scanner must agree with encoding/json, which Decode used before it:
// on what is valid, on where a syntax error is, on which of repeated keys
// wins, and on what a string decodes to.

var scanSeeds = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":1,"a":2}`, `{"a":{"b":[1,{"c":null}]},"d":"e"}`,
	`{"k\u0065y":"v\"\\\/\b\f\n\r\t"}`, `{"e":"\ud83d\ude00 \ud83d x \ude00 \ud800\u0041 \uDBFF\uDFFF"}`,
	`{"n":[-0,0.5,1e3,1E+3,-1.5e-7,123456789012345678901234567890]}`, `{"t":true,"f":false,"n":null}`,
	`{"a":"é\u00e9","<&>":"\u2028"}`,
	`{`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{"a":1 "b":2}`,
	`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":1e+}`, `{"a":.5}`, `{"a":+1}`,
	`{"a":tru}`, `{"a":nul}`, `{"a":falsy}`, `{"a":"\x"}`, `{"a":"\u12G4"}`, "{\"a\":\"\x01\"}",
	`{"a":[1,]}`, `{"a":[1 2]}`, `{"a":[}`, `{"a":{]}`, `{"a":1}}`, `{"a":1} x`, `{"a":1}{}`,
	`[1,2]`, `"x"`, `42`, `true`, `null`, ``, ` `, `{"a":"b"` + "\u00a0" + `}`,
	strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1),
	`{"a":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `}`,
	`{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`,
	`{"a":` + strings.Repeat(`{"b":`, maxDepth-1) + `1` + strings.Repeat("}", maxDepth-1) + `}`,
	`{"a":` + strings.Repeat(`{"b":`, maxDepth) + `1` + strings.Repeat("}", maxDepth) + `}`,
}

func TestScanMatchesEncodingJSON(t *testing.T) {
	for _, s := range scanSeeds {
		checkScan(t, []byte(s))
	}
}

func FuzzScan(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkScan)
}

func checkScan(t *testing.T, data []byte) {
	if got, want := validJSON(data), json.Valid(data); got != want {
		t.Fatalf("validJSON(%q) = %v, json.Valid says %v", clipBytes(data), got, want)
	}
	trimmed := bytes.Trim(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return
	}
	var got []member
	err := walkObject(trimmed, func(key []byte, v value) {
		got = append(got, member{bytes.Clone(key), v})
	}, nil)
	var want map[string]json.RawMessage
	wantErr := json.Unmarshal(trimmed, &want)
	if wantErr != nil {
		var se *json.SyntaxError
		if !errors.As(wantErr, &se) {
			t.Fatalf("json.Unmarshal(%q): %v, not a syntax error", clipBytes(trimmed), wantErr)
		}
		var gotSE *syntaxError
		if !errors.As(err, &gotSE) || int64(gotSE.Offset) != se.Offset {
			t.Fatalf("walkObject(%q) = %v, want a syntax error at byte %d (%v)", clipBytes(trimmed), err, se.Offset, se)
		}
		return
	}
	if err != nil {
		t.Fatalf("walkObject(%q) = %v; encoding/json accepts it", clipBytes(trimmed), err)
	}
	if !utf8.Valid(data) {
		return // encoding/json replaces bad bytes; Decode rejects them first
	}
	last := map[string]json.RawMessage{}
	for _, m := range got {
		last[string(m.key)] = json.RawMessage(m.val)
	}
	if !reflect.DeepEqual(last, want) {
		t.Fatalf("walkObject(%q) members =\n%q\nencoding/json:\n%q", clipBytes(trimmed), last, want)
	}
	for _, m := range got {
		if m.val[0] != '"' {
			continue
		}
		var s string
		if err := json.Unmarshal(m.val, &s); err != nil {
			t.Fatal(err)
		}
		if u := unquote(m.val[1 : len(m.val)-1]); string(u) != s {
			t.Fatalf("unquote(%s) = %q, encoding/json says %q", m.val, u, s)
		}
	}
	// Extra writes keys as json.Marshal does.
	for _, m := range got {
		want, _ := json.Marshal(string(m.key))
		if got := appendKey(nil, m.key); !bytes.Equal(got, want) {
			t.Fatalf("appendKey(%q) = %s, json.Marshal says %s", m.key, got, want)
		}
	}
}

func clipBytes(b []byte) []byte {
	if len(b) > 200 {
		return append(b[:200:200], "…"...)
	}
	return b
}

// TestParseTopNested checks that the members of object values, read in the
// same pass as the top level, are the ones a separate walk finds.
func TestParseTopNested(t *testing.T) {
	raw := []byte(`{"contact":{"phone":"1","ids":{"a":"b"},"phone":"2"},"x":{"y":1},"actor":"a",
		"message":{},"link":{"email":"e"},"contact":{"email":"last"},"survey":[{"kind":"csat"}]}`)
	var buf [2]member // too small, so that the nested members move
	top, err := parseTop(raw, buf[:0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    field
		want string
	}{
		{"contact", top.contact, `{"email":"last"}`},
		{"message", top.message, `{}`},
		{"link", top.link, `{"email":"e"}`},
	} {
		o, ok, err := tc.f.object("", tc.name)
		if err != nil || !ok {
			t.Fatalf("%s: object() = %v, %v", tc.name, ok, err)
		}
		walked, _, _ := value(tc.want).object("", tc.name, nil)
		if len(o) != len(walked) || (len(o) > 0 && !reflect.DeepEqual(o, walked)) {
			t.Errorf("%s: members %q, want %q", tc.name, o, walked)
		}
	}
	if _, _, err := top.actor.object("", "actor"); err == nil {
		t.Error("actor is a string, but object() gave no error")
	}
	if _, ok, _ := top.handoff.object("", "handoff"); ok {
		t.Error("handoff is absent, but object() says ok")
	}
	if _, _, err := top.survey.object("", "survey"); err == nil {
		t.Error("survey is an array, but object() gave no error")
	}
	if len(top.unknown) != 1 || string(top.unknown[0].key) != "x" {
		t.Errorf("unknown = %q, want x", top.unknown)
	}
}

func TestEnumListsSorted(t *testing.T) {
	for _, l := range [][]string{eventTypes, channels, actorKinds, directions, surveyKinds, idKeys} {
		if !slices.IsSorted(l) {
			t.Errorf("%q is not sorted; reasons list it as is", l)
		}
	}
}
