package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/reports"
	"github.com/cxlake/cxlake/warehouse"
)

func runReport(ctx context.Context, args []string) (err error) {
	if len(args) == 0 || args[0] != "kpi" {
		return fmt.Errorf("name the report: cxlake report kpi --data DIR [--from D] [--to D] [--format md|html|csv|json]")
	}
	fs := newFlags("report kpi", "report kpi --data DIR [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--channel C,..] [--team T,..] [--tz ZONE] [--format md|html|csv|json] [--config FILE] [--out FILE] [--memory SIZE]")
	data := dataFlag(fs)
	path := fs.String("config", "", "config file with report.targets (KPI targets; see docs/config.md)")
	mem := addMemoryFlag(fs)
	from := fs.String("from", "", "first day (UTC), YYYY-MM-DD; default: the first day with data")
	to := fs.String("to", "", "last day (UTC), YYYY-MM-DD; default: the last day with data")
	channels := fs.String("channel", "", "only these channels, comma-separated")
	teams := fs.String("team", "", "only these teams, comma-separated ('none' for conversations without a team)")
	format := fs.String("format", "md", "md (for mail), html (one self-contained page with charts), csv (spreadsheets) or json (docs/reports.md)")
	out := fs.String("out", "", "write to this file instead of stdout")
	tz := fs.String("tz", "UTC", "count days in this IANA time zone (e.g. America/Sao_Paulo); --from and --to are its days")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	opts := reports.KPIOptions{Format: *format, Filter: reports.Filter{Channels: list(*channels), Teams: list(*teams)}}
	if opts.From, err = reports.ParseDay("--from", *from); err != nil {
		return err
	}
	if opts.To, err = reports.ParseDay("--to", *to); err != nil {
		return err
	}
	if opts.Zone, err = reports.ParseZone("--tz", *tz); err != nil {
		return err
	}
	if *path != "" {
		cfg, err := config.Load(*path)
		if err != nil {
			return err
		}
		opts.Targets = cfg.Report.Targets
	}
	ms, err := mem.settings(config.Defaults().Memory)
	if err != nil {
		return err
	}
	wh, err := warehouse.Open(ctx, *data, warehouse.Options{ReadOnly: true, Memory: ms})
	if nw := (*warehouse.NoWarehouseError)(nil); errors.As(err, &nw) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w (while cxlake run or demo holds the data directory, read the live report instead: GET /v1/reports/kpi on its HTTP address)", err)
	}
	defer closeAtEnd(wh, &err)
	w := os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("creating report file: %w", err)
		}
		defer f.Close()
		w = f
	}
	if err := reports.KPI(ctx, wh.DB, w, opts); err != nil {
		return err
	}
	if *out != "" {
		fmt.Fprintf(os.Stderr, "wrote %s\n", *out)
	}
	return nil
}

// list splits a comma-separated flag value; "" is no value.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
