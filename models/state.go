package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// stateDDL creates models_state, the one-row record of the last build: what
// a Refresh starts from.
const stateDDL = `create table if not exists models_state (
    id            integer primary key,
    built_batch_id bigint not null,
    built_events  bigint not null,
    max_event_at  timestamptz,
    fingerprint   varchar not null,
    built_at      timestamptz not null
)`

// stateJudgedDDL adds judged_at to a models_state made before it existed:
// the clock ("now") the last build judged open windows and deadlines
// against.
const stateJudgedDDL = `alter table models_state add column if not exists judged_at timestamptz`

// buildState is a row of models_state, or a snapshot of the events table.
type buildState struct {
	Batch       int64 // the highest batch_id built from
	Events      int64 // events with batch_id <= Batch
	MaxEventAt  sql.NullTime
	Fingerprint string
	// JudgedAt is the clock the build judged FCR windows and SLA deadlines
	// against (Config.Now); null in a state written before it was recorded.
	JudgedAt sql.NullTime
}

func readSnapshot(ctx context.Context, conn *sql.Conn) (buildState, error) {
	var s buildState
	err := conn.QueryRowContext(ctx, "select coalesce(max(batch_id), 0), count(*), max(occurred_at) from events").
		Scan(&s.Batch, &s.Events, &s.MaxEventAt)
	if err != nil {
		return s, fmt.Errorf("reading the events snapshot: %w", err)
	}
	return s, nil
}

func readState(ctx context.Context, conn *sql.Conn) (buildState, bool, error) {
	var s buildState
	err := conn.QueryRowContext(ctx, "select built_batch_id, built_events, max_event_at, fingerprint, judged_at from models_state where id = 1").
		Scan(&s.Batch, &s.Events, &s.MaxEventAt, &s.Fingerprint, &s.JudgedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("reading models_state: %w", err)
	}
	return s, true, nil
}

func writeState(ctx context.Context, conn *sql.Conn, s buildState) error {
	_, err := conn.ExecContext(ctx, `insert or replace into models_state
		(id, built_batch_id, built_events, max_event_at, fingerprint, built_at, judged_at) values (1, ?, ?, ?, ?, ?, ?)`,
		s.Batch, s.Events, s.MaxEventAt, s.Fingerprint, time.Now().UTC(), s.JudgedAt)
	if err != nil {
		return fmt.Errorf("writing models_state: %w", err)
	}
	return nil
}

// writeConfig writes the configuration the models read as tables (the
// project's seeds): cfg_sla, cfg_schedules, cfg_business_hours, cfg_holidays
// and cfg_frt_buckets.
func writeConfig(ctx context.Context, conn *sql.Conn, cfg Config) error {
	for _, q := range []string{
		"create or replace table cfg_sla (channel varchar primary key, sla_s double not null, clock varchar not null)",
		"create or replace table cfg_schedules (schedule_key varchar primary key, tz varchar not null)",
		"create or replace table cfg_business_hours (schedule_key varchar not null, weekday integer not null, start_s integer not null, end_s integer not null)",
		"create or replace table cfg_holidays (schedule_key varchar not null, year integer, month integer not null, day integer not null)",
		"create or replace table cfg_frt_buckets (bucket integer primary key, from_s double not null, to_s double, label varchar not null)",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating config tables: %w", err)
		}
	}
	for ch, d := range cfg.SLA {
		if _, err := conn.ExecContext(ctx, "insert into cfg_sla values (?, ?, ?)", ch, d.Seconds(), string(cfg.slaClock(ch))); err != nil {
			return fmt.Errorf("writing cfg_sla: %w", err)
		}
	}
	for key, s := range cfg.Schedules {
		tz := s.TZ
		if tz == "" {
			tz = "UTC"
		}
		if _, err := conn.ExecContext(ctx, "insert into cfg_schedules values (?, ?)", key, tz); err != nil {
			return fmt.Errorf("writing cfg_schedules: %w", err)
		}
	}
	for _, w := range cfg.scheduleWindows() {
		if _, err := conn.ExecContext(ctx, "insert into cfg_business_hours values (?, ?, ?, ?)", w.scope, w.weekday, w.start, w.end); err != nil {
			return fmt.Errorf("writing cfg_business_hours: %w", err)
		}
	}
	for i, b := range cfg.frtBuckets() {
		var to any
		if b.to > 0 {
			to = b.to.Seconds()
		}
		if _, err := conn.ExecContext(ctx, "insert into cfg_frt_buckets values (?, ?, ?, ?)", i+1, b.from.Seconds(), to, b.label); err != nil {
			return fmt.Errorf("writing cfg_frt_buckets: %w", err)
		}
	}
	if err := writeCostConfig(ctx, conn, cfg.Cost); err != nil {
		return err
	}
	for _, h := range cfg.scheduleHolidays() {
		var year any
		if h.year != 0 {
			year = h.year
		}
		if _, err := conn.ExecContext(ctx, "insert into cfg_holidays values (?, ?, ?, ?)", h.scope, year, h.month, h.day); err != nil {
			return fmt.Errorf("writing cfg_holidays: %w", err)
		}
	}
	return nil
}
