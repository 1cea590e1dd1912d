package reports

import (
	"context"
	"fmt"
	"slices"
)

// slasTable is the mart that says which clock each channel's SLA runs on.
const slasTable = "channel_slas"

// channelSLA is one channel's SLA: its expected first response time and the
// clock its breach rate was measured on ("clock" or "business").
type channelSLA struct {
	Channel string
	Seconds float64
	Clock   string
}

// loadSLAs reads channel_slas, the channels of the filter only (all when it
// names none). A warehouse built before the mart existed has none: the
// report then leaves the section out instead of failing.
func loadSLAs(ctx context.Context, db querier, f Filter) ([]channelSLA, error) {
	var n int
	if err := db.QueryRowContext(ctx,
		`select count(*) from information_schema.tables where lower(table_name) = ?`, slasTable).Scan(&n); err != nil {
		return nil, fmt.Errorf("looking up %s: %w", slasTable, err)
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, "select channel, sla_s, sla_clock from "+slasTable+" order by channel")
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", slasTable, err)
	}
	defer rows.Close()
	var out []channelSLA
	for rows.Next() {
		var s channelSLA
		if err := rows.Scan(&s.Channel, &s.Seconds, &s.Clock); err != nil {
			return nil, fmt.Errorf("reading %s: %w", slasTable, err)
		}
		if len(f.Channels) == 0 || slices.Contains(f.Channels, s.Channel) {
			out = append(out, s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", slasTable, err)
	}
	return out, nil
}

// clockLabel says for people what an SLA's clock counts.
func clockLabel(clock string) string {
	switch clock {
	case "business":
		return "business hours"
	case "clock":
		return "elapsed time"
	}
	return clock
}

// slaHead and slaRows are the table of SLAs and their clocks.
var slaHead = []tableHead{{"channel", false}, {"SLA", true}, {"measured on", false}}

func (r *kpiReport) slaRows() [][]string {
	var rows [][]string
	for _, s := range r.SLAs {
		rows = append(rows, []string{channelLabel(s.Channel), fmtDuration(sqlFloat(s.Seconds)), clockLabel(s.Clock)})
	}
	return rows
}

// slaNote says how to read the SLA breach rates.
const slaNote = "A channel's SLA breach rate is measured on its SLA's clock: elapsed time counts every second from the customer's first message, business hours only the open hours of the conversation's schedule (holidays excluded)."
