package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Rebuild builds every model from all events, replacing what was there.
func Rebuild(ctx context.Context, db *sql.DB, cfg Config) (Stats, error) {
	return Build(ctx, db, cfg, true)
}

// Refresh brings the models up to date with the events ingested since the
// last build, recomputing only what those events can change: the
// conversations they touch, the people whose identity or conversations
// changed, conversations whose FCR window or SLA deadline passed, and the
// days those fall on. It rebuilds fully when there was no build yet, when
// cfg or the model definitions changed, or when events were removed
// (erasure, retention). With no new batch, it recomputes only the people
// with a window or deadline that cfg.Now passed since the last build, and
// does nothing when there are none.
func Refresh(ctx context.Context, db *sql.DB, cfg Config) (Stats, error) {
	return Build(ctx, db, cfg, false)
}

// Build is Rebuild when full is true and Refresh otherwise. The build runs
// in one transaction: readers see the models before or after it, never
// half-way. Builds of the same *sql.DB are serialized.
func Build(ctx context.Context, db *sql.DB, cfg Config, full bool) (Stats, error) {
	return buildWith(ctx, db, cfg, full, nil)
}

func buildWith(ctx context.Context, db *sql.DB, cfg Config, full bool, remove RemoveFunc) (Stats, error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	proj, err := theProject()
	if err != nil {
		return Stats{}, err
	}
	mu := lockFor(db)
	mu.Lock()
	defer mu.Unlock()

	conn, err := db.Conn(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("getting a connection for the models: %w", err)
	}
	defer conn.Close()
	b := &build{conn: conn, cfg: cfg, proj: proj}
	if err := b.begin(ctx); err != nil {
		return Stats{}, err
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "rollback")
		}
	}()
	if remove != nil {
		r, err := remove(ctx, conn)
		if err != nil {
			return Stats{}, err
		}
		b.removal = &r
	}
	if err := b.plan(ctx, full); err != nil {
		return Stats{}, err
	}
	if b.noop {
		if _, err := conn.ExecContext(ctx, "commit"); err != nil {
			return Stats{}, fmt.Errorf("ending model refresh: %w", err)
		}
		committed = true
		b.stats.Took = time.Since(start)
		return b.stats, nil
	}
	if err := b.run(ctx); err != nil {
		return Stats{}, err
	}
	if err := b.step("commit", func() error { return b.exec(ctx, "commit") }); err != nil {
		return Stats{}, fmt.Errorf("committing model build: %w", err)
	}
	committed = true
	b.stats.Took = time.Since(start)
	return b.stats, nil
}

var (
	projectOnce sync.Once
	projectVal  *project
	projectErr  error
	locks       sync.Map // *sql.DB -> *sync.Mutex
)

func theProject() (*project, error) {
	projectOnce.Do(func() { projectVal, projectErr = loadProject() })
	return projectVal, projectErr
}

func lockFor(db *sql.DB) *sync.Mutex {
	mu, _ := locks.LoadOrStore(db, &sync.Mutex{})
	return mu.(*sync.Mutex)
}

// build is the state of one Build call.
type build struct {
	conn  *sql.Conn
	cfg   Config
	proj  *project
	vars  renderVars
	prev  buildState // the state of the last build (incremental only)
	next  buildState // the state this build records
	noop  bool
	stats Stats
	// removal is what Remove's callback deleted in this build's transaction.
	removal *Removal
}

// step runs f and records its duration under name.
func (b *build) step(name string, f func() error) error {
	t := time.Now()
	err := f()
	b.stats.Steps = append(b.stats.Steps, StepTiming{Name: name, Took: time.Since(t)})
	return err
}

func (b *build) mode() string {
	if b.vars.Incremental {
		return "incremental"
	}
	return "full"
}

func (b *build) exec(ctx context.Context, query string, args ...any) error {
	_, err := b.conn.ExecContext(ctx, query, args...)
	return err
}

