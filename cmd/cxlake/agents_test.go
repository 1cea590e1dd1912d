package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/warehouse"
)

// The per-agent mart, built with models.per_agent on, through the real
// gateway: leadership, analyst and compliance read its rows; grafana is
// refused the relation by name, and also in a subquery.
func TestPerAgentFiguresHiddenFromGrafana(t *testing.T) {
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	msg := func(id string, kind, actor, direction string, off time.Duration) warehouse.Record {
		e := event.Event{EventID: id, Type: event.TypeMessage, OccurredAt: at.Add(off), Source: "test", Channel: "webchat",
			ConversationID: "agents-1", Contact: event.Identity{Email: "cliente.agentes@example.org"},
			Actor: event.Actor{Kind: kind, ID: actor, Team: "suporte"}, Message: &event.Message{Direction: direction, Text: "oi"}}
		return warehouse.Record{Event: e, Topic: "t"}
	}
	b := &warehouse.Batch{StartedAt: time.Now(), Records: []warehouse.Record{
		msg("m-1", "customer", "", "inbound", 0), msg("m-2", "agent", "agente-31", "outbound", time.Minute),
	}}
	b.Records[1].Offset = 1
	if _, err := wh.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := models.Build(ctx, wh.DB, models.Config{HashKey: wh.HashKey(), PerAgent: true}, true); err != nil {
		t.Fatal(err)
	}
	users := []gateway.User{
		{Name: "dash", Role: gateway.RoleGrafana, Password: "pw-agents-g"},
		{Name: "boss", Role: gateway.RoleLeadership, Password: "pw-agents-l"},
		{Name: "ana", Role: gateway.RoleAnalyst, Password: "pw-agents-a"},
		{Name: "officer", Role: gateway.RoleCompliance, Password: "pw-agents-c"},
	}
	gw, err := startSQLGateway(ctx, wh, gateway.Config{Addr: "127.0.0.1:0", Users: users}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.stop(ctx)
	for _, u := range users {
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/cxlake?sslmode=disable", u.Name, u.Password, gw.srv.Addr()))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`select count(*) from kpi_daily_agent`,
			`select count(*) from (select actor_key from kpi_daily_agent where conversations > 0)`} {
			var n int
			err := conn.QueryRow(ctx, q).Scan(&n)
			switch {
			case u.Role == gateway.RoleGrafana:
				if err == nil || !strings.Contains(err.Error(), `relation "kpi_daily_agent" is not available to role grafana`) {
					t.Errorf("grafana: %s: %d, %v; want the relation refused", q, n, err)
				}
			case err != nil || n != 1:
				t.Errorf("%s: %s: %d, %v; want the agent's one row", u.Role, q, n, err)
			}
		}
		conn.Close(ctx)
	}
}
