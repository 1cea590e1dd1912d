package models

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/cxlake/cxlake/warehouse"
)

// deletePeople deletes every event naming the identifiers of the people
// keys (as resolved in db), and returns what it removed.
func deletePeople(ctx context.Context, t *testing.T, conn *sql.Conn, db *sql.DB, people []string) Removal {
	t.Helper()
	var r Removal
	q := func(query string, args ...any) []string {
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			rows.Scan(&s)
			out = append(out, s)
		}
		return out
	}
	for _, p := range people {
		r.Identifiers = append(r.Identifiers, q(`select identifier_hash from int_identifiers_resolved where contact_key = ?`, p)...)
	}
	if _, err := conn.ExecContext(ctx, `create or replace temp table _gone as select unnest(?::varchar[]) as h`, r.Identifiers); err != nil {
		t.Fatal(err)
	}
	const match = `subject_hash in (select h from _gone) or contact_phone_hash in (select h from _gone)
		or contact_email_hash in (select h from _gone) or link_phone_hash in (select h from _gone) or link_email_hash in (select h from _gone)`
	rows, err := conn.QueryContext(ctx, `select distinct conversation_id from events where conversation_id is not null and (`+match+`)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c string
		rows.Scan(&c)
		r.Conversations = append(r.Conversations, c)
	}
	rows.Close()
	res, err := conn.ExecContext(ctx, `delete from events where `+match)
	if err != nil {
		t.Fatal(err)
	}
	r.Events, _ = res.RowsAffected()
	return r
}

// TestRemoveEqualsRebuild erases people with Remove in one warehouse, and
// deletes the same events and rebuilds in another: the models must agree.
func TestRemoveEqualsRebuild(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	batches := simulatedBatches(20000, 2000)
	inc, full := openWarehouse(t), openWarehouse(t)
	for _, recs := range batches {
		for _, w := range []*warehouse.Warehouse{inc, full} {
			if _, err := w.Write(ctx, &warehouse.Batch{Records: recs, StartedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustBuild(t, inc, cfg, true)
	mustBuild(t, full, cfg, true)
	// People with several identifiers and conversations on several channels,
	// none of whom holds the latest event (that would move the FCR horizon).
	rows, err := inc.DB.Query(`select contact_key from contacts
		where identifiers > 1 and channels > 1
		  and contact_key not in (select contact_key from timeline where occurred_at = (select max(occurred_at) from events))
		order by contact_key limit 5`)
	if err != nil {
		t.Fatal(err)
	}
	var people []string
	for rows.Next() {
		var k string
		rows.Scan(&k)
		people = append(people, k)
	}
	rows.Close()
	if len(people) < 3 {
		t.Fatalf("found %d people to remove", len(people))
	}
	var removed Removal
	st, err := Remove(ctx, inc.DB, cfg, func(ctx context.Context, conn *sql.Conn) (Removal, error) {
		removed = deletePeople(ctx, t, conn, inc.DB, people)
		return removed, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Full {
		t.Fatalf("Remove rebuilt fully: %s", st.Reason)
	}
	if removed.Events == 0 || len(removed.Conversations) == 0 {
		t.Fatalf("removed %+v", removed)
	}
	conn, err := full.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deletePeople(ctx, t, conn, full.DB, people)
	conn.Close()
	mustBuild(t, full, cfg, true)
	mustPassDataTests(t, inc)
	compareModels(t, inc.DB, full.DB)
	var left int
	inc.DB.QueryRow(`select count(*) from conversations where contact_key in (select unnest(?::varchar[]))`, people).Scan(&left)
	if left != 0 {
		t.Fatalf("%d conversations of removed people remain", left)
	}
	// The next refresh has nothing to do: the build state matches.
	if st := mustBuild(t, inc, cfg, false); st.Full {
		t.Fatalf("refresh after Remove rebuilt fully: %s", st.Reason)
	}
}
