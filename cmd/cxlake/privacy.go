package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/warehouse"
)

// identifierFlags are the --phone, --email and --contact flags of the
// privacy commands: exactly one must be given.
type identifierFlags struct{ phone, email, contact *string }

func addIdentifierFlags(fs *flag.FlagSet) identifierFlags {
	return identifierFlags{
		phone:   fs.String("phone", "", "the person's phone number (any form ingest accepts)"),
		email:   fs.String("email", "", "the person's e-mail address"),
		contact: fs.String("contact", "", "a per-channel id as channel:id (webchat:c0ffee-42), or a contact_key"),
	}
}

// addLawFlag is the --law flag of the privacy commands.
func addLawFlag(fs *flag.FlagSet) *string {
	return fs.String("law", "", "the law the request is made under, gdpr or lgpd: its deadline and label (default: governance.law)")
}

func (f identifierFlags) parse() (governance.Identifier, error) {
	var kind, value string
	n := 0
	for k, v := range map[string]string{"phone": *f.phone, "email": *f.email, "contact": *f.contact} {
		if v != "" {
			kind, value = k, v
			n++
		}
	}
	if n != 1 {
		return governance.Identifier{}, fmt.Errorf("name the person with exactly one of --phone, --email or --contact")
	}
	return governance.ParseIdentifier(kind, value)
}

// openPersonRequest parses the flags of a command about one person (erase,
// export), then opens the data directory for governance. The caller closes
// both.
func openPersonRequest(ctx context.Context, fs *flag.FlagSet, args []string, usage string, idf identifierFlags,
	data, path *string, mem *memoryFlag) (governance.Identifier, *warehouse.Warehouse, *governed, error) {
	var none governance.Identifier
	if err := fs.Parse(args); err != nil {
		return none, nil, nil, err
	}
	if fs.NArg() > 0 {
		return none, nil, nil, fmt.Errorf("unexpected argument %q: %s", fs.Arg(0), usage)
	}
	id, err := idf.parse()
	if err != nil {
		return none, nil, nil, err
	}
	// A request about a person is answered from a warehouse that exists:
	// a mistyped --data must not create an empty one that answers "no data
	// is held".
	if _, err := os.Stat(filepath.Join(*data, warehouse.DBFile)); err != nil {
		return none, nil, nil, fmt.Errorf("--data %s holds no warehouse (no %s): give the data directory of a cxlake that has ingested data", *data, warehouse.DBFile)
	}
	wh, gv, err := openForGovernance(ctx, *data, *path, mem) // flag values, read after Parse
	return id, wh, gv, err
}

func runErase(ctx context.Context, args []string) (err error) {
	const usage = "erase --data DIR (--phone|--email|--contact) VALUE [--reason R] [--law gdpr|lgpd] [--json] [--verify-bytes] [--include-linked] [--config FILE] [--memory SIZE]"
	fs := newFlags("erase", usage)
	data := dataFlag(fs)
	idf := addIdentifierFlags(fs)
	reason := fs.String("reason", "", "why (kept with the request; do not name the person)")
	law := addLawFlag(fs)
	asJSON := fs.Bool("json", false, "print the receipt as JSON")
	verifyBytes := fs.Bool("verify-bytes", false, "also search every file of the data directory for the person's values (reads the whole directory)")
	includeLinked := fs.Bool("include-linked", false, "also erase the identities linked to the named one only through a shared identifier (a phone or id named with several e-mails); without it such an erasure is refused")
	path := fs.String("config", "", "config file (governance and models settings)")
	mem := addMemoryFlag(fs)
	id, wh, gv, err := openPersonRequest(ctx, fs, args, usage, idf, data, path, mem)
	if err != nil {
		return err
	}
	defer closeAtEnd(wh, &err)
	defer closeAtEnd(closerFunc(gv.close), &err)
	rc, err := gv.gov.Erase(ctx, governance.ErasureRequest{Identifier: id, Reason: *reason, Actor: "cli", Law: *law, VerifyBytes: *verifyBytes,
		IncludeLinked: *includeLinked})
	if rc.Status == governance.StatusNoData {
		return fmt.Errorf("%w (recorded as request %s)", err, rc.RequestID)
	}
	if rc.RequestID != "" {
		if *asJSON {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(rc)
		} else {
			fmt.Print(rc.Text())
			fmt.Printf("\nreceipt saved in %s/%s/%s.json\n", *data, governance.ReceiptsDir, rc.RequestID)
		}
	}
	return err
}

