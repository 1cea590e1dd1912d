package gateway

import "testing"

func TestPgColumnName(t *testing.T) {
	for in, want := range map[string]string{
		"count_star()": "count", `min("day")`: "min", "sum(conversations)": "sum",
		"round(CAST(avg(escalation_rate) AS DECIMAL(18,3)), 4)": "round",
		"CAST(avg(x) AS DOUBLE)":                                "avg", "CAST(x AS INTEGER)": "x",
		"n": "n", "channel": "channel", "(a + 1)": "(a + 1)", "unknown": "unknown", "Count(x)": "Count(x)",
	} {
		if got := pgColumnName(in); got != want {
			t.Errorf("pgColumnName(%q) = %q, want %q", in, got, want)
		}
	}
}