// begin prepares the connection and opens the build's transaction.
func (b *build) begin(ctx context.Context) error {
	var n int
	if err := b.conn.QueryRowContext(ctx, "select count(*) from duckdb_tables() where schema_name = 'main' and table_name = 'events'").Scan(&n); err != nil {
		return fmt.Errorf("looking for the events table: %w", err)
	}
	if n == 0 {
		return errNoEvents
	}
	for _, q := range []string{
		// Timestamps are UTC everywhere; models also convert explicitly, but
		// a local session time zone must not leak into a cast.
		"set session TimeZone = 'UTC'",
		stateDDL,
		stateJudgedDDL,
		"begin transaction",
	} {
		if err := b.exec(ctx, q); err != nil {
			return fmt.Errorf("preparing model build: %w", err)
		}
	}
	return nil
}

// plan reads the last build's state and the events' snapshot, and decides
// between a full build, an incremental one and nothing.
func (b *build) plan(ctx context.Context, full bool) error {
	snap, err := readSnapshot(ctx, b.conn)
	if err != nil {
		return err
	}
	b.next = snap
	b.next.JudgedAt = sql.NullTime{Time: b.cfg.Now().UTC().Truncate(time.Microsecond), Valid: true}
	existing, err := existingSources(ctx, b.conn, b.proj.optionalSources())
	if err != nil {
		return err
	}
	b.next.Fingerprint = b.cfg.fingerprint(existing)
	if !full {
		prev, ok, err := readState(ctx, b.conn)
		if err != nil {
			return err
		}
		if !ok && b.removal != nil {
			// Never built: the next build is a full one anyway.
			b.noop = true
			return nil
		}
		if b.removal != nil {
			prev.Events -= b.removal.Events // what the build state must now match
		}
		b.prev = prev
		switch {
		case !ok:
			full, b.stats.Reason = true, "first build"
		case prev.Fingerprint != b.next.Fingerprint:
			full, b.stats.Reason = true, "configuration, hash key or model definitions changed"
		case snap.Batch < prev.Batch:
			full, b.stats.Reason = true, "batches were removed"
		default:
			// Events at or below the built batch must be exactly those built from.
			var count int64
			if err := b.conn.QueryRowContext(ctx, "select count(*) from events where batch_id <= ?", prev.Batch).Scan(&count); err != nil {
				return fmt.Errorf("counting built events: %w", err)
			}
			if count != prev.Events {
				full, b.stats.Reason = true, "events were removed or added behind the last build (erasure, retention)"
			}
		}
		if !full && snap.Batch == prev.Batch && b.removal == nil {
			passed, err := b.anyDeadlinePassed(ctx)
			if err != nil {
				return err
			}
			if !passed {
				b.noop = true
				b.stats.FromBatch, b.stats.ToBatch = prev.Batch, prev.Batch
				return nil
			}
		}
	}
	b.stats.Full = full
	b.vars = renderVars{
		Incremental:   !full,
		ToBatch:       snap.Batch,
		Now:           timeLiteral(b.next.JudgedAt),
		FCRWindowUS:   b.cfg.FCRWindow.Microseconds(),
		PerAgent:      b.cfg.PerAgent,
		WhatsAppGapUS: b.cfg.WhatsAppConversationGap.Microseconds(),
		existing:      existing,
	}
	if !full {
		b.vars.FromBatch = b.prev.Batch
	}
	b.stats.FromBatch, b.stats.ToBatch = b.vars.FromBatch, b.vars.ToBatch
	b.stats.NewEvents = snap.Events - b.prev.Events
	return nil
}

// existingSources returns which of the optional source tables exist in
// schema main.
func existingSources(ctx context.Context, conn *sql.Conn, names []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, n := range names {
		var found int
		err := conn.QueryRowContext(ctx, `select count(*) from (
			select table_name as name from duckdb_tables() where schema_name = 'main' and not temporary
			union all
			select view_name from duckdb_views() where schema_name = 'main' and not temporary) where name = ?`, n).Scan(&found)
		if err != nil {
			return nil, fmt.Errorf("looking for source table %s: %w", n, err)
		}
		out[n] = found > 0
	}
	return out, nil
}

