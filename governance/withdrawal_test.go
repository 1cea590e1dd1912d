package governance_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/privacy"
)

// Issue 24.5: a withdrawal reaches the dead letters that mention the
// person (stored before, and arriving after), and takes the person out of
// the contacts mart at enforcement, without a model build, while
// contact_identities keeps them, flagged, for compliance.
func TestWithdrawalKeysOutDeadLettersAndLeavesContacts(t *testing.T) {
	const (
		phone   = "+5521955550107"
		email   = "bia.dl@example.org"
		caioTel = "+5521944440208"
	)
	e := newEnv(t, governance.Defaults())
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3).Add(10 * time.Hour)
	biaPhoneOnly := `{"phone":"` + phone + `","name":"Bia Cartas"}`
	biaBoth := `{"phone":"` + phone + `","email":"` + email + `"}`
	caio := `{"phone":"` + caioTel + `"}`
	msgs := []kafka.Message{
		canonical("dl-c1", "consent", day.Add(-time.Hour), "whatsapp", "", biaPhoneOnly, `,"consent":{"purpose":"analytics","granted":true}`),
		canonical("dl-b1", "message", day, "whatsapp", "bia-wa", biaPhoneOnly, `,"message":{"direction":"inbound","text":"texto-bia-um"}`),
		canonical("dl-b2", "message", day.Add(time.Minute), "email", "bia-em", biaBoth, `,"message":{"direction":"inbound","text":"texto-bia-dois"}`),
		canonical("dl-k1", "message", day.Add(2*time.Minute), "whatsapp", "caio-wa", caio, `,"message":{"direction":"inbound","text":"texto-caio"}`),
		// Dead letters: Bia's e-mail in another case behind a bad timestamp;
		// her phone with national punctuation in bytes that are not JSON;
		// Caio's phone likewise.
		{Key: []byte("k-dl-1"), Value: []byte(`{"schema":"cx.event/v1","event_id":"dl-x1","type":"message","occurred_at":"ontem",` +
			`"contact":{"email":"BIA.DL@example.org"},"message":{"text":"segredo-dl-bia-1"}}`)},
		{Key: []byte("k-dl-2"), Value: []byte(`ligar para +55 21 95555-0107 segredo-dl-bia-2`)},
		{Key: []byte("k-dl-3"), Value: []byte(`ligar para +55 21 94444-0208 recado-dl-caio`)},
	}
	e.produce(msgs...)
	e.consume("g1", int64(len(msgs)))
	e.refresh()
	e.enforce()
	h := e.wh.Hasher()
	bia, caioKey := e.keyOf(h.Identifier("phone", phone)), e.keyOf(h.Identifier("phone", caioTel))
	if bia == caioKey {
		t.Fatal("Bia and Caio resolved into one person")
	}
	if n := e.count(`select count(*) from contacts`); n != 2 {
		t.Fatalf("contacts has %d rows before the withdrawal, want 2 (Bia and Caio)", n)
	}
	// Bia, worked out by hand: a phone and an e-mail, two conversations on
	// two channels.
	var ids, phones, emails, convs int64
	var channels string
	if err := e.wh.DB.QueryRow(`select identifiers, phones, emails, conversations, channel_list from contacts where contact_key = ?`, bia).
		Scan(&ids, &phones, &emails, &convs, &channels); err != nil {
		t.Fatal(err)
	}
	if ids != 2 || phones != 1 || emails != 1 || convs != 2 || channels != "email,whatsapp" {
		t.Fatalf("Bia's contacts row: %d identifiers, %d phones, %d emails, %d conversations, %q; want 2, 1, 1, 2, email,whatsapp",
			ids, phones, emails, convs, channels)
	}
	readable := `select count(*) from dead_letters where cx_dead_letter_raw(topic, "partition", "offset", raw) is not null`
	if n := e.count(readable); n != 3 {
		t.Fatalf("%d readable dead letters before the withdrawal, want 3", n)
	}

	// She withdraws, by phone. Enforcement runs without a model build in
	// between: the contacts mart must follow at once.
	withdraw := canonical("dl-c2", "consent", day.Add(time.Hour), "whatsapp", "", biaPhoneOnly, `,"consent":{"purpose":"analytics","granted":false}`)
	e.produce(withdraw)
	e.consume("g2", int64(len(msgs))+1)
	rep := e.enforce()
	if rep.Withdrawn != 1 || rep.DeadLetters != 2 {
		t.Fatalf("enforcement %+v; want 1 person withdrawn and 2 dead letters keyed out", rep)
	}
	if n := e.count(`select count(*) from dead_letters`); n != 3 {
		t.Errorf("%d dead letters after the withdrawal, want 3 (keyed out, not deleted)", n)
	}
	if n := e.count(`select count(*) from dead_letters where raw is null and message_key is null and raw_size > 0`); n != 2 {
		t.Errorf("%d dead letters keyed out (no raw, no key, size kept), want 2", n)
	}
	if n := e.count(readable); n != 1 {
		t.Errorf("%d readable dead letters after the withdrawal, want 1 (Caio's)", n)
	}
	var caioDL sql.NullString
	if err := e.wh.DB.QueryRow(`select cast(cx_dead_letter_raw(topic, "partition", "offset", raw) as varchar) from dead_letters
		where raw is not null`).Scan(&caioDL); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(caioDL.String, "recado-dl-caio") {
		t.Errorf("the dead letter left readable is %q, want Caio's", caioDL.String)
	}
	deadKeysGone := func(want int) {
		t.Helper()
		rows, err := e.wh.DB.Query(`select topic, "partition", "offset" from dead_letters where raw is null`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var topic string
			var part int
			var off int64
			if err := rows.Scan(&topic, &part, &off); err != nil {
				t.Fatal(err)
			}
			if _, ok := e.wh.Keys().Get(privacy.DeadLetterID(topic, part, off)); ok {
				t.Errorf("the key of keyed-out dead letter %s/%d@%d survived", topic, part, off)
			}
			n++
		}
		if n != want {
			t.Errorf("%d keyed-out dead letters, want %d", n, want)
		}
	}
	deadKeysGone(2)
	if n := e.count(`select count(*) from contacts`); n != 1 {
		t.Errorf("contacts has %d rows after the withdrawal, want 1 (Caio)", n)
	}
	if n := e.count(`select count(*) from contacts where contact_key = ?`, caioKey); n != 1 {
		t.Error("Caio left contacts")
	}
	if n := e.count(`select count(*) from int_contacts_summarized`); n != 2 {
		t.Errorf("int_contacts_summarized has %d rows, want 2: no build ran, the view filters", n)
	}
	if n := e.count(`select count(*) from timeline where contact_key = ?`, bia); n != 0 {
		t.Errorf("timeline shows %d of Bia's events", n)
	}
	// contact_identities keeps her, flagged, without her values.
	if n := e.count(`select count(*) from contact_identities where contact_key = ? and consent_withdrawn and identifier_value is null`, bia); n != 2 {
		t.Errorf("contact_identities has %d of Bia's 2 identifiers flagged withdrawn without values", n)
	}
	if n := e.count(`select count(*) from contact_identities where contact_key = ? and not consent_withdrawn and identifier_value = ?`, caioKey, caioTel); n != 1 {
		t.Error("Caio's identity is not shown as consenting, with its value")
	}

	// A dead letter arriving after the withdrawal names her e-mail,
	// percent-encoded: it is stored keyed out.
	late := kafka.Message{Key: []byte("k-dl-4"), Value: []byte(`{"schema":"cx.event/v1","event_id":"dl-x4","occurred_at":"amanha",` +
		`"contact":{"email":"bia.dl%40example.org"},"message":{"text":"segredo-dl-depois"}}`)}
	e.produce(late)
	e.consume("g3", int64(len(msgs))+2)
	if n := e.count(`select count(*) from dead_letters`); n != 4 {
		t.Fatalf("%d dead letters, want 4", n)
	}
	if n := e.count(readable); n != 1 {
		t.Errorf("%d readable dead letters after a late one of Bia's, want 1 (Caio's)", n)
	}
	deadKeysGone(3)
	// A full build changes nothing of it, and the models' data tests pass
	// with a withdrawn person in conversations but not in contacts.
	e.refresh()
	if n := e.count(`select count(*) from contacts`); n != 1 {
		t.Errorf("contacts has %d rows after a build, want 1", n)
	}
	failures, err := models.Test(context.Background(), e.wh.DB)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range failures {
		t.Errorf("data test failed: %+v", f)
	}
	for _, s := range []string{"segredo-dl-depois", "segredo-dl-bia", "Bia Cartas", "texto-bia"} {
		if hits := grep(t, e.dir, []string{s}); len(hits) > 0 {
			t.Errorf("%q found in %v", s, hits)
		}
	}
}
