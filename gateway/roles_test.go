package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestRoles checks DESIGN.md's table: each role reads what it should and
// is refused the rest, with an error that names the relation and the role.
func TestRoles(t *testing.T) {
	s := testServer(t)
	relations := []string{"kpi_daily", "kpi_daily_team", "conversations", "timeline", "contacts",
		"contact_identities", "events", "dead_letters", "ingest_batches", "gateway_queries"}
	reads := map[string][]string{
		"lead": {"kpi_daily", "kpi_daily_team"},
		"graf": {"kpi_daily", "kpi_daily_team"},
		"ana":  {"kpi_daily", "kpi_daily_team", "conversations", "timeline", "contacts"},
		"comp": relations,
	}
	ctx := context.Background()
	for _, u := range testUsers {
		c := connect(t, s, u.Name)
		allowed := map[string]bool{}
		for _, r := range reads[u.Name] {
			allowed[r] = true
		}
		for _, rel := range relations {
			_, err := c.Exec(ctx, "select * from "+rel+" limit 1")
			switch {
			case allowed[rel] && err != nil:
				t.Errorf("%s (%s) cannot read %s: %v", u.Name, u.Role, rel, err)
			case !allowed[rel]:
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != codeInsufficientPriv ||
					pe.Message != `relation "`+rel+`" is not available to role `+string(u.Role) {
					t.Errorf("%s (%s) reading %s: %v, want a refusal naming the relation and the role", u.Name, u.Role, rel, err)
				}
			}
		}
		// The catalogs list exactly what the role reads.
		rows, err := c.Query(ctx, `select table_name from information_schema.tables
			where table_schema = 'main' order by 1`)
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			listed = append(listed, n)
		}
		if u.Role != RoleCompliance && strings.Join(listed, ",") != strings.Join(sortedCopy(reads[u.Name]), ",") {
			t.Errorf("%s sees in information_schema.tables %v, want %v", u.Name, listed, reads[u.Name])
		}
		if u.Role == RoleCompliance && len(listed) < len(relations) {
			t.Errorf("compliance sees only %v", listed)
		}
	}
	// The analyst's marts hold no identifier and no text.
	c := connect(t, s, "ana")
	for _, rel := range []string{"conversations", "timeline", "contacts"} {
		rows, err := c.Query(ctx, "select * from "+rel+" limit 0")
		if err != nil {
			t.Fatal(err)
		}
		pii := map[string]bool{"contact_phone": true, "contact_email": true, "contact_ids": true, "contact_name": true,
			"message_text": true, "handoff_summary": true, "handoff_fields": true, "survey_comment": true, "raw": true,
			"link_phone": true, "link_email": true, "link_ids": true, "identifier_value": true, "extra": true}
		for _, f := range rows.FieldDescriptions() {
			if pii[f.Name] {
				t.Errorf("analyst's %s has column %s", rel, f.Name)
			}
		}
		rows.Close()
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestPolicyIsData: a new aggregate view is one Allow away.
func TestPolicyIsData(t *testing.T) {
	wh := testWarehouse(t)
	if _, err := wh.DB.Exec("create or replace view kpi_channel_totals as select channel, sum(conversations) as n from kpi_daily group by 1"); err != nil {
		t.Fatal(err)
	}
	p := DefaultPolicy()
	p.Allow(RoleLeadership, "kpi_channel_totals")
	s := testServer(t, func(_ *Config, o *Options) { o.Policy = p })
	ctx := context.Background()
	var n int64
	if err := connect(t, s, "lead").QueryRow(ctx, "select count(*) from kpi_channel_totals").Scan(&n); err != nil || n == 0 {
		t.Fatalf("leadership reading the new view: %d %v", n, err)
	}
	if _, err := connect(t, s, "graf").Exec(ctx, "select * from kpi_channel_totals"); err == nil {
		t.Fatal("grafana reads a view only leadership was given")
	}
	defer func() {
		if recover() == nil {
			t.Error("Allow accepted a path as a relation name")
		}
	}()
	p.Allow(RoleAnalyst, "/etc/passwd")
}
