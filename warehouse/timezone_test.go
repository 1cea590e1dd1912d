package warehouse

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Every DuckDB connection of the warehouse runs in UTC, whatever the
// process's TZ: a day is a UTC day for `cxlake query`, the models and the
// gateway alike. The check runs in child processes, since the process's zone
// is read when DuckDB starts.
func TestEveryConnectionRunsInUTC(t *testing.T) {
	if os.Getenv("CXLAKE_TZ_CHILD") != "" {
		printConnectionDays(t)
		return
	}
	for _, tz := range []string{"UTC", "America/Sao_Paulo", "Asia/Kolkata", "Pacific/Chatham"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEveryConnectionRunsInUTC$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CXLAKE_TZ_CHILD=1", "TZ="+tz)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("TZ=%s: %v\n%s", tz, err, out)
		}
		got := ""
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "days:") {
				got = line
			}
		}
		// 02:30Z on 10 March is 9 March in São Paulo (-03:00) and 10 March
		// in Kolkata (+05:30) and Chatham (+13:00): only UTC gives the same
		// answer on every connection in every zone.
		if want := "days: 2026-03-10 UTC 2026-03-10 UTC 2026-03-10 UTC"; got != want {
			t.Errorf("TZ=%s: %q, want %q", tz, got, want)
		}
	}
}

// printConnectionDays prints the day of one instant and the time zone on
// three connections held at once, so the pool opens three.
func printConnectionDays(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var parts []string
	for i := 0; i < 3; i++ {
		c, err := w.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var day, zone string
		if err := c.QueryRowContext(ctx, "select (timestamptz '2026-03-10 02:30:00+00')::date::varchar, current_setting('TimeZone')").Scan(&day, &zone); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, day, zone)
	}
	fmt.Println("days: " + strings.Join(parts, " "))
}
