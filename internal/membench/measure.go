package membench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cxlake/cxlake/warehouse"
)

// Config is one memory benchmark: Events simulated messages loaded and
// rebuilt, Runs times, each run in a fresh data directory under Dir.
type Config struct {
	Binary     Binary
	Dir        string // work folder; runs' data directories are removed after each run
	Events     int    // messages of the first load (cxlake simulate --events)
	Add        int    // messages loaded after the full rebuild, for the incremental refresh
	DemoEvents int    // messages of demo --once; 0 for no demo step
	Runs       int
	Memory     string    // --memory for every child; "" for the default budget
	Log        io.Writer // progress lines; nil for none
}

// Step is one command's figures over the runs.
type Step struct {
	Name       string          `json:"step"`
	Command    string          `json:"command"`
	PeakRSS    []int64         `json:"peak_rss_bytes"`
	Wall       []time.Duration `json:"wall_ns"`
	MedianRSS  int64           `json:"median_peak_rss_bytes"`
	MaxRSS     int64           `json:"max_peak_rss_bytes"`
	MedianWall time.Duration   `json:"median_wall_ns"`
}

// Report is what Measure found.
type Report struct {
	Events int    `json:"events"`
	Runs   int    `json:"runs"`
	Budget int64  `json:"budget_bytes"`
	Steps  []Step `json:"steps"`
	// LakeEvents and Events of the last run's first load: the lake must
	// hold exactly the events DuckDB holds.
	LakeCount   int64 `json:"lake_events"`
	DuckDBCount int64 `json:"duckdb_events"`
}

// Budget is the budget the children run under: Memory, or the default.
func (c Config) Budget() (int64, error) {
	if c.Memory == "" {
		return warehouse.DefaultBudget, nil
	}
	n, err := warehouse.ParseBytes(c.Memory)
	if err != nil {
		return 0, fmt.Errorf("memory budget %q is not a size: write e.g. 1GiB", c.Memory)
	}
	return n, nil
}

func (c Config) say(format string, a ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", a...)
	}
}

// Measure writes the simulator's Events+Add messages once, then Runs times,
// in a fresh data directory: load the first Events, refresh --full, count
// the lake against DuckDB (a reader, through cxlake query), load the Add
// more, refresh (incremental), erase one person, and demo --once
// --events DemoEvents in a directory of its own. A failed step fails the
// benchmark: a command that fails within its budget is the finding.
func Measure(ctx context.Context, c Config) (Report, error) {
	budget, err := c.Budget()
	if err != nil {
		return Report{}, err
	}
	if c.Events < 1 || c.Runs < 1 || c.Add < 1 || c.DemoEvents < 0 {
		return Report{}, fmt.Errorf("events, add and runs must be positive and demo events not negative")
	}
	if strings.ContainsAny(c.Dir, "'\n") {
		return Report{}, fmt.Errorf("the work folder's path has a quote or a newline; choose another")
	}
	r := Report{Events: c.Events, Runs: c.Runs, Budget: budget}
	base, add := filepath.Join(c.Dir, "base.ndjson"), filepath.Join(c.Dir, "add.ndjson")
	c.say("writing %d + %d simulated messages…", c.Events, c.Add)
	if err := c.simulate(ctx, base, add); err != nil {
		return r, err
	}
	mem := []string{}
	if c.Memory != "" {
		mem = []string{"--memory", c.Memory}
	}
	steps := map[string]*Step{}
	record := func(name, command string, s Sample) {
		st := steps[name]
		if st == nil {
			st = &Step{Name: name, Command: command}
			steps[name] = st
			r.Steps = append(r.Steps, Step{Name: name})
		}
		st.PeakRSS = append(st.PeakRSS, s.PeakRSS)
		st.Wall = append(st.Wall, s.Wall)
		c.say("  %-22s %6.0f MiB  %8s", name, float64(s.PeakRSS)/(1<<20), s.Wall.Round(100*time.Millisecond))
	}
	for run := 1; run <= c.Runs; run++ {
		c.say("run %d of %d", run, c.Runs)
		if err := c.run(ctx, run, base, add, mem, record, &r); err != nil {
			return r, fmt.Errorf("run %d: %w", run, err)
		}
	}
	for i := range r.Steps {
		st := steps[r.Steps[i].Name]
		st.MedianRSS, st.MedianWall = median(st.PeakRSS), median(st.Wall)
		st.MaxRSS = slicesMax(st.PeakRSS)
		r.Steps[i] = *st
	}
	return r, nil
}

