package governance_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/governance"
)

// Issue 24.2: Ana and Bruno use one phone (a family phone). Each also has
// an e-mail of their own; Bruno an Instagram handle too. Identity
// resolution makes them one person. Ana's access export must hold what her
// e-mail proves and nothing of Bruno's (GDPR art. 15(4)); an erasure must
// ask before it takes Bruno with her.
const (
	sharedPhone = "+5511912340077"
	anaShEmail  = "ana.partilha@example.org"
	brunoEmail  = "bruno.vizinho@example.org"
	brunoInsta  = "bruno.vz"
	brunoName   = "Bruno Vizinhanca"
	brunoText   = "resultado do exame de HIV saiu"
	brunoText2  = "receita do remedio controlado"
	phoneOnly   = "quem escreveu foi o telefone da familia"
	anaShText   = "pedido 4411 atrasado"
	anaShText2  = "segunda via do boleto"
)

func sharedPhoneMessages(at time.Time) []kafka.Message {
	text := func(s string) string { return `,"message":{"direction":"inbound","text":"` + s + `"}` }
	anaBoth := `{"phone":"` + sharedPhone + `","email":"` + anaShEmail + `","name":"Ana Partilha"}`
	anaMail := `{"email":"` + anaShEmail + `"}`
	brunoBoth := `{"phone":"` + sharedPhone + `","email":"` + brunoEmail + `","name":"` + brunoName + `"}`
	brunoIG := `{"email":"` + brunoEmail + `","ids":{"instagram":"` + brunoInsta + `"}}`
	phone := `{"phone":"` + sharedPhone + `"}`
	return []kafka.Message{
		canonical("sh-a1", "message", at, "whatsapp", "sh-conv-a", anaBoth, text(anaShText)),
		canonical("sh-a2", "message", at.Add(time.Hour), "webchat", "sh-conv-aw", anaMail, text(anaShText2)),
		canonical("sh-b1", "message", at.Add(2*time.Hour), "whatsapp", "sh-conv-b", brunoBoth, text(brunoText)),
		canonical("sh-b2", "message", at.Add(3*time.Hour), "instagram", "sh-conv-bi", brunoIG, text(brunoText2)),
		canonical("sh-p1", "message", at.Add(4*time.Hour), "whatsapp", "sh-conv-p", phone, text(phoneOnly)),
		// Dead letters (an unknown type), one mentioning each of them.
		{Key: []byte("sh-dl-a"), Value: []byte(`{"schema":"cx.event/v1","event_id":"sh-dl-a","type":"bogus","contact":{"email":"` + anaShEmail + `"}}`)},
		{Key: []byte("sh-dl-b"), Value: []byte(`{"schema":"cx.event/v1","event_id":"sh-dl-b","type":"bogus","contact":{"email":"` + brunoEmail + `"},"note":"` + brunoText + `"}`)},
	}
}

