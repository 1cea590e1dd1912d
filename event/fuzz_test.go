package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
)

// FuzzDecode checks that Decode never panics, that what it accepts is a
// complete, normalized event, and that what it refuses is a RejectError.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(designExample))
	for _, typ := range []string{
		event.TypeMessage, event.TypeConversationOpened, event.TypeHandoff, event.TypeAssigned,
		event.TypeResolved, event.TypeReopened, event.TypeSurvey, event.TypeConsent, event.TypeIdentityLink,
	} {
		f.Add(build(f, typ))
	}
	f.Add(build(f, event.TypeMessage, set("tenant", "acme"), set("meta", map[string]any{"a": []int{1}})))
	f.Add(build(f, event.TypeMessage, set("contact.ids", map[string]any{"Instagram": "a", "instagram": "b"})))
	f.Add(build(f, event.TypeSurvey, set("survey.kind", "nps"), set("survey.score", 10)))
	f.Add(build(f, event.TypeIdentityLink, set("link.phone", "5511987654321:3@s.whatsapp.net")))
	f.Add(build(f, event.TypeMessage, set("occurred_at", "2026-11-21T14:03:05")))
	f.Add(build(f, event.TypeMessage, set("contact.phone", "120363025246125486@g.us")))
	f.Add(build(f, event.TypeMessage, set("actor.kind", "robot")))
	f.Add(build(f, event.TypeSurvey, set("survey.score", "5")))
	f.Add(build(f, event.TypeConsent, del("consent.granted")))
	f.Add([]byte(nil))
	f.Add([]byte(" \n"))
	f.Add([]byte("\u00a0{}"))
	f.Add(append([]byte("\u00a0"), build(f, event.TypeConsent)...)) // was accepted though not JSON
	f.Add([]byte("[1,2]"))
	f.Add([]byte(`"x"`))
	f.Add([]byte(`{"schema":"cx.event/v1"`))
	f.Add([]byte("{\"a\":\"\xff\"}"))
	f.Add([]byte(`{"schema":"cx.event/v1","event_id":"e","type":"consent","occurred_at":"0000-01-01T00:00:00+23:59","contact":{"ids":{"x":"y"}},"consent":{"purpose":"p","granted":false}}`))

	f.Fuzz(func(t *testing.T, raw []byte) {
		in := bytes.Clone(raw)
		ev, err := event.Decoder{}.Decode(raw)
		if !bytes.Equal(raw, in) {
			t.Fatalf("Decode modified its input")
		}
		if err != nil {
			var rej *event.RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("error is %T (%v), want *event.RejectError", err, err)
			}
			if rej.Code == "" || rej.Reason == "" {
				t.Fatalf("RejectError without Code or Reason: %+v", rej)
			}
			if !reflect.DeepEqual(ev, event.Event{}) {
				t.Fatalf("rejected decode returned a non-zero event %+v", ev)
			}
			return
		}
		if ev.EventID == "" || ev.Type == "" {
			t.Fatalf("accepted an event without EventID or Type: %+v", ev)
		}
		if ev.OccurredAt.IsZero() || ev.OccurredAt.Location() != time.UTC {
			t.Fatalf("OccurredAt %v is not a UTC time", ev.OccurredAt)
		}
		if ev.Contact.Empty() {
			t.Fatalf("accepted an event with an empty contact: %+v", ev)
		}
		if !bytes.Equal(ev.Raw, raw) {
			t.Fatalf("Raw %q differs from the input %q", ev.Raw, raw)
		}
		if !json.Valid(raw) {
			t.Fatalf("accepted a payload that is not valid JSON: %q", raw)
		}
		if ev.Extra != nil {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(ev.Extra, &m); err != nil || len(m) == 0 {
				t.Fatalf("Extra %q is not a non-empty JSON object: %v", ev.Extra, err)
			}
		}
		if ev.Contact.Phone != "" {
			if p, ok := event.NormalizePhone(ev.Contact.Phone); !ok || p != ev.Contact.Phone {
				t.Fatalf("Contact.Phone %q is not normalized", ev.Contact.Phone)
			}
		}
		if ev.Contact.Email != "" {
			if e, ok := event.NormalizeEmail(ev.Contact.Email); !ok || e != ev.Contact.Email {
				t.Fatalf("Contact.Email %q is not normalized", ev.Contact.Email)
			}
		}
		// The same bytes always decode to the same event.
		again, err := event.Decoder{}.Decode(raw)
		if err != nil || !reflect.DeepEqual(again, ev) {
			t.Fatalf("second decode differs:\n%+v\n%+v (err %v)", ev, again, err)
		}
	})
}
