package warehouse

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
)

// actorKeyOf is an actor key worked out by hand, as docs/tables.md
// specifies it: the first 16 bytes, in hex, of HMAC-SHA256 under the hash
// key of "cxlake/actor_key/v1", a zero byte, then the source and the id,
// each as len ":" value.
func actorKeyOf(key []byte, source, id string) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "cxlake/actor_key/v1\x00%d:%s%d:%s", len(source), source, len(id), id)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// actorEvent is a message of conversation conv by an actor.
func actorEvent(id, kind, actorID string, at time.Time) event.Event {
	e := personalEvent(id, "+5511987650731", "", "texto do agente 0731", at)
	e.Actor = event.Actor{Kind: kind, ID: actorID, Team: "suporte"}
	if kind != "customer" {
		e.Message.Direction = "outbound"
	}
	return e
}

func writeActorBatch(t *testing.T, w *Warehouse, first int64, evs ...event.Event) {
	t.Helper()
	b := &Batch{StartedAt: time.Now()}
	for i, e := range evs {
		b.Records = append(b.Records, Record{Event: e, Topic: "t", Offset: first + int64(i)})
	}
	b.Spans = []Span{{Topic: "t", FirstOffset: first, LastOffset: first + int64(len(evs)) - 1, Messages: len(evs)}}
	if _, err := w.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func actorKeys(t *testing.T, w *Warehouse) map[string]string {
	t.Helper()
	rows, err := w.DB.Query(`select event_id, coalesce(actor_key, '') from events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, k string
		if err := rows.Scan(&id, &k); err != nil {
			t.Fatal(err)
		}
		out[id] = k
	}
	return out
}

// Ingest writes the key of an agent's and a bot's id, within the event's
// source, and none for a customer, the system or an actor without an id;
// the id itself is in no column, and the lake's files carry no actor key.
func TestEventsCarryTheActorKey(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	other := actorEvent("a-other", "agent", "agente-0731", at)
	other.Source = "chatwoot"
	writeActorBatch(t, w, 0,
		actorEvent("a-1", "agent", "agente-0731", at),
		actorEvent("a-2", "bot", "robo-0731", at),
		actorEvent("a-3", "customer", "cliente-0731", at),
		actorEvent("a-4", "system", "sistema-0731", at),
		actorEvent("a-5", "agent", "", at),
		other,
	)
	key := w.HashKey()
	want := map[string]string{
		"a-1": actorKeyOf(key, "test", "agente-0731"), "a-2": actorKeyOf(key, "test", "robo-0731"),
		"a-3": "", "a-4": "", "a-5": "", "a-other": actorKeyOf(key, "chatwoot", "agente-0731"),
	}
	got := actorKeys(t, w)
	for id, k := range want {
		if got[id] != k {
			t.Errorf("%s: actor_key %q, want %q", id, got[id], k)
		}
	}
	if got["a-1"] == got["a-other"] {
		t.Error("one id in two sources has one key")
	}
	if n := count(t, w, `select count(*) from events where actor_id is not null`); n != 0 {
		t.Errorf("%d events hold an actor id in clear", n)
	}
	if _, err := w.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, w, fmt.Sprintf(`select count(*) from (describe select * from read_parquet('%s/lake/events/**/*.parquet')) where column_name = 'actor_key'`, w.Dir)); n != 0 {
		t.Error("the lake's files carry actor_key, which LakeColumns leaves out (docs/tables.md)")
	}
}

// A directory as schema 6 left it (no actor_key column; agents' ids only in
// the sealed content) opens at version 7 with the key of every agent's and
// bot's event whose content still opens; an event whose content is gone
// keeps a null key; the models are asked for a full rebuild; a second Open
// changes nothing. A step killed after a chunk resumes after the batch it
// recorded.
func TestVersion6DirectoryHasItsActorsKeyed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	key := w.HashKey()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	writeActorBatch(t, w, 0, actorEvent("b1-agent", "agent", "agente-7001", at), actorEvent("b1-customer", "customer", "", at))
	writeActorBatch(t, w, 2, actorEvent("b2-agent", "agent", "agente-7002", at), actorEvent("b2-bot", "bot", "robo-7002", at),
		actorEvent("b2-gone", "agent", "agente-7003", at))
	var batches int
	if batches = count(t, w, `select count(distinct batch_id) from events`); batches != 2 {
		t.Fatalf("%d batches, want 2", batches)
	}
	schema6 := func() {
		t.Helper()
		for _, q := range []string{
			// columns added after version 6 go too (handoff_items, version 8)
			`alter table events drop column handoff_items`,
			`alter table events drop column actor_key`,
			`delete from schema_migrations where component = 'warehouse' and version >= 7`,
			`delete from warehouse_meta where name in ('` + metaActorKeysDone + `', '` + metaActorKeysCursor + `')`,
			// the content of b2-gone went (retention, erasure): its agent cannot be told
			`update events set content = null where event_id = 'b2-gone'`,
			// a models_state row, as a built directory has
			`create table if not exists models_state (id integer)`,
			`insert into models_state values (1)`,
		} {
			if _, err := w.DB.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	schema6()
	w.Close()

	w, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, w, `select max(version) from schema_migrations where component = 'warehouse'`); n != 8 {
		t.Fatalf("warehouse schema version %d after the upgrade, want 8", n)
	}
	want := map[string]string{
		"b1-agent": actorKeyOf(key, "test", "agente-7001"), "b1-customer": "",
		"b2-agent": actorKeyOf(key, "test", "agente-7002"), "b2-bot": actorKeyOf(key, "test", "robo-7002"), "b2-gone": "",
	}
	got := actorKeys(t, w)
	for id, k := range want {
		if got[id] != k {
			t.Errorf("%s: actor_key %q after the upgrade, want %q", id, got[id], k)
		}
	}
	if n := count(t, w, `select count(*) from models_state`); n != 0 {
		t.Error("the models were not asked for a full rebuild")
	}
	if n := count(t, w, `select count(*) from warehouse_meta where name = '`+metaActorKeysDone+`'`); n != 1 {
		t.Error("the step is not recorded as done")
	}
	if n := count(t, w, `select count(*) from warehouse_meta where name = '`+metaActorKeysCursor+`'`); n != 0 {
		t.Error("the step's cursor outlived it")
	}
	// A second Open changes nothing, even where a key is missing.
	if _, err := w.DB.Exec(`update events set actor_key = null where event_id = 'b2-bot'`); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if w, err = Open(ctx, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := actorKeys(t, w)["b2-bot"]; got != "" {
		t.Error("a second Open ran the step again")
	}

	// Killed after the first batch's chunk: the cursor says batch 1 is
	// done, so the next Open keys batch 2 and does not visit batch 1 again
	// (its agent's key, removed here, stays null: proof it was skipped).
	var first int64
	if err := w.DB.QueryRow(`select min(batch_id) from events`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	schema6()
	if _, err := w.DB.Exec(`insert or replace into warehouse_meta values (?, ?)`, metaActorKeysCursor, strconv.FormatInt(first, 10)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if w, err = Open(ctx, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	got = actorKeys(t, w)
	if got["b1-agent"] != "" || got["b2-agent"] != want["b2-agent"] || got["b2-bot"] != want["b2-bot"] {
		t.Errorf("after a resumed step: b1-agent %q (want none: its batch was done), b2-agent %q, b2-bot %q",
			got["b1-agent"], got["b2-agent"], got["b2-bot"])
	}
}
