package evolution

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
)

// Evolution API puts the instance's apikey in every envelope. It is a
// credential to the Evolution server, so it is never stored: withoutSecrets
// is applied to everything kept of a message (the raw payload of its events,
// or its dead letter).

// secretKeys are the top-level envelope members removed before storing.
var secretKeys = []string{"apikey"}

// redacted replaces a secret value left anywhere else in a payload.
const redacted = "[redacted]"

// minSecretLen: shorter values are not searched for elsewhere in the payload
// (a one-character "secret" would redact half the text). The member itself
// is removed whatever its length.
const minSecretLen = 8

// secretRE finds an "apikey": "..." member in a payload that is not valid
// JSON, where members cannot be walked.
var secretRE = regexp.MustCompile(`(?i)"apikey"\s*:\s*"(?:[^"\\]|\\.)*"`)

// withoutSecrets returns raw without its top-level apikey member, and with
// any other occurrence of the apikey's value replaced by "[redacted]". raw
// itself is not modified. When raw is not a JSON object, apikey members are
// found by pattern and their values redacted.
func withoutSecrets(raw []byte) []byte {
	out, values, ok := dropMembers(raw, secretKeys)
	if !ok {
		return secretRE.ReplaceAll(bytes.Clone(raw), []byte(`"apikey":"`+redacted+`"`))
	}
	for _, v := range values {
		if len(v) >= minSecretLen {
			out = bytes.ReplaceAll(out, []byte(v), []byte(redacted))
		}
	}
	return out
}

// dropMembers returns the JSON object raw without its top-level members
// named in keys (case-insensitively), and the string values it removed. ok
// is false when raw is not one valid JSON object. The other members are kept
// byte for byte, in order.
func dropMembers(raw []byte, keys []string) (out []byte, values []string, ok bool) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, nil, false
	}
	out = append(make([]byte, 0, len(trimmed)), '{')
	first := true
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, nil, false
		}
		end := dec.InputOffset()
		if containsFold(keys, key) {
			var s string
			if json.Unmarshal(val, &s) == nil && s != "" {
				values = append(values, s)
			}
			continue
		}
		// start is just after the previous member (or the '{'): skip the
		// comma and white space before this member's key.
		member := bytes.TrimLeft(trimmed[start:end], " \t\r\n,")
		if !first {
			out = append(out, ',')
		}
		out = append(out, member...)
		first = false
	}
	return append(out, '}'), values, true
}

func containsFold(list []string, s string) bool {
	for _, k := range list {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}
