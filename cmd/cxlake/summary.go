package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// summarize tells the user what the demo did and where to look next.
func summarize(ctx context.Context, w io.Writer, wh *warehouse.Warehouse, data string, gen simulate.Stats, took time.Duration) error {
	var events, dead, batches int64
	var from, to time.Time
	if err := wh.DB.QueryRowContext(ctx, `select (select count(*) from events), (select count(*) from dead_letters),
		(select count(distinct batch_id) from ingest_batches), (select min(occurred_at) from events), (select max(occurred_at) from events)`).
		Scan(&events, &dead, &batches, &from, &to); err != nil {
		return fmt.Errorf("summarizing: %w", err)
	}
	fmt.Fprintf(w, "\nDone in %s: %d messages produced and consumed through the kafka-go consumer group.\n",
		took.Round(100*time.Millisecond), gen.Messages)
	fmt.Fprintf(w, "  events stored   %d (%d sent as exact duplicates and skipped by event_id)\n", events, gen.Duplicates)
	fmt.Fprintf(w, "  dead letters    %d (malformed on purpose: %d)\n", dead, gen.Malformed)
	fmt.Fprintf(w, "  batches         %d, covering %s to %s\n\n", batches, from.UTC().Format("2006-01-02"), to.UTC().Format("2006-01-02"))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if err := table(ctx, tw, wh, "Dead letters by reason", `select reason_code, count(*) from dead_letters group by 1 order by 2 desc, 1`); err != nil {
		return err
	}
	if err := table(ctx, tw, wh, "Events by channel", `select coalesce(channel, '(none: consent, links, surveys)'), count(*) from events group by 1 order by 2 desc, 1`); err != nil {
		return err
	}
	tw.Flush()
	if err := headline(ctx, w, wh); err != nil {
		return err
	}
	lake := filepath.Join(data, warehouse.LakeDir, "events")
	fmt.Fprintf(w, "\nWhere to look next:\n")
	fmt.Fprintf(w, "  cxlake query --data %s \"select type, count(*) from events group by 1\"\n", data)
	fmt.Fprintf(w, "  cxlake query --data %s \"select reason_code, reason from dead_letters limit 5\"\n", data)
	fmt.Fprintf(w, "  cxlake query --data %s \"select * from kpi_daily order by day desc limit 10\"\n", data)
	fmt.Fprintf(w, "  cxlake report kpi --data %s --format html --out kpi.html   (the full KPI report)\n", data)
	fmt.Fprintf(w, "  Parquet lake (Hive-partitioned by date and channel): %s\n", lake)
	fmt.Fprintf(w, "  Tables and columns: docs/tables.md (raw layer), docs/models.md (people, timeline, conversations, KPIs)\n")
	return nil
}

func table(ctx context.Context, w io.Writer, wh *warehouse.Warehouse, title, q string) error {
	rows, err := wh.DB.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("summarizing %s: %w", strings.ToLower(title), err)
	}
	defer rows.Close()
	fmt.Fprintf(w, "%s\n", title)
	n := 0
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s\t%d\n", k, v)
		n++
	}
	if n == 0 {
		fmt.Fprintf(w, "  (none)\n")
	}
	return rows.Err()
}

// headline prints the KPIs leadership asks for first, from the conversations mart.
func headline(ctx context.Context, w io.Writer, wh *warehouse.Warehouse) error {
	var people, convs int64
	var frt, agentFRT, escalation, containment, fcr, recontact, csat, nps *float64
	err := wh.DB.QueryRowContext(ctx, `select
		(select count(*) from contacts),
		count(*),
		quantile_cont(frt_s, 0.5),
		quantile_cont(agent_frt_s, 0.5),
		avg(escalated::int) filter (where bot_handled),
		avg((not escalated)::int) filter (where bot_handled and resolved_at is not null),
		avg(fcr::int),
		avg(recontact_other_channel::int) filter (where resolved_at is not null),
		avg((csat_score >= 4)::int) filter (where csat_score is not null),
		100 * (avg((nps_score >= 9)::int) filter (where nps_score is not null) - avg((nps_score <= 6)::int) filter (where nps_score is not null))
		from conversations`).Scan(&people, &convs, &frt, &agentFRT, &escalation, &containment, &fcr, &recontact, &csat, &nps)
	if err != nil {
		return fmt.Errorf("reading headline KPIs: %w", err)
	}
	pct := func(v *float64) string {
		if v == nil {
			return "—"
		}
		return fmt.Sprintf("%.1f%%", 100**v)
	}
	secs := func(v *float64) string {
		if v == nil {
			return "—"
		}
		return (time.Duration(*v) * time.Second).String()
	}
	num := func(v *float64) string {
		if v == nil {
			return "—"
		}
		return fmt.Sprintf("%.0f", *v)
	}
	fmt.Fprintf(w, "\nHeadline KPIs (all channels, whole period; CSAT and NPS from answers tied to a conversation)\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  people\t%d\tconversations\t%d\n", people, convs)
	fmt.Fprintf(tw, "  FRT p50\t%s\tagent FRT p50\t%s\n", secs(frt), secs(agentFRT))
	fmt.Fprintf(tw, "  escalation\t%s\tcontainment\t%s\n", pct(escalation), pct(containment))
	fmt.Fprintf(tw, "  FCR\t%s\tcross-channel recontact\t%s\n", pct(fcr), pct(recontact))
	fmt.Fprintf(tw, "  CSAT\t%s\tNPS\t%s\n", pct(csat), num(nps))
	return tw.Flush()
}
