package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/warehouse"
)

const holdEnv = "CXLAKE_TEST_HOLD_DATA"

func TestMain(m *testing.M) {
	// Child mode: be cxlake (the memory soak runs the demo as a child).
	if os.Getenv(asCxlakeEnv) == "1" {
		main()
		os.Exit(0)
	}
	// Child mode: hold a data directory open like a running server would.
	if dir := os.Getenv(holdEnv); dir != "" {
		wh, err := warehouse.Open(context.Background(), dir, warehouse.Options{})
		if err != nil {
			os.Exit(1)
		}
		os.Stdout.WriteString("holding\n")
		time.Sleep(time.Minute)
		wh.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// capture runs f with os.Stdout redirected and returns what it printed.
func capture(t *testing.T, f func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() { b, _ := io.ReadAll(r); out <- string(b) }()
	ferr := f()
	w.Close()
	os.Stdout = old
	return <-out, ferr
}

func TestDemoOnceThenQuery(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	ctx := context.Background()
	out, err := capture(t, func() error {
		return runDemo(ctx, []string{"--once", "--events", "4000", "--data", dir, "--pg-addr", "127.0.0.1:0"})
	})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"Done in", "events stored", "dead letters", "Dead letters by reason", "Events by channel", "cxlake query --data", "SQL gateway served postgres://127.0.0.1:"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo summary lacks %q:\n%s", want, out)
		}
	}
	var summaryBatches int
	if i := strings.Index(out, "batches "); i < 0 {
		t.Fatalf("demo summary lacks its batches line:\n%s", out)
	} else if _, err := fmt.Sscanf(out[i:], "batches %d", &summaryBatches); err != nil {
		t.Fatalf("parsing the batches line: %v", err)
	}
	out, err = capture(t, func() error {
		return runQuery(ctx, []string{"--data", dir, "--format", "csv",
			"select (select count(*) from events) as events, (select count(*) from dead_letters) as dead, (select sum(messages) from ingest_batches) as messages, " +
				"(select count(distinct batch_id) from ingest_batches) as batches"})
	})
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] != "events,dead,messages,batches" {
		t.Fatalf("query output:\n%s", out)
	}
	var events, dead, messages, batches int
	if _, err := fmt.Sscanf(strings.ReplaceAll(lines[1], ",", " "), "%d %d %d %d", &events, &dead, &messages, &batches); err != nil {
		t.Fatalf("parsing %q: %v", lines[1], err)
	}
	if summaryBatches != batches {
		t.Errorf("the summary says %d batches, the warehouse has %d", summaryBatches, batches)
	}
	// Every produced message is accounted for: stored, dead-lettered, or a duplicate (≤ 1% by design).
	if messages != 4000 || events == 0 || dead == 0 || events+dead > 4000 || events+dead < 3900 {
		t.Fatalf("events %d + dead letters %d of %d messages", events, dead, messages)
	}
	if _, err := os.Stat(filepath.Join(dir, "lake", "events")); err != nil {
		t.Fatalf("demo did not publish the lake: %v", err)
	}
	// Issue 29.6: consent state is current when demo --once exits: one row
	// per person and purpose that has a consent event.
	out, err = capture(t, func() error {
		return runQuery(ctx, []string{"--data", dir, "--format", "csv",
			"select (select count(*) from (select distinct r.contact_key, e.consent_purpose from events e " +
				"join int_identifiers_resolved r on r.identifier_hash = e.subject_hash " +
				"where e.type = 'consent' and e.consent_purpose is not null and e.consent_granted is not null)) as people, " +
				"(select count(*) from consent_state) as state"})
	})
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	var consentPeople, consentState int
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 {
		t.Fatalf("query output:\n%s", out)
	} else if _, err := fmt.Sscanf(strings.ReplaceAll(lines[1], ",", " "), "%d %d", &consentPeople, &consentState); err != nil {
		t.Fatalf("parsing %q: %v", lines[1], err)
	}
	if consentPeople == 0 || consentState != consentPeople {
		t.Errorf("consent_state has %d rows after demo --once, want one per person and purpose with a consent event (%d)", consentState, consentPeople)
	}
	// The history ends now: the latest event is of the last day, none in
	// the future, and no day of the window is empty.
	out, err = capture(t, func() error {
		return runQuery(ctx, []string{"--data", dir, "--format", "csv",
			"select (select epoch(now() - max(occurred_at))::bigint from events) as behind_s, " +
				"(select 30 - count(distinct (opened_at at time zone 'UTC')::date) from conversations where opened_at >= now() - interval 30 days) as empty_days"})
	})
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	var behind, emptyDays int64
	if _, err := fmt.Sscanf(strings.ReplaceAll(strings.Split(strings.TrimSpace(out), "\n")[1], ",", " "), "%d %d", &behind, &emptyDays); err != nil {
		t.Fatalf("parsing %q: %v", out, err)
	}
	if behind < 0 || behind > 24*3600 {
		t.Errorf("the latest event is %d s before now: the demo's history does not end now", behind)
	}
	if emptyDays > 1 {
		t.Errorf("%d of the last 30 days have no conversation", emptyDays)
	}
}

func TestQueryOnHeldDirectorySaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	buf := make([]byte, 8)
	if _, err := io.ReadFull(stdout, buf); err != nil {
		t.Fatalf("holder did not start: %v", err)
	}
	err := runQuery(context.Background(), []string{"--data", dir, "select 1"})
	if err == nil {
		t.Fatal("query on a held directory succeeded")
	}
	for _, want := range []string{"in use by process", "one process per file", "read_parquet"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestLoadIsIdempotentAndPointsAtBadLines(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "backfill.ndjson")
	good := `{"schema":"cx.event/v1","event_id":"L%d","type":"message","occurred_at":"2026-11-20T10:00:0%dZ","channel":"email","conversation_id":"e1","contact":{"email":"A@B.co"},"actor":{"kind":"customer"},"message":{"text":"oi"}}`
	var b bytes.Buffer
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&b, good+"\n", i, i)
	}
	b.WriteString("not json\n")
	b.WriteString(`{"schema":"cx.event/v1","event_id":"L9","type":"message","occurred_at":"2026-11-20T10:00:00","contact":{"email":"a@b.co"}}` + "\n")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for run := 0; run < 2; run++ {
		if out, err := capture(t, func() error { return runLoad(ctx, []string{"--data", dir, file}) }); err != nil {
			t.Fatalf("load run %d: %v\n%s", run, err, out)
		}
	}
	wh, err := warehouse.Open(ctx, dir, warehouse.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	var events, dead int
	var lines string
	if err := wh.DB.QueryRow(`select (select count(*) from events), (select count(*) from dead_letters),
		(select string_agg("offset"::varchar, ',' order by "offset") from dead_letters)`).Scan(&events, &dead, &lines); err != nil {
		t.Fatal(err)
	}
	if events != 3 || dead != 2 || lines != "4,5" {
		t.Fatalf("after loading twice: %d events, %d dead letters at lines %s; want 3, 2 at 4,5", events, dead, lines)
	}

	// The demo shares the default directory with every command, so it must
	// refuse a warehouse it did not make, before writing anything to it.
	wh.Close()
	before, err := os.ReadFile(filepath.Join(dir, warehouse.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	_, err = capture(t, func() error {
		return runDemo(ctx, []string{"--once", "--events", "10", "--data", dir, "--pg-addr", "127.0.0.1:0"})
	})
	if err == nil || !strings.Contains(err.Error(), "did not make") {
		t.Fatalf("demo into a loaded warehouse: %v", err)
	}
	after, err := os.ReadFile(filepath.Join(dir, warehouse.DBFile))
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the refused demo changed the warehouse (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, demoMarker)); !os.IsNotExist(err) {
		t.Fatalf("the refused demo marked the directory: %v", err)
	}
}

func TestBadFlagsSayWhatIsWrong(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		run  func(context.Context, []string) error
		args []string
		want string
	}{
		{runDemo, []string{"--events", "0"}, "--events is 0"},
		{runDemo, []string{"--rate", "-1"}, "--rate"},
		{runQuery, []string{"--format", "xml", "select 1"}, `--format is "xml"`},
		{runQuery, []string{"--data", t.TempDir()}, "give the SQL"},
		{runLoad, []string{"--data", t.TempDir()}, "NDJSON file"},
		{runBench, []string{"nothing"}, "unknown benchmark"},
		{runBroker, []string{"--addr", "10.0.0.1:9092"}, "loopback only"},
		{runRun, []string{"--config", "/nonexistent.yaml"}, "reading config"},
		// Without --config, run would consume 127.0.0.1:9092 into ./cxlake-data.
		{runRun, nil, "--config is required"},
		{runRun, nil, "Usage: cxlake run --config FILE"},
		{runRun, []string{"--config", "x.yaml", "--wait-for-broker", "-1s"}, "--wait-for-broker is -1s"},
	} {
		_, err := capture(t, func() error { return tc.run(ctx, tc.args) })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
}

// The privacy commands on a demo directory: export, erase, the receipt,
// audit verify and show, a retention run, and bad requests that change nothing.
func TestPrivacyCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	ctx := context.Background()
	if out, err := capture(t, func() error { return runDemo(ctx, []string{"--once", "--events", "2000", "--data", dir}) }); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	out, err := capture(t, func() error {
		return runQuery(ctx, []string{"--data", dir, "--format", "csv",
			"select cx_identifier_value(identifier_hash, sealed_value) from identifiers where identifier_kind = 'email' order by identifier_hash limit 1"})
	})
	if err != nil {
		t.Fatal(err)
	}
	email := strings.TrimSpace(strings.Split(strings.TrimSpace(out), "\n")[1])
	if !strings.Contains(email, "@") {
		t.Fatalf("no email to erase: %q", out)
	}
	for _, bad := range [][]string{
		{"--data", dir, "--email", "not-an-email"},
		{"--data", dir, "--email", "nobody.ever@example.org"},
		{"--data", dir, "--email", email, "--phone", "+5511999999999"},
		{"--data", dir},
	} {
		if _, err := capture(t, func() error { return runErase(ctx, bad) }); err == nil {
			t.Errorf("erase %v succeeded", bad)
		} else if strings.Contains(err.Error(), "nobody.ever") {
			t.Errorf("the error quotes the identifier: %v", err)
		}
	}
	// A directory without a warehouse is refused, and nothing is created.
	typo := filepath.Join(t.TempDir(), "demo-typo")
	for _, run := range []func(context.Context, []string) error{runErase, runExport} {
		_, err := capture(t, func() error { return run(ctx, []string{"--data", typo, "--email", email}) })
		if err == nil || !strings.Contains(err.Error(), "holds no warehouse") {
			t.Errorf("a directory without a warehouse: %v", err)
		}
		if _, serr := os.Stat(typo); !os.IsNotExist(serr) {
			t.Fatalf("the refused command created %s", typo)
		}
	}
	// Reading commands never create a warehouse as a side effect either
	// (issue 29 item 10).
	for name, args := range map[string][]string{
		"query":        {"query", "--data", typo, "select 1"},
		"report":       {"report", "kpi", "--data", typo},
		"audit verify": {"audit", "verify", "--data", typo},
		"audit show":   {"audit", "show", "--data", typo},
	} {
		var err error
		switch args[0] {
		case "query":
			_, err = capture(t, func() error { return runQuery(ctx, args[1:]) })
		case "report":
			_, err = capture(t, func() error { return runReport(ctx, args[1:]) })
		default:
			_, err = capture(t, func() error { return runAudit(ctx, args[1:]) })
		}
		if err == nil || !strings.Contains(err.Error(), "no ") {
			t.Errorf("%s on a directory without a warehouse: %v", name, err)
		}
		if _, serr := os.Stat(typo); !os.IsNotExist(serr) {
			t.Fatalf("%s created %s", name, typo)
		}
	}
	// A national phone number without its country code is refused, saying
	// which form is expected, not answered "no data is held".
	for _, run := range []func(context.Context, []string) error{runErase, runExport} {
		_, err := capture(t, func() error { return run(ctx, []string{"--data", dir, "--phone", "(51) 99039-9114"}) })
		if err == nil || !strings.Contains(err.Error(), "E.164") || strings.Contains(err.Error(), "no data") || strings.Contains(err.Error(), "99039") {
			t.Errorf("a national phone number: %v", err)
		}
	}
	// A reason naming someone is refused.
	if _, err := capture(t, func() error {
		return runErase(ctx, []string{"--data", dir, "--email", email, "--reason", "asked by " + email})
	}); err == nil || !strings.Contains(err.Error(), "reason") || strings.Contains(err.Error(), email) {
		t.Errorf("a reason with an e-mail: %v", err)
	}

	// A request filed by contact_key is in the same person's export by
	// e-mail, and the export holds their conversations (a view).
	out, err = capture(t, func() error {
		return runQuery(ctx, []string{"--data", dir, "--format", "csv", `select contact_key from contact_identities where identifier_hash =
			(select identifier_hash from identifiers where identifier_kind = 'email' order by identifier_hash limit 1)`})
	})
	if err != nil {
		t.Fatal(err)
	}
	contactKey := strings.TrimSpace(strings.Split(strings.TrimSpace(out), "\n")[1])
	if _, err := capture(t, func() error { return runExport(ctx, []string{"--data", dir, "--contact", contactKey}) }); err != nil {
		t.Fatalf("export by contact_key: %v", err)
	}
	out, err = capture(t, func() error { return runExport(ctx, []string{"--data", dir, "--email", email}) })
	if err != nil || !strings.Contains(out, email) || !strings.Contains(out, `"events"`) {
		t.Fatalf("export: %v\n%.500s", err, out)
	}
	var x governance.Export
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatal(err)
	}
	if len(x.Conversations) == 0 || len(x.PrivacyRequests) != 1 || x.PrivacyRequests[0]["identifier_kind"] != "contact_key" {
		t.Errorf("export: %d conversations, privacy requests %v", len(x.Conversations), x.PrivacyRequests)
	}
	// The default law (governance.law: both) is the earlier deadline, LGPD's;
	// --law gdpr asks for the GDPR's, and --format html is the page for the
	// person (issue 29 items 2 and 3).
	if x.Law != "lgpd" {
		t.Errorf("export under the default law: %q, want lgpd", x.Law)
	}
	out, err = capture(t, func() error {
		return runExport(ctx, []string{"--data", dir, "--email", email, "--format", "html", "--law", "gdpr"})
	})
	if err != nil || !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "under the GDPR") || !strings.Contains(out, email) ||
		strings.Contains(out, `"events"`) || strings.Contains(out, x.Subject) {
		t.Fatalf("export --format html --law gdpr: %v\n%.500s", err, out)
	}
	for _, bad := range [][]string{{"--format", "pdf"}, {"--law", "ccpa"}} {
		if _, err := capture(t, func() error { return runExport(ctx, append([]string{"--data", dir, "--email", email}, bad...)) }); err == nil {
			t.Errorf("export %v succeeded", bad)
		}
	}
	out, err = capture(t, func() error {
		return runErase(ctx, []string{"--data", dir, "--email", strings.ToUpper(email), "--reason", "test", "--verify-bytes"})
	})
	if err != nil || !strings.Contains(out, "PASSED") || strings.Contains(out, email) {
		t.Fatalf("erase: %v\n%s", err, out)
	}
	out, err = capture(t, func() error { return runAudit(ctx, []string{"verify", "--data", dir}) })
	if err != nil || !strings.Contains(out, "ok:") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	out, err = capture(t, func() error {
		return runAudit(ctx, []string{"show", "--data", dir, "--kind", "privacy_request", "--limit", "0"})
	})
	// The three exports, the erasure, and the erasure of nobody (no_data).
	if err != nil || strings.Count(out, "privacy_request") != 5 || strings.Contains(out, email) {
		t.Fatalf("audit show: %v\n%s", err, out)
	}
	out, err = capture(t, func() error { return runRetention(ctx, []string{"run", "--data", dir, "--now", "2030-01-01"}) })
	if err != nil || !strings.Contains(out, "raw_events") {
		t.Fatalf("retention run: %v\n%s", err, out)
	}
	if _, err := capture(t, func() error { return runRetention(ctx, []string{"run", "--data", dir, "--now", "soon"}) }); err == nil {
		t.Error("retention accepted --now soon")
	}
}
