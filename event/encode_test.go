package event

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestEncodeRoundTrip(t *testing.T) {
	sla := int64(300)
	in := Event{
		EventID: "e-1", Type: TypeHandoff, OccurredAt: time.Date(2026, 11, 21, 17, 3, 5, 123000000, time.UTC),
		Source: "chatwoot", Channel: "webchat", ConversationID: "c-1",
		Contact:     Identity{Phone: "+5511987654321", Email: "ana@example.com", IDs: map[string]string{"chatwoot": "42"}},
		ContactName: "Ana", Actor: Actor{Kind: "bot", ID: "7", Team: "billing"},
		Handoff: &Handoff{Reason: "bot_handoff", ToTeam: "billing", Summary: "s", Fields: json.RawMessage(`{"a":"1"}`), SLASeconds: &sla},
		Link:    &Identity{Email: "ana@work.example"},
		Extra:   json.RawMessage(`{"chatwoot":{"event":"conversation_status_changed"}}`),
	}
	b, err := Encode(&in)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	out, err := d.Decode(b)
	if err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	out.Raw = nil
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the event:\n in %+v\nout %+v\njson %s", in, out, b)
	}
}

func TestEncodeMessageAndSurvey(t *testing.T) {
	in := Event{EventID: "e-2", Type: TypeMessage, OccurredAt: time.Unix(1700000000, 0).UTC(), Channel: "whatsapp",
		ConversationID: "c", Contact: Identity{Phone: "+5511987654321"}, Actor: Actor{Kind: "agent"},
		Message: &Message{Direction: "outbound", Text: "oi", Private: true}, Survey: &Survey{Kind: "csat", Score: 5}}
	b, err := Encode(&in)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	out, err := d.Decode(b)
	if err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	if !out.Message.Private || out.Message.Text != "oi" || out.Survey.Score != 5 || out.Extra != nil {
		t.Fatalf("got %+v from %s", out, b)
	}
}

func TestEncodeRejectsExtraThatIsNotAnObject(t *testing.T) {
	_, err := Encode(&Event{EventID: "x", Extra: json.RawMessage(`[1]`)})
	if err == nil {
		t.Fatal("an array as Extra was accepted")
	}
}
