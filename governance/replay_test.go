package governance_test

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/governance"
)

// After an erasure, a replay that names the person in another form of one
// of their identifiers is suppressed, whether it decodes as an event or
// ends as a dead letter: the suppression and ingest normalize each
// identifier kind alike (event/normalize.go, event/phone.go,
// warehouse/mentions.go). Bia is known by her phone in WhatsApp's 8-digit
// form, an e-mail and an Instagram handle; she is erased by the 9-digit
// form of her phone.
func TestReplaysInOtherFormsAreSuppressed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, governance.Defaults())
	at := time.Now().UTC().Truncate(time.Hour).Add(-48 * time.Hour)
	msg := `,"message":{"direction":"inbound","text":"oi"}`
	e.produce(
		canonical("bia-1", "message", at, "whatsapp", "bia-wa", `{"phone":"553188887777@s.whatsapp.net","email":"bia.replay@example.org"}`, msg),
		canonical("bia-2", "message", at.Add(time.Minute), "instagram", "bia-ig", `{"ids":{"instagram":"Bia.Replay"},"email":"bia.replay@example.org"}`, msg),
		canonical("bia-3", "message", at.Add(2*time.Minute), "whatsapp", "bia-wa", `{"phone":"+55 31 98888-7777"}`, msg),
	)
	e.consume("first", 3)
	e.refresh()
	if n := e.count(`select count(distinct contact_phone_hash) from events where event_id like 'bia-%' and contact_phone_hash is not null`); n != 1 {
		t.Fatalf("both forms of Bia's phone give %d phone hashes, want 1", n)
	}

	id, err := governance.ParsePhone("+55 31 98888-7777")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: id, Reason: "test", Actor: "test"})
	if err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if rc.RowsRemoved["events"] != 3 {
		t.Fatalf("erasure removed %d events, want 3", rc.RowsRemoved["events"])
	}
	dlBefore := e.count(`select count(*) from dead_letters`)

	badTime := `"occurred_at":"ontem"`
	dead := func(id, contact, text string) kafka.Message {
		v := `{"schema":"cx.event/v1","event_id":"` + id + `","type":"message",` + badTime + `,"channel":"whatsapp","conversation_id":"r",` +
			`"contact":` + contact + `,"actor":{"kind":"customer"},"message":{"direction":"inbound","text":"` + text + `"}}`
		return kafka.Message{Key: []byte(id), Value: []byte(v)}
	}
	replays := []kafka.Message{
		// Events that decode.
		canonical("r-ig-upper", "message", at, "instagram", "r1", `{"ids":{"instagram":"BIA.REPLAY"}}`, msg),
		canonical("r-ig-at", "message", at, "instagram", "r2", `{"ids":{"instagram":"@bia.replay"}}`, msg),
		canonical("r-wa-id", "message", at, "whatsapp", "r3", `{"ids":{"whatsapp":"+5531988887777"}}`, msg),
		canonical("r-wa-jid8", "message", at, "whatsapp", "r4", `{"ids":{"whatsapp":"553188887777@s.whatsapp.net"}}`, msg),
		canonical("r-8digit", "message", at, "whatsapp", "r5", `{"phone":"+553188887777"}`, msg),
		canonical("r-email-pct", "message", at, "email", "r6", `{"email":"bia.replay%40example.org"}`, msg),
		canonical("r-email-esc", "message", at, "email", "r7", `{"email":"bia.replay\u0040Example.org"}`, msg),
		// Dead letters.
		dead("d-email-esc", `{"email":"bia.replay\u0040example.org"}`, "x"),
		dead("d-email-pct", `{"email":"bia.replay%40example.org"}`, "x"),
		dead("d-trunk", `{"phone":"(031) 9 8888-7777"}`, "x"),
		dead("d-jid8", `{"ids":{"whatsapp":"553188887777@s.whatsapp.net"}}`, "x"),
		dead("d-handle-in-text", `{"ids":{"webchat":"v-1"}}`, "me chama no insta @Bia.Replay por favor"),
		dead("d-national", `{"ids":{"webchat":"v-2"}}`, "liga no (31) 8888-7777"),
		{Key: []byte("x"), Value: []byte(`ligar 0 21 31 98888 7777 urgente`)},                    // trunk prefix and carrier code
		{Key: []byte("x"), Value: []byte(`contato: mailto:BIA.REPLAY%40EXAMPLE.ORG?subject=oi`)}, // percent-encoded in a URL
	}
	// Controls: someone else's event and dead letter are stored, so the
	// suppression is not simply dropping everything.
	others := []kafka.Message{
		canonical("other-1", "message", at, "instagram", "o1", `{"ids":{"instagram":"bia.replay2"}}`, msg),
		dead("other-2", `{"phone":"+5531988887778"}`, "x"),
	}
	e.produce(append(replays, others...)...)
	// A new group reads the topic from the start: Bia's 3 first messages
	// are replayed too.
	st := e.consume("replay", int64(3+len(replays)+len(others)))
	if got := st.Suppressed.Load(); got != int64(3+len(replays)) {
		t.Errorf("suppressed %d messages, want all %d replays of Bia", got, 3+len(replays))
	}
	if n := e.count(`select count(*) from events where event_id like 'r-%' or event_id like 'bia-%'`); n != 0 {
		t.Errorf("%d replayed events of Bia are stored", n)
	}
	if n := e.count(`select count(*) from events where event_id = 'other-1'`); n != 1 {
		t.Errorf("the control event is stored %d times, want 1", n)
	}
	if n := e.count(`select count(*) from dead_letters`); n != dlBefore+1 {
		t.Errorf("%d dead letters stored by the replay, want 1 (the control)", n-dlBefore)
	}
}
