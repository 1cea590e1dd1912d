package governance_test

import (
	"context"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/privacy"
	"github.com/cxlake/cxlake/warehouse"
)

// Caio wrote on WhatsApp before identifiers had one normalization: his
// mobile was stored in WhatsApp's 8-digit form (+55 31 8888-1234) and, in
// another event, as ids.whatsapp. These are his secrets a byte search must
// not find after his erasure.
var caioSecrets = []string{"553188881234", "5531988881234", "8888-1234", "Caio Velhaforma",
	"texto-antigo-caio-5521", "segredo-antigo-caio-7734", "texto-novo-caio-9001"}

// olderDirectory leaves in dir what a cxlake at warehouse schema version 3,
// before the current normalization, stored: Caio's two events under the old
// hashes of his phone, published to the lake, and a control person.
func olderDirectory(t *testing.T, dir string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, dir, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := func(id, conv string, contact event.Identity, text string) event.Event {
		return event.Event{EventID: id, Type: event.TypeMessage, OccurredAt: at, Source: "test", Channel: "whatsapp",
			ConversationID: conv, ContactName: "Caio Velhaforma", Contact: contact,
			Actor:   event.Actor{Kind: "customer", Team: "marker-team-5150"},
			Message: &event.Message{Direction: "inbound", Text: text},
			Raw:     []byte(`{"contact":{"phone":"+553188881234"},"text":"` + text + `"}`)}
	}
	dora := ev("dora-old-1", "dora-1", event.Identity{Phone: "+553133330000"}, "texto da dora")
	dora.ContactName, dora.Raw = "Dora Controle", []byte(`{"text":"texto da dora"}`)
	b := &warehouse.Batch{StartedAt: time.Now(), Records: []warehouse.Record{
		{Event: ev("caio-old-1", "caio-1", event.Identity{Phone: "+553188881234"}, "texto-antigo-caio-5521"), Topic: "older"},
		{Event: ev("caio-old-2", "caio-2", event.Identity{IDs: map[string]string{"whatsapp": "553188881234@s.whatsapp.net"}},
			"segredo-antigo-caio-7734"), Topic: "older", Offset: 1},
		{Event: dora, Topic: "older", Offset: 2},
		// Edu wrote only before the upgrade.
		{Event: ev("edu-old-1", "edu-1", event.Identity{Phone: "+552177776543"}, "texto-antigo-edu-3318"), Topic: "older", Offset: 3},
	}, Spans: []warehouse.Span{{Topic: "older", FirstOffset: 0, LastOffset: 3, Messages: 4}}}
	if _, err := wh.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := wh.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	// Back to version 3: no alias table, the renormalization never run.
	for _, q := range []string{`drop table identifier_aliases`, `delete from warehouse_meta where name = 'identifier_aliases_done'`,
		`delete from schema_migrations where component = 'warehouse' and version = 4`} {
		if _, err := wh.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := wh.Close(); err != nil {
		t.Fatal(err)
	}
}

// An older data directory, whose events name Caio's phone under the hashes
// of the older normalization, is upgraded at Open; Caio then writes again,
// normalized as today. His old and new events resolve to one person in the
// models, an access export by his phone in today's form returns all three,
// and an erasure by it removes all three, everywhere: events, lake, keys,
// and a byte search of the whole data directory finds nothing of his.
func TestOlderNormalizationIsOnePerson(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	at := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3).Add(10 * time.Hour)
	olderDirectory(t, dir, at)

	e := newEnvIn(t, dir, governance.Defaults())
	e.produce(canonical("caio-new-1", "message", at.Add(time.Hour), "whatsapp", "caio-3", `{"phone":"+55 31 98888-1234"}`,
		`,"message":{"direction":"inbound","text":"texto-novo-caio-9001"}`))
	e.consume("after-upgrade", 1)
	e.refresh()

	h := e.wh.Hasher()
	oldPhone, oldWA := h.Identifier("phone", "+553188881234"), h.Identifier("id:whatsapp", "553188881234@s.whatsapp.net")
	newPhone := h.Identifier("phone", "+5531988881234")
	if n := e.count(`select count(*) from events where subject_hash in (?, ?)`, oldPhone, oldWA); n != 2 {
		t.Fatalf("%d events under Caio's old hashes, want 2: the test would prove nothing", n)
	}
	if n := e.count(`select count(*) from events where subject_hash = ?`, newPhone); n != 1 {
		t.Fatalf("%d events under Caio's current hash, want 1", n)
	}
	if n := e.count(`select count(*) from identifier_aliases where canonical_hash = ? and identifier_hash in (?, ?)`, newPhone, oldPhone, oldWA); n != 2 {
		t.Fatalf("%d aliases to Caio's current hash, want 2", n)
	}
	// One person in the models: his three hashes, and his three events.
	if n := e.count(`select count(distinct contact_key) from int_identifiers_resolved where identifier_hash in (?, ?, ?)`, oldPhone, oldWA, newPhone); n != 1 {
		t.Errorf("Caio's hashes resolve to %d people, want 1", n)
	}
	if n := e.count(`select count(distinct contact_key) from int_events_attributed where event_id like 'caio-%'`); n != 1 {
		t.Errorf("Caio's events belong to %d people, want 1", n)
	}
	if n := e.count(`select count(*) from conversations where contact_key = (select contact_key from int_identifiers_resolved where identifier_hash = ?)`, newPhone); n != 3 {
		t.Errorf("Caio has %d conversations, want 3", n)
	}
	if n := e.count(`select count(distinct contact_key) from int_events_attributed where event_id in ('caio-new-1', 'dora-old-1')`); n != 2 {
		t.Error("the control person was joined to Caio")
	}
	// His phone, stored in two forms and as a WhatsApp id, is one phone.
	var ids, phones, channelIDs int
	if err := e.wh.DB.QueryRow(`select identifiers, phones, channel_ids from contacts
		where contact_key = (select contact_key from int_identifiers_resolved where identifier_hash = ?)`, newPhone).Scan(&ids, &phones, &channelIDs); err != nil {
		t.Fatal(err)
	}
	if ids != 1 || phones != 1 || channelIDs != 0 {
		t.Errorf("contacts counts %d identifiers, %d phones, %d channel ids for Caio; want 1, 1, 0", ids, phones, channelIDs)
	}

	id, err := governance.ParsePhone("+55 (31) 98888-1234")
	if err != nil {
		t.Fatal(err)
	}
	x, err := e.gov.Export(ctx, governance.ExportRequest{Identifier: id, Actor: "test"})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	got := map[string]bool{}
	for _, ev := range x.Events {
		got[ev["event_id"].(string)] = true
	}
	if len(got) != 3 || !got["caio-old-1"] || !got["caio-old-2"] || !got["caio-new-1"] {
		t.Errorf("the export by Caio's current phone holds events %v, want his 3", got)
	}
	values := map[string]bool{}
	for _, i := range x.Identifiers {
		if i.Value != nil {
			values[*i.Value] = true
		}
	}
	if !values["+553188881234"] || !values["553188881234@s.whatsapp.net"] || !values["+5531988881234"] {
		t.Errorf("the export names identifiers %v, want both of his old forms and the current one", values)
	}

	if hits := grep(t, e.dir, []string{"marker-team-5150"}); len(hits) == 0 {
		t.Fatal("the byte search finds nothing in clear; it would prove nothing")
	}
	rc, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: id, Reason: "data subject request", Actor: "test", VerifyBytes: true})
	if err != nil {
		t.Fatalf("Erase: %v\n%s", err, rc.Text())
	}
	if rc.RowsRemoved["events"] != 3 || rc.RowsRemoved["lake"] != 3 || rc.RowsRemoved["identifier_aliases"] != 2 || !rc.Verification.Passed {
		t.Errorf("receipt: rows removed %v, verification %+v", rc.RowsRemoved, rc.Verification)
	}
	if n := e.count(`select count(*) from events where event_id like 'caio-%'`); n != 0 {
		t.Errorf("%d of Caio's events are left", n)
	}
	if n, err := (governance.Lake{Dir: e.dir, Q: e.wh.DB}).Count(ctx, []string{oldPhone, oldWA, newPhone}, time.Time{}); err != nil || n != 0 {
		t.Errorf("the lake holds %d rows of Caio (%v)", n, err)
	}
	for _, hash := range []string{oldPhone, oldWA, newPhone} {
		if _, ok := e.wh.Keys().Get(privacy.SubjectID(hash)); ok {
			t.Errorf("the data key of one of Caio's hashes survived")
		}
		if n := e.count(`select count(*) from identifier_rules where rule = 'suppress' and identifier_hash = ?`, hash); n != 1 {
			t.Errorf("one of Caio's hashes is not suppressed")
		}
	}
	if n := e.count(`select count(*) from identifier_aliases where canonical_hash = ?`, newPhone); n != 0 {
		t.Errorf("%d of Caio's aliases left", n)
	}
	// Edu's current hash names no event and no identity: the request by it
	// reaches his old events through the alias alone.
	edu, err := governance.ParsePhone("+55 21 97777-6543")
	if err != nil {
		t.Fatal(err)
	}
	rc, err = e.gov.Erase(ctx, governance.ErasureRequest{Identifier: edu, Reason: "data subject request", Actor: "test"})
	if err != nil || rc.RowsRemoved["events"] != 1 || !rc.Verification.Passed {
		t.Errorf("erasing Edu by his current phone: %v, rows removed %v", err, rc.RowsRemoved)
	}
	if n := e.count(`select count(*) from identifier_aliases`); n != 0 {
		t.Errorf("%d aliases left", n)
	}
	if n := e.count(`select count(*) from events where event_id = 'dora-old-1'`); n != 1 {
		t.Error("the control person's event is gone")
	}
	if hits := grep(t, e.dir, append(caioSecrets, "texto-antigo-edu-3318", "552177776543")); len(hits) > 0 {
		t.Errorf("after erasure, Caio's values in clear: %v", hits)
	}
}
