package evolution

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestWithoutSecrets(t *testing.T) {
	const key = "B6D711FCDE4D4FD5936544120E713976"
	for _, tc := range []struct {
		name, in string
		valid    bool
	}{
		{"first member", `{"apikey":"` + key + `","event":"call","data":{"id":"1"}}`, true},
		{"middle member", `{"event":"call", "apikey" : "` + key + `" ,"data":{"id":"1"}}`, true},
		{"last member", `{"event":"call","data":{"id":"1"},"apikey":"` + key + `"}`, true},
		{"only member", `{"apikey":"` + key + `"}`, true},
		{"upper-case key and the value repeated inside data", `{"APIKEY":"` + key + `","data":{"token":"` + key + `"}}`, true},
		{"not JSON", `{"event":"call","apikey":"` + key + `","data":`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			out := withoutSecrets(in)
			if bytes.Contains(out, []byte(key)) {
				t.Fatalf("the apikey survived: %s", out)
			}
			if !bytes.Contains(in, []byte(key)) {
				t.Fatal("the input was modified")
			}
			if tc.valid != json.Valid(out) {
				t.Fatalf("valid JSON = %v for %s, want %v", json.Valid(out), out, tc.valid)
			}
			if tc.valid {
				var m map[string]json.RawMessage
				json.Unmarshal(out, &m)
				for k := range m {
					if k == "apikey" || k == "APIKEY" {
						t.Fatalf("the apikey member is still there: %s", out)
					}
				}
			}
		})
	}
	// Members other than the apikey are kept byte for byte.
	in := `{"event":"messages.upsert","apikey":"x","data":{"a": [1, 2.50, "é"]},"timestamp":1717000000123}`
	if got := string(withoutSecrets([]byte(in))); got != `{"event":"messages.upsert","data":{"a": [1, 2.50, "é"]},"timestamp":1717000000123}` {
		t.Fatalf("got %s", got)
	}
}
