package models

import (
	"fmt"
	"slices"
	"strings"
)

// The KPI definitions in SQL, in one place. The base, int_kpi_counts_aggregated
// (shown as the mart kpi_counts_daily), holds per UTC day × channel × team ×
// handled_by the numerator and denominator of every rate as counts, and every
// conversation's FRT, agent FRT and resolution time as lists, with their
// totals in microseconds, and every reply time. KPIFigures are
// the aggregate expressions that turn any set of its rows into the KPIs of
// that set: kpi_daily and kpi_daily_team are these expressions grouped by day
// and channel (and team), and the KPI report evaluates them over the period
// and filter it is asked for. Summing counts and taking quantile_cont over
// the concatenated lists is exact: each figure equals the same KPI computed
// over the conversations of those rows.

// KPIKind says what a figure measures, and so how it is shown.
type KPIKind int

const (
	KPICount    KPIKind = iota // a number of conversations or answers
	KPIDuration                // seconds, a continuous percentile
	KPIRate                    // a fraction from 0 to 1
	KPIScore                   // NPS, from -100 to 100
	KPIValue                   // a plain number: a mean completeness (0 to 4), a cost in the cost model's unit
)

// KPIFigure is one kpi_daily column computed from kpi_counts_daily rows.
type KPIFigure struct {
	// Name is the kpi_daily column.
	Name string
	Kind KPIKind
	// Expr is an aggregate over kpi_counts_daily rows. It is null when no
	// conversation of the rows is eligible (never zero); a count is 0.
	Expr string
	// Sample, for every figure but a count, is an aggregate counting what
	// Expr is computed over: the eligible conversations of a rate, the
	// durations of a percentile, the answers of CSAT and NPS.
	Sample string
}

func sumOf(col string) string { return "coalesce(sum(" + col + "), 0)::bigint" }

func ratio(num, den string) string {
	return "sum(" + num + ")::double / nullif(sum(" + den + "), 0)"
}

func percentile(list string, p string) string {
	return "list_aggregate(flatten(list(" + list + ")), 'quantile_cont', " + p + ")"
}

// mean is a mean in seconds from a list's total in whole microseconds and
// the list's length: both add up exactly over any rows, so the mean of a
// period is the mean of its conversations, never a mean of daily means.
func mean(usSum, list string) string {
	return "sum(" + usSum + ")::double / nullif(sum(len(" + list + ")), 0) / 1e6"
}

func listed(list string) string { return "coalesce(sum(len(" + list + ")), 0)::bigint" }

