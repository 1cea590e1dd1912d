// Command cxlake is the one binary of cxlake: it runs the ingest pipeline
// against Kafka (run), a self-contained demo (demo), backfills from NDJSON
// (load), SQL from the command line (query) and the benchmarks (bench).
// Each subcommand parses its flags, wires the packages together and runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cxlake/cxlake/warehouse"
)

type command struct {
	name, usage, summary string
	run                  func(ctx context.Context, args []string) error
}

var commands = []command{
	{"demo", "demo [--events N] [--once] [--data DIR] [--seed S] [--pg-addr HOST:PORT]", "run an embedded broker, simulated traffic and the real pipeline", runDemo},
	{"run", runUsage, "consume from a Kafka cluster into the warehouse and serve SQL until stopped", runRun},
	{"load", "load --data DIR [--memory SIZE] FILE|-", "load NDJSON events from a file or stdin (backfills, replays)", runLoad},
	{"migrate", "migrate --data DIR [--dry-run]", "apply the schema migrations an older data directory needs (docs/upgrading.md)", runMigrate},
	{"simulate", "simulate --events N [--seed S] [--days D]", "write simulated omnichannel traffic as NDJSON to stdout (for load)", runSimulate},
	{"refresh", "refresh --data DIR [--full] [--config FILE]", "rebuild the models (identity, timeline, conversations, KPIs) and run their data tests", runRefresh},
	{"query", "query --data DIR [--format table|csv|json] SQL", "run SQL against the warehouse", runQuery},
	{"report", "report kpi --data DIR [--from D] [--to D] [--format md|html|csv]", "the KPI report, for people without Grafana", runReport},
	{"bench", "bench ingest|models|gateway|erase|memory --events N [--json]", "measure ingest (against DuckDB's read_json), the model rebuild and refresh, the SQL gateway, erasure, or peak memory per command", runBench},
	{"erase", "erase --data DIR (--phone|--email|--contact) VALUE [--reason R]", "erase a person from every layer and print the receipt (GDPR art. 17, LGPD art. 18)", runErase},
	{"export", "export --data DIR (--phone|--email|--contact) VALUE", "everything held about a person as one JSON document (GDPR art. 15, LGPD art. 18/19)", runExport},
	{"retention", "retention run --data DIR [--now T]", "apply the retention policy to DuckDB, the lake, the keys and the audit log", runRetention},
	{"consent", "consent enforce --data DIR", "apply consent decisions to stored data", runConsent},
	{"lake", lakeUsage, "check the Parquet lake's files against its manifest, or merge small files (docs/tables.md)", runLake},
	{"audit", "audit verify|show --data DIR", "verify the audit chain against its signed checkpoints, or list records", runAudit},
	{"grafana", "grafana provision --url URL --token TOKEN [--gateway HOST:PORT]", "create or update the cxlake data source, folder and dashboards in Grafana", runGrafana},
	{"broker", "broker [--addr HOST:PORT] [--topic T] [--partitions N]", "run an embedded Kafka-protocol broker (for experiments)", runBroker},
	{"gateway-verifier", "gateway-verifier < password", "print the SCRAM-SHA-256 verifier of a password, for gateway.users[].scram", runGatewayVerifier},
}

func usage() {
	fmt.Fprintf(os.Stderr, "cxlake: analytics and governance warehouse for omnichannel customer service\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  cxlake %-55s %s\n", c.usage, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nStart with: cxlake demo --once\n")
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()})))
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.name == os.Args[1] {
			err := c.run(ctx, os.Args[2:])
			if errors.Is(err, flag.ErrHelp) {
				os.Exit(2)
			}
			if err != nil {
				// Out of memory names the setting to raise.
				fmt.Fprintf(os.Stderr, "cxlake %s: %v\n", c.name, warehouse.ExplainMemory(err))
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "cxlake: unknown command %q\n\n", os.Args[1])
	usage()
	os.Exit(2)
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("CXLAKE_LOG_LEVEL"))); err != nil {
		return slog.LevelWarn
	}
	return l
}

// newFlags returns a flag set whose errors name the command and its usage.
func newFlags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: cxlake %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}
