package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cxlake/cxlake/governance/audit"
)

func runAudit(ctx context.Context, args []string) error {
	const usage = "audit verify|show --data DIR"
	if len(args) == 0 {
		return fmt.Errorf("usage: cxlake %s", usage)
	}
	switch args[0] {
	case "verify":
		return auditVerify(ctx, args[1:])
	case "show":
		return auditShow(ctx, args[1:])
	}
	return fmt.Errorf("unknown audit command %q: use verify or show", args[0])
}

// auditVerify reads only the audit files, so it works while a server runs.
func auditVerify(ctx context.Context, args []string) error {
	fs := newFlags("audit verify", "audit verify --data DIR [--vkey FILE] [--since SIZE:HASH]... [--witness FILE]")
	data := dataFlag(fs)
	vkey := fs.String("vkey", "", "verifier key kept outside the data directory (default: DIR/audit/signer.vkey)")
	witness := fs.String("witness", "", "audit witness file (default: "+audit.EnvWitnessFile+", else the one cxlake run keeps in the user's config directory, when it exists)")
	var since headsFlag
	fs.Var(&since, "since", "a head printed by an earlier verify (SIZE:HASH): the log must extend it; repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := filepath.Join(*data, audit.Dir)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("no audit log in %s: %w", *data, err)
	}
	opts := audit.VerifyOptions{Since: since}
	if *vkey != "" {
		v, err := audit.ReadVerifierKey(*vkey)
		if err != nil {
			return err
		}
		opts.Verifier = v
	}
	if *witness != "" {
		if _, err := os.Stat(*witness); err != nil {
			return fmt.Errorf("--witness: %w", err)
		}
		opts.Witness = *witness
	} else {
		w, err := audit.FindWitness(*data)
		if err != nil {
			return err
		}
		opts.Witness = w
	}
	rep, err := audit.Verify(ctx, dir, opts)
	if err != nil {
		var te *audit.TamperError
		var re *audit.RollbackError
		switch {
		case errors.As(err, &te):
			fmt.Printf("FAILED: record %d: %s\n", te.Index, te.Problem)
		case errors.As(err, &re):
			fmt.Printf("FAILED: %s\n", re)
		}
		return err
	}
	fmt.Printf("ok: %d records verified against %d signed checkpoints (latest: %d records, %s, key %s)\n",
		rep.Records, rep.Checkpoints, rep.Latest.N, rep.Latest.Time.Format(time.RFC3339), rep.Signer)
	if rep.Pruned > 0 {
		fmt.Printf("    %d records before index %d were removed by retention; their hashes still verify\n", rep.Pruned, rep.Pruned)
	}
	if rep.Uncovered > 0 {
		fmt.Printf("    %d records after the latest checkpoint match their recorded hashes but are not signed yet\n", rep.Uncovered)
	}
	for _, h := range rep.Heads {
		fmt.Printf("    extends the remembered head %s\n", h)
	}
	if opts.Witness == "" {
		fmt.Printf("    no witness: a rollback to an earlier checkpoint cannot be told from this directory alone\n")
	}
	fmt.Printf("head: %s\n    keep it outside the data directory; a later verify --since %s proves the log only grew\n", rep.Latest.Head(), rep.Latest.Head())
	return nil
}

// headsFlag collects --since heads.
type headsFlag []audit.Head

func (h *headsFlag) String() string { return fmt.Sprint([]audit.Head(*h)) }

func (h *headsFlag) Set(s string) error {
	v, err := audit.ParseHead(s)
	if err != nil {
		return err
	}
	*h = append(*h, v)
	return nil
}

func auditShow(ctx context.Context, args []string) error {
	fs := newFlags("audit show", "audit show --data DIR [--from N] [--limit N] [--kind K] [--json]")
	data := dataFlag(fs)
	from := fs.Int64("from", 0, "first record index")
	limit := fs.Int("limit", 100, "records to show (0: all)")
	kind := fs.String("kind", "", "only records of this kind (ingest_batch, model_refresh, gateway_query, consent_change, retention_run, privacy_request, ...)")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	shown := 0
	enc := json.NewEncoder(os.Stdout)
	return audit.ReadRecords(ctx, filepath.Join(*data, audit.Dir), *from, func(r audit.Record) bool {
		if *kind != "" && r.Kind != *kind {
			return true
		}
		if *asJSON {
			_ = enc.Encode(r)
		} else {
			d, _ := json.Marshal(r.Detail)
			subject := r.Subject
			if subject == "" {
				subject = "-"
			}
			fmt.Printf("%6d  %s  %-16s %-10s %-32s %s\n", r.Index, r.Time.Format(time.RFC3339), r.Kind, r.Actor, subject, d)
		}
		shown++
		return *limit == 0 || shown < *limit
	})
}
