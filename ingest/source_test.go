package ingest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
)

// fakeSource decodes "ok", "many", "bad", "skip" and "none" payloads.
type fakeSource struct{ calls [][]Message }

func (f *fakeSource) Name() string     { return "fake" }
func (f *fakeSource) Topics() []string { return []string{"fake.topic"} }
func (f *fakeSource) Decode(msgs []Message) []Outcome {
	f.calls = append(f.calls, msgs)
	out := make([]Outcome, len(msgs))
	for i, m := range msgs {
		ev := event.Event{EventID: "fake-" + string(m.Value) + string(rune('0'+i)), Type: event.TypeMessage,
			OccurredAt: time.Unix(1700000000, 0).UTC(), Channel: "whatsapp", ConversationID: "c",
			Contact: event.Identity{Phone: "+5511987654321"}, Actor: event.Actor{Kind: "customer"},
			Message: &event.Message{Direction: "inbound"}, Raw: m.Value}
		switch string(m.Value) {
		case "ok":
			out[i].Events = []event.Event{ev}
		case "many":
			ev2 := ev
			ev2.EventID += "b"
			out[i].Events = []event.Event{ev, ev2}
		case "bad":
			out[i].Err = &event.RejectError{Code: event.CodeMissing, Field: "data.key", Reason: "data.key is missing"}
			out[i].Stored = []byte("bad (secret removed)")
		case "skip":
			out[i].Err = &SkipError{Code: SkipUnknownEvent, EventName: "presence.update", Reason: "not decoded"}
		case "none":
		}
	}
	return out
}

func TestAssemblerRoutesSourceTopics(t *testing.T) {
	src := &fakeSource{}
	a := Assembler{Sources: []Source{src}}
	msgs := []Message{
		{Topic: "cx.events", Offset: 1, Value: canonical(1)},
		{Topic: "fake.topic", Offset: 5, Value: []byte("ok")},
		{Topic: "fake.topic", Offset: 6, Value: []byte("many")},
		{Topic: "fake.topic", Offset: 7, Value: []byte("bad")},
		{Topic: "fake.topic", Offset: 8, Value: []byte("skip")},
		{Topic: "fake.topic", Offset: 9, Value: []byte("none"), HighWaterMark: 12},
		{Topic: "cx.events", Offset: 2, Value: []byte("not json")},
	}
	b := a.Assemble(msgs)
	if len(src.calls) != 1 || len(src.calls[0]) != 5 {
		t.Fatalf("the source got %d calls, want one call with its 5 messages", len(src.calls))
	}
	if len(b.Records) != 4 { // 1 canonical + 1 + 2
		t.Fatalf("%d records, want 4", len(b.Records))
	}
	if len(b.DeadLetters) != 2 {
		t.Fatalf("%d dead letters, want 2 (one canonical, one source)", len(b.DeadLetters))
	}
	for _, d := range b.DeadLetters {
		if d.Topic == "fake.topic" && (d.ReasonCode != event.CodeMissing || d.Offset != 7 || !bytes.Equal(d.Raw, []byte("bad (secret removed)"))) {
			t.Errorf("source dead letter %+v: want its reason code, offset and the stored bytes instead of the value", d)
		}
	}
	if len(b.Skipped) != 2 {
		t.Fatalf("%d skipped, want 2 (an unknown event and one with no events)", len(b.Skipped))
	}
	if s := b.Skipped[0]; s.Source != "fake" || s.ReasonCode != SkipUnknownEvent || s.EventName != "presence.update" || s.Offset != 8 {
		t.Errorf("skip %+v", s)
	}
	if s := b.Skipped[1]; s.ReasonCode != SkipNoTimelineEvent || s.Reason == "" {
		t.Errorf("a source outcome with no events and no error must be a skip with a reason, got %+v", s)
	}
	spans := map[string]int{}
	for _, s := range b.Spans {
		spans[s.Topic] += s.Messages
		if s.Topic == "fake.topic" && (s.FirstOffset != 5 || s.LastOffset != 9 || s.Lag() != 2) {
			t.Errorf("span %+v, want offsets 5 to 9 and a lag of 2", s)
		}
	}
	if spans["cx.events"] != 2 || spans["fake.topic"] != 5 {
		t.Fatalf("spans count %v, want 2 canonical and 5 source messages", spans)
	}
}

func TestWithSourcesSubscribesToTheirTopics(t *testing.T) {
	cfg := Defaults()
	c := NewConsumer(cfg, nil, nil).WithSources(&fakeSource{}, &fakeSource{})
	if got := c.cfg.Topics; len(got) != 2 || got[0] != "cx.events" || got[1] != "fake.topic" {
		t.Fatalf("topics %v, want the configured one and the source's, once", got)
	}
	if eventName("messages.update") != "messages.update" || eventName("+55 11 98765-4321") != "" || eventName("ana@example.com") != "" {
		t.Fatal("eventName keeps something that is not an event name, or drops one that is")
	}
	var skip *SkipError
	if !errors.As(error(&SkipError{Reason: "r"}), &skip) || skip.Error() != "r" {
		t.Fatal("SkipError is not an error with its reason")
	}
}
