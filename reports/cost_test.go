package reports

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestCostSection: the Markdown and HTML reports have a "Cost" section
// labelled with the cost model's label (the fixture's is the demo's,
// "illustrative"), showing bot versus human per resolved conversation with
// the figures of SQL written directly over conversations, and the JSON
// report names the label.
func TestCostSection(t *testing.T) {
	wh := fixture(t)
	db := wh.DB
	var bot, human float64
	if err := db.QueryRow(`select
		sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null and bot_handled and not escalated)::double
			/ count(cost) filter (where resolved_at is not null and bot_handled and not escalated) / 1e6,
		sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null and not (bot_handled and not escalated))::double
			/ count(cost) filter (where resolved_at is not null and not (bot_handled and not escalated)) / 1e6
		from conversations`).Scan(&bot, &human); err != nil {
		t.Fatal(err)
	}
	if !(bot > 0 && human > bot) {
		t.Fatalf("fixture: cost per resolved conversation %.4f by the bot alone, %.4f with a human: want both priced, a human dearer", bot, human)
	}
	for _, format := range []string{"markdown", "html"} {
		var b bytes.Buffer
		if err := KPI(context.Background(), db, &b, KPIOptions{Format: format}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{"Cost</h2>", "Prices: illustrative (models.cost)",
			"cost per resolved conversation, bot alone", fmtValue(sqlFloat(bot)), fmtValue(sqlFloat(human))} {
			if format == "markdown" && want == "Cost</h2>" {
				want = "## Cost\n"
			}
			if !strings.Contains(out, want) {
				t.Errorf("%s report lacks %q", format, want)
			}
		}
	}
	doc := reportJSON(t, db, KPIOptions{})
	if doc["cost_label"] != "illustrative" {
		t.Errorf("JSON cost_label = %v, want illustrative", doc["cost_label"])
	}
}