func timeLiteral(t sql.NullTime) string {
	if !t.Valid {
		return "null::timestamptz"
	}
	return "'" + t.Time.UTC().Format("2006-01-02T15:04:05.999999Z07:00") + "'::timestamptz"
}

// run builds the models in order, with the incremental scoping steps
// between them, and records the new state.
func (b *build) run(ctx context.Context) error {
	if !b.vars.Incremental {
		if err := b.step("config", func() error { return writeConfig(ctx, b.conn, b.cfg) }); err != nil {
			return err
		}
	} else if err := b.step("scope:init", func() error { return b.initScopes(ctx) }); err != nil {
		return err
	}
	for _, m := range b.proj.models {
		if h := hooks[m.name]; h.before != nil && b.vars.Incremental {
			if err := b.step("scope:before "+m.name, func() error { return h.before(ctx, b) }); err != nil {
				return err
			}
		}
		if err := b.step(m.name, func() error { return b.buildModel(ctx, m) }); err != nil {
			var me *ModelError
			if errors.As(err, &me) {
				return err
			}
			return &ModelError{Model: m.name, Mode: b.mode(), Err: err}
		}
		if h := hooks[m.name]; h.after != nil && b.vars.Incremental {
			if err := b.step("scope:after "+m.name, func() error { return h.after(ctx, b) }); err != nil {
				return err
			}
		}
	}
	if err := b.countScopes(ctx); err != nil {
		return err
	}
	return b.step("state", func() error { return writeState(ctx, b.conn, b.next) })
}

// buildModel builds one model in the build's mode.
func (b *build) buildModel(ctx context.Context, m *model) error {
	if m.mat == matGo {
		return m.build(ctx, b)
	}
	body, err := m.render(b.vars)
	if err != nil {
		return err
	}
	if !b.vars.Incremental {
		if err := b.dropOtherKind(ctx, m); err != nil {
			return err
		}
	}
	switch {
	case m.mat == matView && !b.vars.Incremental:
		return b.exec(ctx, "create or replace view "+m.name+" as\n"+body)
	case m.mat == matView:
		return nil // unchanged since the full build that created it
	case m.mat == matEphemeral:
		return b.exec(ctx, "create or replace temp view "+m.name+" as\n"+body)
	case m.mat == matTemp:
		return b.exec(ctx, "create or replace temp table "+m.name+" as\n"+body)
	case m.mat == matTable || !b.vars.Incremental:
		return b.exec(ctx, "create or replace table "+m.name+" as\n"+body)
	}
	// Incremental: delete the scope's rows and insert them recomputed.
	scope := scopeTable(m.scope)
	if err := b.exec(ctx, fmt.Sprintf("delete from %s where %s in (select %s from %s)", m.name, m.column, m.column, scope)); err != nil {
		return err
	}
	return b.exec(ctx, "insert into "+m.name+" by name select * from (\n"+body+"\n)")
}

// dropOtherKind drops m's relation when an earlier version of the models
// made it a table and it is now a view, or the other way round: "create or
// replace" does not replace an object of the other kind. (A full build
// follows every change of the model definitions.)
func (b *build) dropOtherKind(ctx context.Context, m *model) error {
	var kind string
	err := b.conn.QueryRowContext(ctx, `select 'table' from duckdb_tables() where schema_name = 'main' and table_name = ?
		union all select 'view' from duckdb_views() where schema_name = 'main' and view_name = ? and not internal`, m.name, m.name).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking up %s: %w", m.name, err)
	}
	wantView := m.mat == matView
	switch {
	case kind == "table" && wantView:
		return b.exec(ctx, "drop table "+m.name)
	case kind == "view" && !wantView && m.mat != matEphemeral && m.mat != matTemp && m.mat != matGo:
		return b.exec(ctx, "drop view "+m.name)
	}
	return nil
}