func TestSharedPhoneExportDisclosesNoOneElse(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, governance.Defaults())
	at := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3).Add(10 * time.Hour)
	msgs := sharedPhoneMessages(at)
	e.produce(msgs...)
	e.consume("g1", int64(len(msgs)))
	e.refresh()

	h := e.wh.Hasher()
	phoneHash, anaHash := h.Identifier("phone", sharedPhone), h.Identifier("email", anaShEmail)
	key := e.keyOf(phoneHash)
	if e.keyOf(anaHash) != key || e.keyOf(h.Identifier("email", brunoEmail)) != key || e.keyOf(h.Identifier("id:instagram", brunoInsta)) != key {
		t.Fatal("the shared phone did not join Ana and Bruno into one person: the scenario is not the issue's")
	}
	if n := e.count(`select count(*) from dead_letters`); n != 2 {
		t.Fatalf("%d dead letters, want 2", n)
	}

	// The flag: the mart names the phone, and only it, with 2 e-mails.
	var fk, fkind, fhash string
	var femails int64
	if err := e.wh.DB.QueryRow(`select contact_key, identifier_kind, identifier_hash, emails from shared_identifiers`).Scan(&fk, &fkind, &fhash, &femails); err != nil {
		t.Fatalf("shared_identifiers: %v", err)
	}
	if fk != key || fkind != "phone" || fhash != phoneHash || femails != 2 {
		t.Errorf("shared_identifiers = %s %s %s %d, want the person, phone, the phone's hash, 2 e-mails", fk, fkind, fhash, femails)
	}
	if n := e.count(`select count(*) from shared_identifiers`); n != 1 {
		t.Errorf("shared_identifiers has %d rows, want 1 (Bruno's Instagram is named with one e-mail only)", n)
	}
	var kind string
	var shared, people, most int64
	if err := e.wh.DB.QueryRow(`select kind, shared, people, most_linked from shared_identifiers_by_kind`).Scan(&kind, &shared, &people, &most); err != nil {
		t.Fatal(err)
	}
	if kind != "phone" || shared != 1 || people != 1 || most != 2 {
		t.Errorf("shared_identifiers_by_kind = %s %d %d %d, want phone 1 1 2", kind, shared, people, most)
	}

	// Ana's export, by her e-mail.
	x, err := e.gov.Export(ctx, governance.ExportRequest{Identifier: mustParse(t, "email", anaShEmail), Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	// Positive control: her own data is there, in clear.
	for _, s := range []string{anaShEmail, anaShText, anaShText2, sharedPhone, "Ana Partilha"} {
		if !strings.Contains(string(doc), s) {
			t.Errorf("Ana's export lacks her own %q", s)
		}
	}
	// Nothing of Bruno's, nor of the phone's unattributed message.
	for _, s := range []string{brunoEmail, brunoName, brunoText, brunoText2, brunoInsta, phoneOnly, "sh-b1", "sh-b2", "sh-p1", "sh-conv-b", "sh-conv-p",
		h.Identifier("email", brunoEmail), h.Identifier("id:instagram", brunoInsta)} {
		if strings.Contains(strings.ToLower(string(doc)), strings.ToLower(s)) {
			t.Errorf("Ana's export discloses %q", s)
		}
	}
	var ids []string
	for _, ev := range x.Events {
		ids = append(ids, ev["event_id"].(string))
	}
	if !slices.Equal(ids, []string{"sh-a1", "sh-a2"}) {
		t.Errorf("events %v, want exactly sh-a1 sh-a2", ids)
	}
	var vals []string
	for _, id := range x.Identifiers {
		if id.Value != nil {
			vals = append(vals, *id.Value)
		}
	}
	slices.Sort(vals)
	if !slices.Equal(vals, []string{sharedPhone, anaShEmail}) {
		t.Errorf("identifiers %v, want the phone and her e-mail", vals)
	}
	if len(x.DeadLetters) != 1 || !strings.Contains(x.DeadLetters[0].Raw, anaShEmail) {
		t.Errorf("dead letters %+v, want hers alone", x.DeadLetters)
	}
	var convs []string
	for _, c := range x.Conversations {
		convs = append(convs, c["conversation_id"].(string))
	}
	slices.Sort(convs)
	if !slices.Equal(convs, []string{"sh-conv-a", "sh-conv-aw"}) {
		t.Errorf("conversations %v, want sh-conv-a sh-conv-aw", convs)
	}
	w := x.Withheld
	if w == nil {
		t.Fatal("the export says nothing was withheld")
	}
	if w.Events != 3 || w.DeadLetters != 1 || w.Conversations != 3 || w.OtherParts != 1 ||
		w.Identifiers["email"] != 1 || w.Identifiers["id:instagram"] != 1 || len(w.Identifiers) != 2 ||
		w.SharedIdentifiers["phone"] != 1 || w.Reason == "" {
		t.Errorf("withheld %+v, want 3 events, 1 dead letter, 3 conversations, 1 other part, an e-mail and an Instagram id, 1 shared phone", w)
	}

	// By the shared phone: its own message only.
	xp, err := e.gov.Export(ctx, governance.ExportRequest{Identifier: mustParse(t, "phone", sharedPhone), Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(xp.Events) != 1 || xp.Events[0]["event_id"] != "sh-p1" || len(xp.DeadLetters) != 0 {
		t.Errorf("the phone's export has %d events, %d dead letters; want sh-p1 alone", len(xp.Events), len(xp.DeadLetters))
	}
	pdoc, _ := json.Marshal(xp)
	for _, s := range []string{anaShEmail, brunoEmail, brunoName, brunoText, anaShText, "Ana Partilha"} {
		if strings.Contains(string(pdoc), s) {
			t.Errorf("the phone's export discloses %q", s)
		}
	}
	// By contact key: refused, it names no one in particular.
	var le *governance.LinkedPeopleError
	if _, err := e.gov.Export(ctx, governance.ExportRequest{Identifier: mustParse(t, "contact", key), Actor: "test"}); !errors.As(err, &le) {
		t.Errorf("an export by the contact key of linked people: %v, want a LinkedPeopleError", err)
	}

	// Erasure of Ana without confirmation: refused, nothing changed.
	eventsBefore := e.count(`select count(*) from events`)
	requestsBefore := e.count(`select count(*) from privacy_requests`)
	_, err = e.gov.Erase(ctx, governance.ErasureRequest{Identifier: mustParse(t, "email", anaShEmail), Reason: "request", Actor: "test"})
	if !errors.As(err, &le) || le.Shared != 1 || le.Others != 1 {
		t.Fatalf("erasure of a linked person without --include-linked: %v, want a LinkedPeopleError (1 shared, 1 other group)", err)
	}
	for _, s := range []string{brunoEmail, sharedPhone, anaShEmail} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("the refusal quotes %q", s)
		}
	}
	if n := e.count(`select count(*) from events`); n != eventsBefore {
		t.Errorf("the refused erasure removed %d events", eventsBefore-n)
	}
	if n := e.count(`select count(*) from identifier_rules where rule = 'suppress'`); n != 0 {
		t.Errorf("the refused erasure suppressed %d hashes", n)
	}
	if n := e.count(`select count(*) from privacy_requests`); n != requestsBefore {
		t.Errorf("the refused erasure recorded %d requests", n-requestsBefore)
	}

	// Confirmed: every linked identity goes, and the receipt says so.
	rc, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: mustParse(t, "email", anaShEmail), Reason: "request", Actor: "test",
		IncludeLinked: true, VerifyBytes: true})
	if err != nil {
		t.Fatalf("erasure with IncludeLinked: %v\n%s", err, rc.Text())
	}
	if rc.LinkedPeople == nil || !rc.LinkedPeople.Included || rc.LinkedPeople.Shared != 1 || rc.LinkedPeople.Others != 1 {
		t.Errorf("receipt's linked_people = %+v, want included, 1 shared, 1 other group", rc.LinkedPeople)
	}
	if rc.RowsRemoved["events"] != 5 || rc.Identifiers != 4 {
		t.Errorf("receipt: %d events, %d identifiers removed; want 5 and 4", rc.RowsRemoved["events"], rc.Identifiers)
	}
	if hits := grep(t, e.dir, []string{anaShEmail, brunoEmail, sharedPhone, brunoText, anaShText, phoneOnly}); len(hits) > 0 {
		t.Errorf("after the erasure, in clear: %v", hits)
	}
}
