package event

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func fullEvent() Event {
	sla := int64(600)
	return Event{
		EventID: "ev-1", Type: TypeMessage, OccurredAt: time.Date(2026, 11, 21, 17, 3, 5, 123, time.UTC),
		Source: "chatwoot", Channel: "whatsapp", ConversationID: "wa-1",
		Contact:     Identity{Phone: "+5511987654321", Email: "a@example.com", IDs: map[string]string{"instagram": "ana.s", "webchat": "w-1"}},
		ContactName: "Ana", Actor: Actor{Kind: "agent", ID: "7", Team: "billing"},
		Message: &Message{Direction: "inbound", Text: "oi", Private: true, Intent: "order_status"},
		Handoff: &Handoff{Reason: "r", ToTeam: "t", Summary: "s", Fields: json.RawMessage(`{"a":1}`), NextAction: "n", Owner: "o", SLASeconds: &sla},
		Survey:  &Survey{Kind: "csat", Score: 4, Comment: "ok"},
		Consent: &Consent{Purpose: "analytics", Granted: true, Basis: "consent", Source: "form"},
		Link:    &Identity{Phone: "+5511900000000", Email: "b@example.com", IDs: map[string]string{"telegram": "t-1"}},
		Extra:   json.RawMessage(`{"x":1}`),
		Raw:     []byte(`{"schema":"cx.event/v1"}`),
	}
}

// mutate changes the leaf value v in place (a string, bool, int, time,
// raw JSON, map or pointer) and reports whether it knew how.
func mutate(v reflect.Value) bool {
	switch {
	case v.Type() == reflect.TypeOf(time.Time{}):
		v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Nanosecond)))
	case v.Type() == reflect.TypeOf(json.RawMessage{}):
		v.Set(reflect.ValueOf(json.RawMessage(`{"a":2}`)))
	case v.Type() == reflect.TypeOf([]byte{}):
		v.SetBytes([]byte(`{"other":"bytes"}`))
	case v.Kind() == reflect.String:
		v.SetString(v.String() + "x")
	case v.Kind() == reflect.Bool:
		v.SetBool(!v.Bool())
	case v.Kind() == reflect.Int, v.Kind() == reflect.Int64:
		v.SetInt(v.Int() + 1)
	case v.Kind() == reflect.Map:
		v.SetMapIndex(reflect.ValueOf("sms"), reflect.ValueOf("s-1"))
	default:
		return false
	}
	return true
}

// TestCanonicalCoversEveryField changes every field of an event, one at a
// time, found by reflection (so a field added later is covered or fails
// here), and checks the canonical encoding changes, but for Raw and Extra.
func TestCanonicalCoversEveryField(t *testing.T) {
	base := fullEvent()
	want := base.AppendCanonical(nil)
	var walk func(path string, get func(*Event) reflect.Value)
	walk = func(path string, get func(*Event) reflect.Value) {
		e := fullEvent()
		v := get(&e)
		switch {
		case v.Kind() == reflect.Pointer:
			// Absent is another event too.
			e2 := fullEvent()
			get(&e2).Set(reflect.Zero(v.Type()))
			if bytes.Equal(e2.AppendCanonical(nil), want) {
				t.Errorf("%s: absent encodes like present", path)
			}
			walk(path+"*", func(e *Event) reflect.Value { return get(e).Elem() })
			return
		case v.Kind() == reflect.Struct && v.Type() != reflect.TypeOf(time.Time{}):
			for i := 0; i < v.NumField(); i++ {
				i := i
				walk(path+"."+v.Type().Field(i).Name, func(e *Event) reflect.Value { return get(e).Field(i) })
			}
			return
		}
		if !mutate(v) {
			t.Fatalf("%s: the test cannot change a %s", path, v.Type())
		}
		changed := !bytes.Equal(e.AppendCanonical(nil), want)
		ignored := path == ".Raw" || path == ".Extra"
		if changed == ignored {
			t.Errorf("%s: encoding changed %v, want %v", path, changed, !ignored)
		}
	}
	walk("", func(e *Event) reflect.Value { return reflect.ValueOf(e).Elem() })
}

func TestCanonicalIsUnambiguous(t *testing.T) {
	a, b := fullEvent(), fullEvent()
	// Map order never matters.
	a.Contact.IDs = map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8", "i": "9"}
	b.Contact.IDs = map[string]string{"i": "9", "h": "8", "g": "7", "f": "6", "e": "5", "d": "4", "c": "3", "b": "2", "a": "1"}
	if !bytes.Equal(a.AppendCanonical(nil), b.AppendCanonical(nil)) {
		t.Error("two equal id maps encode differently")
	}
	// A boundary moved between two fields is another event.
	a, b = fullEvent(), fullEvent()
	a.Source, a.Channel = "ab", "c"
	b.Source, b.Channel = "a", "bc"
	if bytes.Equal(a.AppendCanonical(nil), b.AppendCanonical(nil)) {
		t.Error("moving a boundary between two fields kept the encoding")
	}
	a, b = fullEvent(), fullEvent()
	a.Contact.IDs = map[string]string{"ab": "c"}
	b.Contact.IDs = map[string]string{"a": "bc"}
	if bytes.Equal(a.AppendCanonical(nil), b.AppendCanonical(nil)) {
		t.Error("moving a boundary between a channel and its id kept the encoding")
	}
	// The same instant in another zone is the same event (times are UTC
	// after decoding, but the encoding does not rely on it).
	a, b = fullEvent(), fullEvent()
	b.OccurredAt = b.OccurredAt.In(time.FixedZone("-03", -3*3600))
	if !bytes.Equal(a.AppendCanonical(nil), b.AppendCanonical(nil)) {
		t.Error("one instant in two zones encodes differently")
	}
}
