package warehouse

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/cxlake/cxlake/privacy"
)

// readContent opens the stored content of eventID.
func readContent(t *testing.T, w *Warehouse, eventID string) privacy.Content {
	t.Helper()
	var subject sql.NullString
	var at time.Time
	var sealed []byte
	if err := w.DB.QueryRow(`select subject_hash, occurred_at, content from events where event_id = ?`, eventID).
		Scan(&subject, &at, &sealed); err != nil {
		t.Fatalf("reading %s: %v", eventID, err)
	}
	c, err := privacy.OpenContent(w.keys, eventID, subject.String, at, sealed)
	if err != nil {
		t.Fatalf("opening %s: %v", eventID, err)
	}
	return c
}

func revisionState(t *testing.T, w *Warehouse, id string) string {
	t.Helper()
	var s string
	if err := w.DB.QueryRow(`select state from message_revisions where revision_id = ?`, id).Scan(&s); err != nil {
		t.Fatalf("state of %s: %v", id, err)
	}
	return s
}

func writeRevisions(t *testing.T, w *Warehouse, offset int64, revs ...Revision) Result {
	t.Helper()
	for i := range revs {
		revs[i].Topic, revs[i].Offset = "edits", offset+int64(i)
	}
	res, err := w.Write(context.Background(), &Batch{StartedAt: time.Now(), Revisions: revs})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRevisionsRewriteTheSealedText(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Millisecond)
	phone := "+5531988887777"
	if _, err := w.Write(ctx, &Batch{StartedAt: time.Now(), Records: []Record{
		{Event: personalEvent("m-1", phone, "", "texto original quiabo", at), Topic: "t"},
		{Event: personalEvent("m-2", phone, "", "texto apagado jabuticaba", at.Add(time.Minute)), Topic: "t", Offset: 1},
	}}); err != nil {
		t.Fatal(err)
	}

	// An edit replaces the text and drops the raw payload (which holds
	// the first text); the message keeps its time.
	edit := Revision{ID: "m-1:edit:2", EventID: "m-1", Text: "texto corrigido caju", At: at.Add(2 * time.Minute)}
	if res := writeRevisions(t, w, 0, edit); res.Revised != 1 {
		t.Fatalf("revised %d, want 1", res.Revised)
	}
	c := readContent(t, w, "m-1")
	if c.MessageText != "texto corrigido caju" || len(c.Raw) != 0 || c.ContactName != "Zebedeu Quixabeira" {
		t.Fatalf("after the edit: text %q, raw %q, name %q", c.MessageText, c.Raw, c.ContactName)
	}
	var occurred time.Time
	if err := w.DB.QueryRow(`select occurred_at from events where event_id = 'm-1'`).Scan(&occurred); err != nil || !occurred.Equal(at) {
		t.Fatalf("occurred_at %v (%v), want the original %v", occurred, err, at)
	}

	// A replay records nothing and changes nothing.
	if res := writeRevisions(t, w, 10, edit); res.Revised != 0 {
		t.Fatalf("a replayed edit was recorded again: %d", res.Revised)
	}
	// An older edit read later is superseded: event time, not read order.
	older := Revision{ID: "m-1:edit:1", EventID: "m-1", Text: "texto intermediario", At: at.Add(time.Minute)}
	writeRevisions(t, w, 20, older)
	if c := readContent(t, w, "m-1"); c.MessageText != "texto corrigido caju" {
		t.Fatalf("an older edit overwrote a newer one: %q", c.MessageText)
	}
	if s := revisionState(t, w, "m-1:edit:1"); s != revSuperseded {
		t.Fatalf("older edit state %q", s)
	}

	// A deletion removes the text; an edit after it is superseded.
	writeRevisions(t, w, 30, Revision{ID: "m-2:delete", EventID: "m-2", Delete: true, At: at.Add(3 * time.Minute)})
	writeRevisions(t, w, 40, Revision{ID: "m-2:edit:9", EventID: "m-2", Text: "volta jabuticaba", At: at.Add(4 * time.Minute)})
	c = readContent(t, w, "m-2")
	if c.MessageText != "" || len(c.Raw) != 0 {
		t.Fatalf("after the deletion: text %q, raw %q", c.MessageText, c.Raw)
	}
	if s := revisionState(t, w, "m-2:edit:9"); s != revSuperseded {
		t.Fatalf("edit after deletion: state %q", s)
	}
	if n := count(t, w, `select count(*) from events`); n != 2 {
		t.Fatalf("%d events, want the 2 messages kept", n)
	}

	// Neither the deleted text nor the first text of the edited message
	// is anywhere in the data directory: the WAL, the DuckDB file after a
	// checkpoint, and the lake.
	if _, err := w.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	gone := []string{"jabuticaba", "quiabo", "caju"}
	for _, s := range gone {
		if hits := filesContaining(t, dir, s); len(hits) > 0 {
			t.Errorf("%q found in %v", s, hits)
		}
	}
	if _, err := w.DB.Exec("checkpoint"); err != nil {
		t.Fatal(err)
	}
	for _, s := range gone {
		if hits := filesContaining(t, dir, s); len(hits) > 0 {
			t.Errorf("after checkpoint: %q found in %v", s, hits)
		}
	}
	if n := count(t, w, `select count(*) from read_parquet('`+quote(dir)+`/lake/events/**/*.parquet')`); n != 2 {
		t.Fatalf("the lake holds %d events, want 2", n)
	}
}

// A revision read before its message waits for it (pending), across a
// restart; when the message arrives, a deletion removes its text, and so
// does an edit whose text was not kept, until a later edit.
func TestRevisionBeforeItsMessage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Millisecond)
	writeRevisions(t, w, 0,
		Revision{ID: "m-3:delete", EventID: "m-3", Delete: true, At: at.Add(time.Minute)},
		Revision{ID: "m-4:edit:1", EventID: "m-4", Text: "novo texto", At: at.Add(time.Minute)})
	for _, id := range []string{"m-3:delete", "m-4:edit:1"} {
		if s := revisionState(t, w, id); s != revPending {
			t.Fatalf("%s: state %q, want pending", id, s)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w, err = Open(ctx, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(ctx, &Batch{StartedAt: time.Now(), Records: []Record{
		{Event: personalEvent("m-3", "+5511955501234", "", "primeiro texto", at), Topic: "t"},
		{Event: personalEvent("m-4", "+5511955501234", "", "texto trocado", at), Topic: "t", Offset: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"m-3:delete": revApplied, "m-4:edit:1": revAppliedWithoutText} {
		if s := revisionState(t, w, id); s != want {
			t.Fatalf("%s: state %q, want %s", id, s, want)
		}
	}
	for _, id := range []string{"m-3", "m-4"} {
		if c := readContent(t, w, id); c.MessageText != "" || len(c.Raw) != 0 {
			t.Fatalf("%s: text %q raw %q, want both removed", id, c.MessageText, c.Raw)
		}
	}
	writeRevisions(t, w, 10, Revision{ID: "m-4:edit:2", EventID: "m-4", Text: "texto final", At: at.Add(2 * time.Minute)})
	if c := readContent(t, w, "m-4"); c.MessageText != "texto final" {
		t.Fatalf("a later edit did not put the text back: %q", c.MessageText)
	}
}