func slicesMax(xs []int64) int64 {
	var m int64
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// run is one run of every step in fresh directories, removed at the end.
func (c Config) run(ctx context.Context, run int, base, add string, mem []string, record func(string, string, Sample), r *Report) error {
	root := filepath.Join(c.Dir, fmt.Sprintf("run-%d", run))
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	defer os.RemoveAll(root)
	data := filepath.Join(root, "data")
	step := func(name, shown string, args ...string) ([]byte, error) {
		var out bytes.Buffer
		s, err := c.Binary.Run(ctx, append(args, mem...), &out)
		if err != nil {
			return nil, err
		}
		record(name, shown, s)
		return out.Bytes(), nil
	}
	if _, err := step("load", "cxlake load --data D base.ndjson", "load", "--data", data, base); err != nil {
		return err
	}
	if _, err := step("refresh --full", "cxlake refresh --data D --full", "refresh", "--data", data, "--full"); err != nil {
		return err
	}
	// The lake reader: the lake must hold exactly what DuckDB holds.
	glob := filepath.Join(data, "lake", "events", "**", "*.parquet")
	out, err := step("query (lake count)", "cxlake query --data D \"select count(*) … read_parquet(lake)\"",
		"query", "--data", data, "--format", "csv",
		"select (select count(*) from events) as duckdb, (select count(*) from read_parquet('"+glob+"', hive_partitioning = true)) as lake")
	if err != nil {
		return err
	}
	row, err := lastCSVRow(out, 2)
	if err != nil {
		return fmt.Errorf("reading the lake count: %w", err)
	}
	if r.DuckDBCount, err = strconv.ParseInt(row[0], 10, 64); err != nil {
		return fmt.Errorf("reading the lake count: %w", err)
	}
	if r.LakeCount, err = strconv.ParseInt(row[1], 10, 64); err != nil {
		return fmt.Errorf("reading the lake count: %w", err)
	}
	if r.LakeCount != r.DuckDBCount {
		return fmt.Errorf("the lake holds %d events and DuckDB %d after load", r.LakeCount, r.DuckDBCount)
	}
	if _, err := step("load (increment)", fmt.Sprintf("cxlake load --data D add.ndjson (%d)", c.Add), "load", "--data", data, add); err != nil {
		return err
	}
	if _, err := step("refresh", "cxlake refresh --data D", "refresh", "--data", data); err != nil {
		return err
	}
	out, err = step("query (contact)", "cxlake query --data D (one contact key)", "query", "--data", data, "--format", "csv",
		"select contact_key from contacts order by contact_key limit 1")
	if err != nil {
		return err
	}
	key, err := lastCSVRow(out, 1)
	if err != nil {
		return fmt.Errorf("reading a contact key: %w", err)
	}
	if _, err := step("erase", "cxlake erase --data D --contact K", "erase", "--data", data, "--contact", key[0], "--reason", "benchmark"); err != nil {
		return err
	}
	if c.DemoEvents > 0 {
		if _, err := step("demo --once", fmt.Sprintf("cxlake demo --once --events %d", c.DemoEvents), "demo", "--once",
			"--events", strconv.Itoa(c.DemoEvents), "--data", filepath.Join(root, "demo"), "--pg-addr", "127.0.0.1:0"); err != nil {
			return err
		}
	}
	return nil
}

// lastCSVRow is the one data row of cxlake query's CSV, with n columns.
func lastCSVRow(out []byte, n int) ([]string, error) {
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) != 2 || len(recs[1]) != n {
		return nil, fmt.Errorf("expected a header and one row of %d columns, got %d rows", n, len(recs))
	}
	return recs[1], nil
}

// simulate writes cxlake simulate's Events+Add messages, the first Events
// to base and the rest to add (the latest in time, as a live stream's).
func (c Config) simulate(ctx context.Context, base, add string) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := c.Binary.Run(ctx, []string{"simulate", "--events", strconv.Itoa(c.Events + c.Add)}, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	err := split(pr, c.Events, base, add)
	pr.CloseWithError(err)
	if serr := <-done; serr != nil {
		return serr
	}
	return err
}

// split copies the first n lines of r to first and the rest to rest.
func split(r io.Reader, n int, first, rest string) error {
	in := bufio.NewReaderSize(r, 1<<20)
	for i, path := range []string{first, rest} {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		for lines := 0; i == 1 || lines < n; lines++ {
			line, err := in.ReadBytes('\n')
			if len(line) > 0 {
				w.Write(line)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				return fmt.Errorf("reading the simulator's output: %w", err)
			}
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// Print writes the report as a table: per command, the medians of peak RSS
// and wall time, the worst run's peak, and the median's share of the budget.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "memory budget %s; %d messages; medians of %d run(s); peak RSS of each command's own process\n",
		warehouse.FormatBytes(r.Budget), r.Events, r.Runs)
	fmt.Fprintf(w, "%-20s %10s %10s %8s %10s  %s\n", "step", "RSS MiB", "max MiB", "budget", "wall s", "command")
	for _, s := range r.Steps {
		mark := ""
		if s.MaxRSS > r.Budget {
			mark = "  OVER BUDGET"
		}
		fmt.Fprintf(w, "%-20s %10.0f %10.0f %7.0f%% %10.1f  %s%s\n", s.Name, float64(s.MedianRSS)/(1<<20), float64(s.MaxRSS)/(1<<20),
			100*float64(s.MedianRSS)/float64(r.Budget), s.MedianWall.Seconds(), s.Command, mark)
	}
	fmt.Fprintf(w, "lake %d events = DuckDB %d events after load\n", r.LakeCount, r.DuckDBCount)
}

// OverBudget names the steps whose worst run went over the budget.
func (r Report) OverBudget() []string {
	var over []string
	for _, s := range r.Steps {
		if s.MaxRSS > r.Budget {
			over = append(over, s.Name)
		}
	}
	return over
}