func runExport(ctx context.Context, args []string) (err error) {
	const usage = "export --data DIR (--phone|--email|--contact) VALUE [--format json|html] [--law gdpr|lgpd] [--config FILE] [--memory SIZE]"
	fs := newFlags("export", usage)
	data := dataFlag(fs)
	idf := addIdentifierFlags(fs)
	format := fs.String("format", "json", "json (for machines; schema in docs/governance.md) or html (one page for the person)")
	law := addLawFlag(fs)
	path := fs.String("config", "", "config file (governance and models settings)")
	mem := addMemoryFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *format != "json" && *format != "html" {
		return fmt.Errorf("--format is json or html")
	}
	id, wh, gv, err := openPersonRequest(ctx, fs, args, usage, idf, data, path, mem)
	if err != nil {
		return err
	}
	defer closeAtEnd(wh, &err)
	defer closeAtEnd(closerFunc(gv.close), &err)
	x, err := gv.gov.Export(ctx, governance.ExportRequest{Identifier: id, Actor: "cli", Law: *law})
	if err != nil {
		return err
	}
	if n := x.InternalNotes(); n > 0 {
		fmt.Fprintf(os.Stderr, "export %s includes %d internal note(s) agents wrote about the person: personal data, marked as internal notes\n", x.RequestID, n)
	}
	if *format == "html" {
		return x.WriteHTML(os.Stdout)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(x)
}

func runRetention(ctx context.Context, args []string) (err error) {
	const usage = "retention run --data DIR [--now T] [--config FILE] [--memory SIZE]"
	if len(args) == 0 || args[0] != "run" {
		return fmt.Errorf("usage: cxlake %s", usage)
	}
	fs := newFlags("retention run", usage)
	data := dataFlag(fs)
	now := fs.String("now", "", "apply the policy as of this time (RFC 3339 or YYYY-MM-DD; default now)")
	path := fs.String("config", "", "config file with governance.retention (defaults otherwise; see docs/config.md)")
	mem := addMemoryFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: %s", fs.Arg(0), usage)
	}
	asOf := time.Now()
	if *now != "" {
		var err error
		if asOf, err = time.Parse(time.RFC3339, *now); err != nil {
			if asOf, err = time.Parse(time.DateOnly, *now); err != nil {
				return fmt.Errorf("--now is %q: write RFC 3339 (2026-11-21T00:00:00Z) or a date (2026-11-21)", *now)
			}
		}
	}
	wh, gv, err := openForGovernance(ctx, *data, *path, mem)
	if err != nil {
		return err
	}
	defer closeAtEnd(wh, &err)
	defer closeAtEnd(closerFunc(gv.close), &err)
	rep, err := gv.gov.RunRetention(ctx, asOf)
	if err != nil {
		return err
	}
	fmt.Printf("retention run %s as of %s (audit record %d)\n", rep.RunID, rep.AsOf.Format(time.RFC3339), rep.AuditIndex)
	fmt.Printf("  %-13s %-6s %-12s %-22s %10s %6s %6s %5s\n", "class", "policy", "cutoff", "where", "rows", "files-", "files~", "keys")
	for _, r := range rep.Runs {
		policy, cut := "forever", "-"
		if r.PolicyDays > 0 {
			policy = fmt.Sprintf("%dd", r.PolicyDays)
			cut = r.Cutoff.Format(time.DateOnly)
		}
		fmt.Printf("  %-13s %-6s %-12s %-22s %10d %6d %6d %5d\n", r.Class, policy, cut, r.Location, r.RowsRemoved, r.FilesRemoved, r.FilesRewritten, r.KeysDestroyed)
	}
	// Removed events make the next refresh a full rebuild; do it now.
	refresh, err := modelRefresher(wh, gv.models, gv.refreshed)
	if err != nil {
		return err
	}
	if err := refresh(ctx); err != nil {
		return fmt.Errorf("refreshing models after retention: %w", err)
	}
	return nil
}

func runConsent(ctx context.Context, args []string) (err error) {
	const usage = "consent enforce --data DIR [--config FILE] [--memory SIZE]"
	if len(args) == 0 || args[0] != "enforce" {
		return fmt.Errorf("usage: cxlake %s", usage)
	}
	fs := newFlags("consent enforce", usage)
	data := dataFlag(fs)
	path := fs.String("config", "", "config file (governance and models settings)")
	mem := addMemoryFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	wh, gv, err := openForGovernance(ctx, *data, *path, mem)
	if err != nil {
		return err
	}
	defer closeAtEnd(wh, &err)
	defer closeAtEnd(closerFunc(gv.close), &err)
	refresh, err := modelRefresher(wh, gv.models, gv.refreshed)
	if err != nil {
		return err
	}
	if err := refresh(ctx); err != nil { // consent is enforced per person: resolve people first
		return fmt.Errorf("refreshing models: %w", err)
	}
	rep, err := gv.gov.EnforceConsent(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("consent enforced: %d changes, %d people newly withdrawn (%d identifiers, %d events redacted, %d dead letters keyed out, %d keys destroyed), %d re-granted\n",
		rep.Changes, rep.Withdrawn, rep.Identifiers, rep.Redacted, rep.DeadLetters, rep.Keys, rep.Regranted)
	return nil
}
