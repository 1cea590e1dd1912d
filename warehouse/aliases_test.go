package warehouse

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/cxlake/cxlake/privacy"
)

func TestCurrentForm(t *testing.T) {
	for _, c := range []struct {
		kind, value     string
		wantKind, wantV string
		wantOK          bool
	}{
		// Brazil's 9th digit: area 31, 8 digits starting 8 -> 9 in front.
		{"phone", "+553188887777", "phone", "+5531988887777", true},
		{"phone", "+5531988887777", "phone", "+5531988887777", true},
		// A landline (starts 3) and another country are unchanged.
		{"phone", "+553133334444", "phone", "+553133334444", true},
		{"phone", "+12025550123", "phone", "+12025550123", true},
		{"email", "Ana.Souza@Example.org", "email", "ana.souza@example.org", true},
		// A phone sent as a WhatsApp id is that phone, in its 9-digit form.
		{"id:whatsapp", "553188887777@s.whatsapp.net", "phone", "+5531988887777", true},
		{"id:email", "Ana.Souza@Example.org", "email", "ana.souza@example.org", true},
		{"id:instagram", "@Ana.Souza", "id:instagram", "ana.souza", true},
		{"id:telegram", " AnaS ", "id:telegram", "anas", true},
		{"id:whatsapp_lid", "ABC123", "id:whatsapp_lid", "abc123", true},
		// Opaque ids keep their case.
		{"id:webchat", "Visitor-AB", "id:webchat", "Visitor-AB", true},
		// A key no longer accepted, an empty id: no current form.
		{"id:myspace", "ana", "", "", false},
		{"id:instagram", " @ ", "", "", false},
		{"phone", "not a phone", "phone", "", false},
	} {
		k, v, ok := currentForm(c.kind, c.value)
		if ok != c.wantOK || (ok && (k != c.wantKind || v != c.wantV)) {
			t.Errorf("currentForm(%q, %q) = %q, %q, %v; want %q, %q, %v", c.kind, c.value, k, v, ok, c.wantKind, c.wantV, c.wantOK)
		}
	}
}

// TestOlderNormalizationGetsAliases builds what a cxlake before the current
// normalization left (events naming a Brazilian mobile in its 8-digit form,
// an Instagram handle with capitals, a phone sent as ids.whatsapp), beside
// an event of the same person stored since in the current form, and opens
// it: each old hash gets one alias to its current hash, identifiers whose
// key is gone get none, the models are asked for a full rebuild, the step
// is recorded, and it resumes from where a killed run stopped.
func TestOlderNormalizationGetsAliases(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	// What the older ingest stored: the values as it normalized them.
	old := personalEvent("old-1", "+553188887777", "", "mensagem antiga", at)
	old.Contact.IDs = map[string]string{"instagram": "Ana.Souza"}
	oldWA := personalEvent("old-2", "", "", "outra antiga", at)
	oldWA.Contact.IDs = map[string]string{"whatsapp": "553188887777@s.whatsapp.net"}
	gone := personalEvent("old-3", "+553177776666", "", "apagada", at)
	gone.Contact.IDs = nil
	current := personalEvent("new-1", "+5531988887777", "", "mensagem nova", at.Add(time.Minute))
	current.Contact.IDs = map[string]string{"instagram": "ana.souza"}
	b := &Batch{StartedAt: time.Now(), Records: []Record{{Event: old, Topic: "t"}, {Event: oldWA, Topic: "t", Offset: 1},
		{Event: gone, Topic: "t", Offset: 2}, {Event: current, Topic: "t", Offset: 3}},
		Spans: []Span{{Topic: "t", FirstOffset: 0, LastOffset: 3, Messages: 4}}}
	if _, err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	h := privacy.NewHasher(w.HashKey())
	oldPhone, newPhone := h.Identifier("phone", "+553188887777"), h.Identifier("phone", "+5531988887777")
	oldIG, newIG := h.Identifier("id:instagram", "Ana.Souza"), h.Identifier("id:instagram", "ana.souza")
	oldWAHash := h.Identifier("id:whatsapp", "553188887777@s.whatsapp.net")
	want := map[string]string{oldPhone: newPhone, oldIG: newIG, oldWAHash: newPhone}
	// The third person's key was destroyed (an erasure that left the row):
	// their value cannot be read, so no alias.
	if _, err := w.Keys().Destroy([]privacy.KeyID{privacy.SubjectID(h.Identifier("phone", "+553177776666"))}); err != nil {
		t.Fatal(err)
	}
	// As an older directory: no alias yet, the step not done, models built.
	for _, q := range []string{`delete from identifier_aliases`, `delete from warehouse_meta where name = '` + metaAliasesDone + `'`,
		`create table models_state (id integer primary key, built_batch_id bigint)`, `insert into models_state values (1, 1)`} {
		if _, err := w.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	w, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkAliases(t, w, want)
	if n := count(t, w, `select count(*) from models_state`); n != 0 {
		t.Error("the models were not asked for a full rebuild")
	}
	if n := count(t, w, `select count(*) from warehouse_meta where name = '`+metaAliasesDone+`'`); n != 1 {
		t.Error("the step is not recorded as done")
	}
	if n := count(t, w, `select count(*) from warehouse_meta where name = '`+metaAliasCursor+`'`); n != 0 {
		t.Error("the cursor outlived the step")
	}

	// A run killed after the chunk that ended at the second-smallest old
	// hash: the next Open starts after it (what it had written stays).
	olds := []string{oldPhone, oldIG, oldWAHash}
	sort.Strings(olds)
	for _, q := range []string{`delete from identifier_aliases where identifier_hash > '` + olds[1] + `'`,
		`delete from identifier_aliases where identifier_hash = '` + olds[0] + `'`,
		`delete from warehouse_meta where name = '` + metaAliasesDone + `'`,
		`insert into warehouse_meta values ('` + metaAliasCursor + `', '` + olds[1] + `')`} {
		if _, err := w.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	w, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	resumed := map[string]string{olds[1]: want[olds[1]], olds[2]: want[olds[2]]}
	checkAliases(t, w, resumed)
}

func checkAliases(t *testing.T, w *Warehouse, want map[string]string) {
	t.Helper()
	rows, err := w.DB.Query(`select identifier_hash, canonical_hash, canonical_kind from identifier_aliases`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var o, n, k string
		if err := rows.Scan(&o, &n, &k); err != nil {
			t.Fatal(err)
		}
		got[o] = n
		if k != "phone" && k != "id:instagram" {
			t.Errorf("alias of %s has kind %q", o, k)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d aliases, want %d: %v", len(got), len(want), got)
	}
	for o, n := range want {
		if got[o] != n {
			t.Errorf("alias of %s is %q, want %q", o, got[o], n)
		}
	}
}
