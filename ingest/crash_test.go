package ingest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// The crash child: the test binary re-executed with crashChildEnv set runs
// one consumer until it is killed.
const crashChildEnv = "CXLAKE_TEST_CRASH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) == "1" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

func crashChild() int {
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, os.Getenv("CRASH_DATA"), warehouse.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	cfg := Defaults()
	cfg.Brokers, cfg.Topics, cfg.GroupID = []string{os.Getenv("CRASH_BROKER")}, []string{os.Getenv("CRASH_TOPIC")}, "crash"
	// Batches of three parts: kills land between parts of an open batch too.
	cfg.BatchSize, cfg.FetchSize, cfg.BatchWait, cfg.SessionTimeout = 3000, 1000, 50*time.Millisecond, 2*time.Second
	c := NewConsumer(cfg, wh, nil)
	// Tell the parent after each durable batch, so it can kill at a point
	// where work remains however fast this machine is.
	c.AfterBatch = func(warehouse.Result) { fmt.Println("batch") }
	if err := c.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// TestCrashRecovery kills ingest with SIGKILL at random moments while it
// writes 200,000 messages, restarts it each time, and checks that the
// warehouse ends with exactly the distinct events produced: none lost, none doubled.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test produces 200,000 messages; skipped with -short")
	}
	const total, trials = 200_000, 5
	topic := "crash"
	broker, err := simulate.StartBroker(simulate.BrokerOptions{Partitions: 3, MinSessionTimeout: time.Second}, topic)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()

	// Produce, remembering the distinct valid event ids and the malformed count.
	gen := simulate.New(simulate.Config{Seed: 42, PerDay: simulate.PerDayFor(total, 30)})
	want := make(map[string]bool, total)
	malformed := 0
	w := simulate.NewWriter(broker.Addrs(), topic)
	batch := make([]kafka.Message, 0, 5000)
	for i := 0; i < total; i++ {
		m := gen.Next()
		if m.Valid {
			var id struct {
				EventID string `json:"event_id"`
			}
			if err := json.Unmarshal(m.Value, &id); err != nil {
				t.Fatal(err)
			}
			want[id.EventID] = true
		} else {
			malformed++
		}
		batch = append(batch, kafka.Message{Key: m.Key, Value: m.Value})
		if len(batch) == cap(batch) || i == total-1 {
			if err := w.WriteMessages(context.Background(), batch...); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	w.Close()

	data := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("kill schedule seed %d", seed)
	for trial := 1; trial <= trials; trial++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"=1", "CRASH_DATA="+data,
			"CRASH_BROKER="+broker.Addrs()[0], "CRASH_TOPIC="+topic)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of durable batches (1 to 6, of 3,000
		// messages) plus a random 0-80 ms, so the kill lands anywhere: in a
		// fetch, an append, a commit, between a commit and its offsets.
		// Counting batches instead of waiting a fixed time keeps work left
		// to interrupt on a fast machine and on a loaded one.
		batches, delay := 1+rng.IntN(6), time.Duration(rng.IntN(80))*time.Millisecond
		sc := bufio.NewScanner(out)
		seen := 0
		stuck := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() }) // ends the scan below
		for seen < batches && sc.Scan() {
			if sc.Text() == "batch" {
				seen++
			}
		}
		stuck.Stop()
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && seen == batches {
			t.Fatalf("trial %d: kill: %v", trial, err)
		}
		go io.Copy(io.Discard, out)
		_ = cmd.Wait()
		if s := stderr.String(); strings.Contains(s, "child:") {
			t.Fatalf("trial %d: child failed before the kill: %s", trial, s)
		}
		if seen < batches {
			t.Fatalf("trial %d: the child ended after %d batches, before the kill", trial, seen)
		}
		t.Logf("trial %d: killed %s after its batch %d", trial, delay, batches)
	}

	// Restart once more and let it finish.
	wh, err := warehouse.Open(context.Background(), data, warehouse.Options{})
	if err != nil {
		t.Fatalf("reopening after kills: %v", err)
	}
	defer wh.Close()
	h := &harness{t: t, broker: broker, topic: topic, wh: wh}
	before := h.count("select count(*) from events")
	t.Logf("after %d kills: %d of %d events stored", trials, before, len(want))
	if before == 0 || before >= len(want) {
		t.Fatalf("the kills did not interrupt ingest (%d of %d stored): the test proved nothing", before, len(want))
	}
	cfg := h.config()
	cfg.GroupID = "crash"
	// The harness's 500 makes recovering ~150,000 events needlessly slow on a busy machine.
	cfg.BatchSize, cfg.FetchSize = 5000, 1000
	stop := h.start(NewConsumer(cfg, wh, nil))
	h.waitRows("select count(*) from events", len(want), 300*time.Second)
	h.waitRows("select count(*) from dead_letters", malformed, 30*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := h.count("select count(*) - count(distinct event_id) from events"); n != 0 {
		t.Fatalf("%d doubled events", n)
	}
	rows, err := wh.DB.Query("select event_id from events")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var id string
		rows.Scan(&id)
		if !want[id] {
			t.Fatalf("stored event %s was never produced", id)
		}
		got++
	}
	if got != len(want) {
		t.Fatalf("stored %d events, want %d", got, len(want))
	}
}
