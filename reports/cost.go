package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

// The "Cost" section: bot versus human per resolved conversation, under
// the cost model the warehouse was built with (the cost_model mart), whose
// label is shown with every figure so that the demo's read "illustrative".

// costModelTable is the mart that names the cost model.
const costModelTable = "cost_model"

// fmtValue writes a plain number with two decimals: a mean completeness, a
// cost in the cost model's unit.
func fmtValue(v sql.NullFloat64) string {
	if !v.Valid {
		return dash
	}
	return strconv.FormatFloat(v.Float64, 'f', 2, 64)
}

// loadCostLabel reads the cost model's label; "" when none is configured,
// or when the warehouse was built before the mart existed.
func loadCostLabel(ctx context.Context, db querier) (string, error) {
	var n int
	if err := db.QueryRowContext(ctx,
		`select count(*) from information_schema.tables where lower(table_name) = ?`, costModelTable).Scan(&n); err != nil {
		return "", fmt.Errorf("looking up %s: %w", costModelTable, err)
	}
	if n == 0 {
		return "", nil
	}
	var label string
	err := db.QueryRowContext(ctx, "select cost_label from "+costModelTable+" limit 1").Scan(&label)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", costModelTable, err)
	}
	return label, nil
}

// costHead and costRows are the Cost table: per path (the bot alone, with
// a human, all), the cost per resolved conversation; then the bot's share
// of resolved conversations and of their cost, and the period's total.
var costHead = []tableHead{{"figure", false}, {"value", true}}

func (r *kpiReport) costRows() [][]string {
	f := &r.Overall
	return [][]string{
		{"cost per resolved conversation, bot alone", r.cell(f, "cost_per_resolved_bot", false)},
		{"cost per resolved conversation, with a human", r.cell(f, "cost_per_resolved_human", false)},
		{"cost per resolved conversation, all", r.cell(f, "cost_per_resolved", false)},
		{"bot share of resolved conversations", r.cell(f, "bot_resolved_share", false)},
		{"bot share of their cost", r.cell(f, "bot_resolved_cost_share", false)},
		{"total cost of the period's conversations", r.cell(f, "cost_total", false)},
	}
}

// costNote says what the figures are priced with.
func (r *kpiReport) costNote() string {
	if r.CostLabel == "" {
		return "No cost model is configured (models.cost): no cost figure."
	}
	return "Prices: " + r.CostLabel + " (models.cost). Costs are in the cost model's unit; conversations it cannot price are left out. A resolved conversation handled by the bot alone is the bot's; every other one is a human's."
}

// CostLabel is the label of the cost model the warehouse's costs were
// priced with ("illustrative" for the demo's), "" when none is configured:
// to show beside any cost figure taken from Figures.
func CostLabel(ctx context.Context, db *sql.DB) (string, error) {
	return loadCostLabel(ctx, db)
}
