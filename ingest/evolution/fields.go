package evolution

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cxlake/cxlake/event"
)

// obj is a JSON object split into its members. Evolution's payloads are
// TypeScript objects serialized as they are, so fields are read one by one
// with the types Evolution is known to send, and a wrong one is reported by
// path.
type obj map[string]json.RawMessage

// asObject decodes raw as an object; ok is false when it is absent or null.
func asObject(ev, path string, raw json.RawMessage) (o obj, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil, false, nil
	}
	if raw[0] != '{' {
		return nil, false, reasons.WrongType(ev, path, "an object", raw)
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, false, reasons.Reject(event.CodeNotJSON, ev, path, "%s is not a valid JSON object", path)
	}
	return o, true, nil
}

// asList decodes raw as a list of objects; a single object is a list of one.
func asList(ev, path string, raw json.RawMessage) ([]obj, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil, reasons.Missing(ev, path)
	}
	if raw[0] == '{' {
		o, _, err := asObject(ev, path, raw)
		return []obj{o}, err
	}
	if raw[0] != '[' {
		return nil, reasons.WrongType(ev, path, "an object or an array of objects", raw)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, reasons.Reject(event.CodeNotJSON, ev, path, "%s is not a valid JSON array", path)
	}
	out := make([]obj, 0, len(items))
	for i, it := range items {
		o, ok, err := asObject(ev, path+"["+strconv.Itoa(i)+"]", it)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, o)
		}
	}
	return out, nil
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// str reads a string member; "" when absent or null.
func (o obj) str(ev, path, key string) (string, error) {
	raw := bytes.TrimSpace(o[key])
	if isNull(raw) {
		return "", nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", reasons.WrongType(ev, join(path, key), "a string", raw)
	}
	return s, nil
}

// boolean reads a boolean member; false when absent or null. Evolution
// sometimes serializes booleans as the strings "true" and "false".
func (o obj) boolean(ev, path, key string) (bool, error) {
	raw := bytes.TrimSpace(o[key])
	switch string(raw) {
	case "", "null", "false", `"false"`:
		return false, nil
	case "true", `"true"`:
		return true, nil
	}
	return false, reasons.WrongType(ev, join(path, key), "a boolean", raw)
}

// object reads an object member.
func (o obj) object(ev, path, key string) (obj, bool, error) {
	return asObject(ev, join(path, key), o[key])
}

// unixTime reads a time sent as Unix seconds: a number, a string of digits,
// or a protobuf Long ({"low": .., "high": .., "unsigned": ..}). Values of
// 13 digits or more are taken as milliseconds, which some Evolution builds
// send. ok is false when the member is absent, null, 0 or "".
func (o obj) unixTime(ev, path, key string) (t time.Time, ok bool, err error) {
	raw := bytes.TrimSpace(o[key])
	if isNull(raw) || string(raw) == `""` {
		return time.Time{}, false, nil
	}
	var n float64
	switch raw[0] {
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		if n, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return time.Time{}, false, reasons.Reject(event.CodeBadTime, ev, join(path, key), "%s is a string that is not Unix seconds", join(path, key))
		}
	case '{':
		var l struct {
			Low, High int64
		}
		if json.Unmarshal(raw, &l) != nil {
			return time.Time{}, false, reasons.WrongType(ev, join(path, key), "Unix seconds", raw)
		}
		n = float64(uint32(l.Low)) + float64(l.High)*math.Exp2(32)
	default:
		if json.Unmarshal(raw, &n) != nil {
			return time.Time{}, false, reasons.WrongType(ev, join(path, key), "Unix seconds", raw)
		}
	}
	if n == 0 {
		return time.Time{}, false, nil
	}
	if n < 0 || n > 1e14 || (n > 1e11 && n < 1e12) {
		return time.Time{}, false, reasons.Reject(event.CodeBadTime, ev, join(path, key), "%s is out of range for Unix seconds", join(path, key))
	}
	if n >= 1e12 { // milliseconds, kept exact (a float division is not)
		return time.UnixMilli(int64(math.Round(n))).UTC(), true, nil
	}
	sec, frac := math.Modf(n)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true, nil
}

// isoTime reads an RFC 3339 time (a JavaScript Date serialized by
// JSON.stringify, or Evolution's date_time); ok is false when absent.
func (o obj) isoTime(ev, path, key string) (t time.Time, ok bool, err error) {
	s, err := o.str(ev, path, key)
	if err != nil || s == "" {
		return time.Time{}, false, err
	}
	t, perr := time.Parse(time.RFC3339Nano, s)
	if perr != nil {
		return time.Time{}, false, reasons.Reject(event.CodeBadTime, ev, join(path, key), "%s is not an RFC 3339 time", join(path, key))
	}
	return t.UTC(), true, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
