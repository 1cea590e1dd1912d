package gateway

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestLostChainRecordsAreRecorded: with the chain refusing every append
// (a full disk), the records it loses reach gateway_chain_losses, with who,
// how and why but no statement or value: an analyst's query whose alias
// and literal look like e-mails, and a compliance query refused because
// its record could not be appended first. The table is compliance's only.
func TestLostChainRecordsAreRecorded(t *testing.T) {
	ctx := context.Background()
	wh := testWarehouse(t)
	table, err := NewTableAuditor(ctx, wh.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	losses := NewTableLossRecorder(wh.DB, nil)
	ca := NewChainAuditor(table, &failingChain{}, losses, []Role{RoleCompliance}, nil)
	t.Cleanup(func() { _ = table.Close() })
	s := testServer(t, func(_ *Config, o *Options) { o.Auditor = ca })
	ana, comp, graf := connect(t, s, "ana"), connect(t, s, "comp"), connect(t, s, "graf")
	anaPID, compPID := ana.PgConn().PID(), comp.PgConn().PID()

	var n int64
	if err := ana.QueryRow(ctx, `select count(*) as "lost.record@example.com" from conversations where 'ana.person@example.com' <> ''`).Scan(&n); err != nil {
		t.Fatalf("the analyst's query must run while the chain is down: %v", err)
	}
	if err := comp.QueryRow(ctx, "select count(*) from contact_identities").Scan(&n); pgCode(err) != codeSystemError {
		t.Fatalf("compliance query with the chain down: %v, want SQLSTATE 58000", err)
	}
	ca.Close() // flushes the buffered records into the failing chain: lost
	if err := losses.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	rows, err := wh.DB.QueryContext(ctx, `select session_id, user_name, role, outcome, reason, fingerprint,
			concat_ws('|', lost_at, received_at, session_id, user_name, role, outcome, reason, fingerprint)
		from gateway_chain_losses where session_id in (?, ?) order by session_id, outcome`, int64(anaPID), int64(compPID))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type loss struct{ user, role, outcome, reason string }
	got := map[uint32][]loss{}
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for rows.Next() {
		var sid int64
		var l loss
		var fp, all string
		if err := rows.Scan(&sid, &l.user, &l.role, &l.outcome, &l.reason, &fp, &all); err != nil {
			t.Fatal(err)
		}
		if !hex16.MatchString(fp) {
			t.Errorf("fingerprint %q, want 16 hex digits", fp)
		}
		if strings.Contains(all, "@") || strings.Contains(all, "example") || strings.Contains(all, "conversations") {
			t.Errorf("a lost record row holds query text: %q", all)
		}
		got[uint32(sid)] = append(got[uint32(sid)], l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The analyst's query: its record after it ran ("ok"), lost.
	if want := []loss{{"ana", "analyst", "ok", "append_failed"}}; !slices.Equal(got[anaPID], want) {
		t.Errorf("analyst's losses %v, want %v", got[anaPID], want)
	}
	// The compliance query: the record due before it ran ("started"), then
	// the record of its refusal, both lost.
	cl := got[compPID]
	if len(cl) != 2 || cl[1] != (loss{"comp", "compliance", "started", "append_failed"}) || cl[0].user != "comp" || cl[0].reason != "append_failed" {
		t.Errorf("compliance losses %v, want its refusal and the record due before it ran", cl)
	}
	if ca.Lost() != 3 {
		t.Errorf("Lost() = %d, want the 3 records above", ca.Lost())
	}
	// Only compliance reads the table.
	if err := graf.QueryRow(ctx, "select count(*) from gateway_chain_losses").Scan(&n); pgCode(err) != codeInsufficientPriv {
		t.Errorf("grafana reading gateway_chain_losses: %v, want 42501", err)
	}
	if err := ana.QueryRow(ctx, "select count(*) from gateway_chain_losses").Scan(&n); pgCode(err) != codeInsufficientPriv {
		t.Errorf("analyst reading gateway_chain_losses: %v, want 42501", err)
	}
}
