package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cxlake/cxlake/reports"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// summarize tells the user what the demo did and where to look next.
// reportCurl, when set, fetches the live KPI report while the demo runs.
func summarize(ctx context.Context, w io.Writer, wh *warehouse.Warehouse, data string, gen simulate.Stats, took time.Duration, reportCurl string) error {
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
	if reportCurl != "" {
		fmt.Fprintf(w, "  %s   (the full KPI report, live while the demo runs; also format=json|csv|md, from=, to=)\n", reportCurl)
	} else {
		fmt.Fprintf(w, "  cxlake report kpi --data %s --format html --out kpi.html   (the full KPI report)\n", data)
	}
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

// headline prints the KPIs leadership asks for first: the KPI report's
// overall figures for the whole period (reports.Figures), so the demo, the
// report and the dashboards agree.
func headline(ctx context.Context, w io.Writer, wh *warehouse.Warehouse) error {
	var people int64
	if err := wh.DB.QueryRowContext(ctx, "select count(*) from contacts").Scan(&people); err != nil {
		return fmt.Errorf("counting people: %w", err)
	}
	f, err := reports.Figures(ctx, wh.DB, time.Time{}, time.Time{}, reports.Filter{})
	if err != nil {
		return fmt.Errorf("reading headline KPIs: %w", err)
	}
	get := func(name string) *float64 {
		if v, ok := f[name]; ok {
			return &v
		}
		return nil
	}
	pct := func(name string) string {
		v := get(name)
		if v == nil {
			return "—"
		}
		return fmt.Sprintf("%.1f%% (n=%d)", 100**v, int64(f[name+"_n"]))
	}
	secs := func(name string) string {
		v := get(name)
		if v == nil {
			return "—"
		}
		return (time.Duration(*v) * time.Second).String()
	}
	nps := "—"
	if v := get("nps"); v != nil {
		nps = fmt.Sprintf("%+.0f (n=%d)", *v, int64(f["nps_n"]))
	}
	fmt.Fprintf(w, "\nHeadline KPIs (all channels, whole period; the KPI report's figures)\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  people\t%d\tconversations\t%d\n", people, int64(f["conversations"]))
	fmt.Fprintf(tw, "  FRT p50\t%s\tFRT p90\t%s\n", secs("frt_p50_s"), secs("frt_p90_s"))
	fmt.Fprintf(tw, "  agent FRT p50\t%s\tagent FRT p90\t%s\n", secs("agent_frt_p50_s"), secs("agent_frt_p90_s"))
	fmt.Fprintf(tw, "  escalation\t%s\tcontainment\t%s\n", pct("escalation_rate"), pct("containment_rate"))
	fmt.Fprintf(tw, "  FCR\t%s\tcross-channel recontact\t%s\n", pct("fcr_rate"), pct("recontact_rate"))
	fmt.Fprintf(tw, "  CSAT\t%s\tNPS\t%s\n", pct("csat_share"), nps)
	fmt.Fprintf(tw, "  SLA breach\t%s\thandoff SLA met\t%s\n", pct("sla_breach_rate"), pct("handoff_sla_met_rate"))
	fmt.Fprintf(tw, "  repeated after handoff\t%s\trepeated after switch\t%s\n", pct("repeat_after_handoff_rate"), pct("repeat_after_switch_rate"))
	mean := "—"
	if v := get("handoff_completeness_mean"); v != nil {
		mean = fmt.Sprintf("%.2f of 4 (n=%d)", *v, int64(f["handoff_completeness_mean_n"]))
	}
	fmt.Fprintf(tw, "  complete handoffs\t%s\thandoff completeness\t%s\n", pct("handoff_complete_rate"), mean)
	if err := tw.Flush(); err != nil {
		return err
	}
	label, err := reports.CostLabel(ctx, wh.DB)
	if err != nil {
		return fmt.Errorf("reading the cost model: %w", err)
	}
	if label == "" {
		fmt.Fprintf(w, "\nCost: no cost model configured (models.cost)\n")
		return nil
	}
	cost := func(name string) string {
		v := get(name)
		if v == nil {
			return "—"
		}
		return fmt.Sprintf("%.2f (n=%d)", *v, int64(f[name+"_n"]))
	}
	fmt.Fprintf(w, "\nCost per resolved conversation (prices: %s)\n", label)
	fmt.Fprintf(tw, "  bot alone\t%s\twith a human\t%s\n", cost("cost_per_resolved_bot"), cost("cost_per_resolved_human"))
	fmt.Fprintf(tw, "  all\t%s\tbot share of resolved\t%s\n", cost("cost_per_resolved"), pct("bot_resolved_share"))
	fmt.Fprintf(tw, "  bot share of their cost\t%s\ttotal cost\t%s\n", pct("bot_resolved_cost_share"), cost("cost_total"))
	return tw.Flush()
}
