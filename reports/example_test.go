package reports_test

import (
	"context"
	"database/sql"
	"log"
	"os"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/cxlake/cxlake/reports"
)

// The KPI report for one week, as Markdown for mail. Escalation is null for
// email (no bot took part), so it shows as a dash, and the overall rate is
// whatsapp's alone rather than an average with a made-up zero.
func ExampleKPI() {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`create table kpi_daily as select * from (values
		  (date '2026-11-02', 'whatsapp', 300::bigint, 40.0, 400.0, 100.0, 800.0, 0.4, 0.3, 1800.0, 0.1, 0.6, 0.2, 0.8, 0.8, 20::bigint, 30.0, 10::bigint, 0.2),
		  (date '2026-11-02', 'email',     50::bigint, 7200.0, 36000.0, 7200.0, 36000.0, null, null, 86400.0, 0.02, 0.7, null, null, 0.6, 5::bigint, -20.0, 5::bigint, 0.3)
		) t(day, channel, conversations, frt_p50_s, frt_p90_s, agent_frt_p50_s, agent_frt_p90_s,
		    escalation_rate, containment_rate, resolution_p50_s, reopen_rate, fcr_rate, recontact_rate,
		    handoff_context_rate, csat, csat_responses, nps, nps_responses, sla_breach_rate)`,
	} {
		if _, err := db.Exec(q); err != nil {
			log.Fatal(err)
		}
	}
	week := reports.KPIOptions{
		From:  time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
		To:    time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC),
		Title: "Week 45",
	}
	if err := reports.KPI(context.Background(), db, os.Stdout, week); err != nil {
		log.Fatal(err)
	}
	// Output:
	// # Week 45
	//
	// **Period:** 2026-11-02 to 2026-11-08 (UTC); data for 2026-11-02
	//
	// ## Headline
	//
	// - **Conversations:** 350
	// - **First response time p50 / p90:** 40 s / 6.7 min
	// - **Escalation rate:** 40.0%
	// - **Containment rate:** 30.0%
	// - **First-contact resolution:** 61.4%
	// - **Cross-channel recontact:** 20.0%
	// - **CSAT:** 76.0% (25 responses)
	// - **NPS:** +13 (15 responses)
	// - **SLA breach rate:** 21.4%
	//
	// ## By channel
	//
	// | channel      | conversations | FRT p50 | FRT p90 | agent FRT p50 | escalation | containment | resolution p50 | reopen |   FCR | recontact | handoff context |  CSAT | CSAT n | NPS | NPS n | SLA breach |
	// | ------------ | ------------: | ------: | ------: | ------------: | ---------: | ----------: | -------------: | -----: | ----: | --------: | --------------: | ----: | -----: | --: | ----: | ---------: |
	// | whatsapp     |           300 |    40 s | 6.7 min |       1.7 min |      40.0% |       30.0% |         30 min |  10.0% | 60.0% |     20.0% |           80.0% | 80.0% |     20 | +30 |    10 |      20.0% |
	// | email        |            50 |     2 h |    10 h |           2 h |          — |           — |            1 d |   2.0% | 70.0% |         — |               — | 60.0% |      5 | -20 |     5 |      30.0% |
	// | all channels |           350 |    40 s | 6.7 min |       1.7 min |      40.0% |       30.0% |         30 min |   8.9% | 61.4% |     20.0% |           80.0% | 76.0% |     25 | +13 |    15 |      21.4% |
	//
	// ## By day
	//
	// | day        | conversations | FRT p50 | FRT p90 | escalation | containment |   FCR | recontact |  CSAT | NPS | SLA breach |
	// | ---------- | ------------: | ------: | ------: | ---------: | ----------: | ----: | --------: | ----: | --: | ---------: |
	// | 2026-11-02 |           350 |    40 s | 6.7 min |      40.0% |       30.0% | 61.4% |     20.0% | 76.0% | +13 |      21.4% |
	//
	// ## How these figures are computed
	//
	// - Conversations and survey responses are summed over the days and channels.
	// - CSAT and NPS over several days or channels are weighted by their responses: sum(csat × responses) / sum(responses). This is exact.
	// - Rates (escalation, containment, reopen, FCR, recontact, handoff context, SLA breach) are the daily per-channel rates averaged with each day's conversations as weight. kpi_daily does not carry each rate's own denominator, so this is an approximation where that share differs between days or channels.
	// - Durations (FRT, agent FRT, resolution) over several days or channels are the median of the daily per-channel percentiles, weighted by conversations: an approximation of the true percentile, which needs the per-conversation data in the conversations mart.
	// - A dash (—) means no eligible conversation: the figure is unknown, not zero. Days and channels without a value are left out of that figure.
}