// KPIFigures are kpi_daily's columns after day and channel, in its order.
var KPIFigures = []KPIFigure{
	{Name: "conversations", Kind: KPICount, Expr: sumOf("conversations")},
	{Name: "frt_p50_s", Kind: KPIDuration, Expr: percentile("frt_s_values", "0.5"), Sample: listed("frt_s_values")},
	{Name: "frt_p90_s", Kind: KPIDuration, Expr: percentile("frt_s_values", "0.9"), Sample: listed("frt_s_values")},
	{Name: "agent_frt_p50_s", Kind: KPIDuration, Expr: percentile("agent_frt_s_values", "0.5"), Sample: listed("agent_frt_s_values")},
	{Name: "agent_frt_p90_s", Kind: KPIDuration, Expr: percentile("agent_frt_s_values", "0.9"), Sample: listed("agent_frt_s_values")},
	{Name: "escalation_rate", Kind: KPIRate, Expr: ratio("escalated_conversations", "bot_handled_conversations"), Sample: sumOf("bot_handled_conversations")},
	{Name: "containment_rate", Kind: KPIRate, Expr: ratio("contained_conversations", "bot_resolved_conversations"), Sample: sumOf("bot_resolved_conversations")},
	{Name: "resolution_p50_s", Kind: KPIDuration, Expr: percentile("resolution_s_values", "0.5"), Sample: listed("resolution_s_values")},
	{Name: "reopen_rate", Kind: KPIRate, Expr: ratio("reopened_conversations", "ever_resolved_conversations"), Sample: sumOf("ever_resolved_conversations")},
	{Name: "fcr_rate", Kind: KPIRate, Expr: ratio("fcr_conversations", "fcr_known_conversations"), Sample: sumOf("fcr_known_conversations")},
	{Name: "recontact_rate", Kind: KPIRate, Expr: ratio("recontact_conversations", "recontact_known_conversations"), Sample: sumOf("recontact_known_conversations")},
	{Name: "handoff_context_rate", Kind: KPIRate, Expr: ratio("handoffs_with_context", "handoffs"), Sample: sumOf("handoffs")},
	{Name: "csat_share", Kind: KPIRate, Expr: ratio("csat_positive", "csat_responses"), Sample: sumOf("csat_responses")},
	{Name: "csat_responses", Kind: KPICount, Expr: sumOf("csat_responses")},
	{Name: "nps", Kind: KPIScore, Expr: "100 * (sum(nps_promoters) - sum(nps_detractors))::double / nullif(sum(nps_responses), 0)", Sample: sumOf("nps_responses")},
	{Name: "nps_responses", Kind: KPICount, Expr: sumOf("nps_responses")},
	{Name: "sla_breach_rate", Kind: KPIRate, Expr: ratio("sla_breached_conversations", "sla_known_conversations"), Sample: sumOf("sla_known_conversations")},
	{Name: "bot_handled_conversations", Kind: KPICount, Expr: sumOf("bot_handled_conversations")},
	{Name: "resolved_conversations", Kind: KPICount, Expr: sumOf("resolved_conversations")},
	{Name: "fcr_known_conversations", Kind: KPICount, Expr: sumOf("fcr_known_conversations")},
	// Means beside the percentiles (Chatwoot and Zendesk show the average).
	{Name: "frt_mean_s", Kind: KPIDuration, Expr: mean("frt_us_sum", "frt_s_values"), Sample: listed("frt_s_values")},
	{Name: "agent_frt_mean_s", Kind: KPIDuration, Expr: mean("agent_frt_us_sum", "agent_frt_s_values"), Sample: listed("agent_frt_s_values")},
	{Name: "resolution_mean_s", Kind: KPIDuration, Expr: mean("resolution_us_sum", "resolution_s_values"), Sample: listed("resolution_s_values")},
	// Reply time: every wait after the first exchange, of every conversation.
	{Name: "reply_time_p50_s", Kind: KPIDuration, Expr: percentile("reply_time_s_values", "0.5"), Sample: listed("reply_time_s_values")},
	{Name: "reply_time_p90_s", Kind: KPIDuration, Expr: percentile("reply_time_s_values", "0.9"), Sample: listed("reply_time_s_values")},
	{Name: "reply_time_mean_s", Kind: KPIDuration, Expr: mean("reply_time_us_sum", "reply_time_s_values"), Sample: listed("reply_time_s_values")},
	{Name: "reply_waits", Kind: KPICount, Expr: listed("reply_time_s_values")},
	// Resolution time and time to handoff in business hours (and time to
	// handoff on the clock).
	{Name: "resolution_business_p50_s", Kind: KPIDuration, Expr: percentile("resolution_business_s_values", "0.5"), Sample: listed("resolution_business_s_values")},
	{Name: "resolution_business_mean_s", Kind: KPIDuration, Expr: mean("resolution_business_us_sum", "resolution_business_s_values"), Sample: listed("resolution_business_s_values")},
	{Name: "handoff_p50_s", Kind: KPIDuration, Expr: percentile("handoff_s_values", "0.5"), Sample: listed("handoff_s_values")},
	{Name: "handoff_mean_s", Kind: KPIDuration, Expr: mean("handoff_us_sum", "handoff_s_values"), Sample: listed("handoff_s_values")},
	{Name: "handoff_business_p50_s", Kind: KPIDuration, Expr: percentile("handoff_business_s_values", "0.5"), Sample: listed("handoff_business_s_values")},
	{Name: "handoff_business_mean_s", Kind: KPIDuration, Expr: mean("handoff_business_us_sum", "handoff_business_s_values"), Sample: listed("handoff_business_s_values")},
	{Name: "handoff_sla_met_rate", Kind: KPIRate, Expr: ratio("handoff_sla_met_conversations", "handoff_sla_known_conversations"), Sample: sumOf("handoff_sla_known_conversations")},
	// Handoff completeness: of first handoffs whose items are known.
	{Name: "handoff_complete_rate", Kind: KPIRate, Expr: ratio("handoffs_complete", "handoffs_rated"), Sample: sumOf("handoffs_rated")},
	{Name: "handoff_completeness_mean", Kind: KPIValue, Expr: ratio("handoff_completeness_sum", "handoffs_rated"), Sample: sumOf("handoffs_rated")},
	// Cost (models.cost): over the conversations the cost model prices,
	// null when it prices none (no cost model: null, never 0).
	{Name: "cost_total", Kind: KPIValue, Expr: "case when sum(costed_conversations) > 0 then sum(cost_micros) / 1e6 end", Sample: sumOf("costed_conversations")},
	{Name: "cost_per_resolved", Kind: KPIValue, Expr: ratio("resolved_cost_micros", "resolved_costed_conversations") + " / 1e6", Sample: sumOf("resolved_costed_conversations")},
	{Name: "cost_per_resolved_bot", Kind: KPIValue, Expr: ratio("bot_resolved_cost_micros", "bot_resolved_costed_conversations") + " / 1e6", Sample: sumOf("bot_resolved_costed_conversations")},
	{Name: "cost_per_resolved_human", Kind: KPIValue, Expr: ratio("resolved_cost_micros - bot_resolved_cost_micros", "resolved_costed_conversations - bot_resolved_costed_conversations") + " / 1e6",
		Sample: sumOf("resolved_costed_conversations - bot_resolved_costed_conversations")},
	{Name: "bot_resolved_share", Kind: KPIRate, Expr: ratio("bot_resolved_costed_conversations", "resolved_costed_conversations"), Sample: sumOf("resolved_costed_conversations")},
	{Name: "bot_resolved_cost_share", Kind: KPIRate, Expr: ratio("bot_resolved_cost_micros", "resolved_cost_micros"), Sample: sumOf("resolved_costed_conversations")},
	// Did the customer repeat themselves (docs/models.md "Repetition"):
	// true ÷ non-null repeated_after_handoff, repeated_after_switch.
	{Name: "repeat_after_handoff_rate", Kind: KPIRate, Expr: ratio("repeat_handoff_conversations", "repeat_handoff_known_conversations"), Sample: sumOf("repeat_handoff_known_conversations")},
	{Name: "repeat_after_switch_rate", Kind: KPIRate, Expr: ratio("repeat_switch_conversations", "repeat_switch_known_conversations"), Sample: sumOf("repeat_switch_known_conversations")},
}

// KPISelect is the select list of kpi_daily's figures: "expr as name, ...".
// With samples, each figure that has a sample is followed by
// "sample as name_n".
func KPISelect(samples bool) string {
	var b strings.Builder
	for i, f := range KPIFigures {
		if i > 0 {
			b.WriteString(",\n        ")
		}
		b.WriteString(f.Expr + " as " + f.Name)
		if samples && f.Sample != "" {
			b.WriteString(",\n        " + f.Sample + " as " + f.Name + "_n")
		}
	}
	return b.String()
}

// KPISelectOf is the select list of the named figures, in the order given:
// for a mart that shows some of them over rows shaped like the base's (the
// per-agent mart, kpi_daily_agent). A name that is no figure is an error.
func KPISelectOf(names ...string) (string, error) {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		i := slices.IndexFunc(KPIFigures, func(f KPIFigure) bool { return f.Name == n })
		if i < 0 {
			return "", fmt.Errorf("no KPI figure %q (models.KPIFigures)", n)
		}
		parts = append(parts, KPIFigures[i].Expr+" as "+n)
	}
	return strings.Join(parts, ",\n        "), nil
}
