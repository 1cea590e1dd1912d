package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/reports"
	"github.com/cxlake/cxlake/warehouse"
)

func runReport(ctx context.Context, args []string) (err error) {
	if len(args) == 0 || args[0] != "kpi" {
		return fmt.Errorf("name the report: cxlake report kpi --data DIR [--from D] [--to D] [--format md|html|csv]")
	}
	fs := newFlags("report kpi", "report kpi --data DIR [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format md|html|csv] [--out FILE] [--memory SIZE]")
	data := fs.String("data", "cxlake-data", "data directory")
	mem := addMemoryFlag(fs)
	from := fs.String("from", "", "first day (UTC), YYYY-MM-DD; default: the first day with data")
	to := fs.String("to", "", "last day (UTC), YYYY-MM-DD; default: the last day with data")
	format := fs.String("format", "md", "md (for mail), html (one self-contained page with charts) or csv (spreadsheets)")
	out := fs.String("out", "", "write to this file instead of stdout")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	opts := reports.KPIOptions{Format: *format}
	for _, d := range []struct {
		flag, val string
		dst       *time.Time
	}{{"--from", *from, &opts.From}, {"--to", *to, &opts.To}} {
		if d.val == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", d.val)
		if err != nil {
			return fmt.Errorf("%s is %q: write a date as YYYY-MM-DD, e.g. 2026-11-01", d.flag, d.val)
		}
		*d.dst = t
	}
	ms, err := mem.settings(config.Defaults().Memory)
	if err != nil {
		return err
	}
	wh, err := warehouse.Open(ctx, *data, warehouse.Options{ReadOnly: true, Memory: ms})
	if err != nil {
		return err
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
