package models

import (
	"context"
	"slices"
	"testing"
)

// TestRenamedColumnsKeepTheirOldNames: conversations' renamed columns
// (docs/models.md "Renamed columns") are there under their new names, and
// the old names stay as deprecated aliases, last in the row so that no
// column moves, holding the same values on every golden conversation;
// team_or_none is the team, or the marts' 'none' without one.
func TestRenamedColumnsKeepTheirOldNames(t *testing.T) {
	ctx := context.Background()
	w := openWarehouse(t)
	var offset int64
	for _, b := range goldenBatches() {
		writeJSON(t, w, &offset, b...)
	}
	if _, err := Rebuild(ctx, w.DB, goldenConfig()); err != nil {
		t.Fatal(err)
	}
	rows, err := w.DB.QueryContext(ctx, "select * from conversations limit 0")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	rows.Close()
	if !slices.Contains(cols, "bot_escalated") || !slices.Contains(cols, "recontact_any_channel_at") {
		t.Errorf("conversations lacks the new names: %v", cols)
	}
	if n := len(cols); n < 2 || cols[n-2] != "escalated" || cols[n-1] != "recontact_at" {
		t.Errorf("the deprecated aliases are not last: %v", cols)
	}
	var total, differ, recontacts, escalations, noTeam, teamDiffers int
	if err := w.DB.QueryRowContext(ctx, `select count(*),
		count(*) filter (where escalated is distinct from bot_escalated or recontact_at is distinct from recontact_any_channel_at),
		count(recontact_any_channel_at), count(*) filter (where bot_escalated),
		count(*) filter (where team is null and team_or_none = 'none'),
		count(*) filter (where team is not null and team_or_none is distinct from team)
		from conversations`).Scan(&total, &differ, &recontacts, &escalations, &noTeam, &teamDiffers); err != nil {
		t.Fatal(err)
	}
	// The golden events hold escalations, recontacts and conversations
	// without a team, so agreement is not only of nulls and falses.
	if total == 0 || differ != 0 || recontacts == 0 || escalations == 0 || noTeam == 0 || teamDiffers != 0 {
		t.Errorf("%d conversations, %d where an alias differs, %d recontacts, %d escalations, %d without a team shown as none, %d whose team_or_none is not their team",
			total, differ, recontacts, escalations, noTeam, teamDiffers)
	}
	// kpi_daily and kpi_daily_team: csat_share, with csat last as its
	// alias; the golden events hold CSAT answers on some rows.
	for _, mart := range []string{"kpi_daily", "kpi_daily_team"} {
		rows, err := w.DB.QueryContext(ctx, "select * from "+mart+" limit 0")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		rows.Close()
		if !slices.Contains(cols, "csat_share") || cols[len(cols)-1] != "csat" {
			t.Errorf("%s: columns %v, want csat_share and csat last", mart, cols)
		}
		var answered, differ int
		if err := w.DB.QueryRowContext(ctx, `select count(csat_share), count(*) filter (where csat is distinct from csat_share) from `+mart).Scan(&answered, &differ); err != nil {
			t.Fatal(err)
		}
		if answered == 0 || differ != 0 {
			t.Errorf("%s: %d rows with a csat_share, %d where csat differs from it", mart, answered, differ)
		}
	}
}
