package warehouse

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Schema versions and migrations: how a data directory made by an older
// cxlake opens in a newer one.
//
// Each component that stores tables in the warehouse (the warehouse's own
// raw layer, governance, the gateway's query audit) keeps numbered SQL files
// beside its code, NNNN_what.sql from 0001, and registers them with
// RegisterSchema from its package's init. Its schema version is the number
// of the last file applied. Open, before it writes anything:
//
//   - refuses a directory where a component is at a version this binary does
//     not know (a newer cxlake made it), naming both versions
//     (*SchemaVersionError), and writes nothing to it;
//   - in read-only mode, refuses a directory that needs migrations, and says
//     to run `cxlake migrate`;
//   - otherwise applies the missing migrations in order, each in its own
//     transaction together with its row in schema_migrations (component,
//     version, name, checksum, time, binary version), so a kill leaves the
//     directory at the previous version and the next open completes it.
//
// A fresh directory runs every migration from 0001: there is no second
// definition of the latest schema to drift from the migrations. A released
// migration never changes (its checksum is recorded and compared with the
// snapshot in testdata/schema.snapshot by the tests); a change to what is
// stored is a new file.

//go:embed migrations/*.sql
var migrationFiles embed.FS

func init() { RegisterSchema(ComponentWarehouse, migrationFiles) }

// ComponentWarehouse is the raw layer's component name in schema_migrations.
const ComponentWarehouse = "warehouse"

// Migration is one numbered SQL file of a component.
type Migration struct {
	Component string
	Version   int
	Name      string // the file name without its number and .sql
	SQL       string
	Checksum  string // hex SHA-256 of SQL
}

// SchemaVersionError means the data directory holds a component at a
// version this binary does not know: a newer cxlake wrote it.
type SchemaVersionError struct {
	Dir       string
	Component string
	Found     int // the directory's version
	Known     int // the latest version this binary has
}

func (e *SchemaVersionError) Error() string {
	return fmt.Sprintf("the data directory %s is at %s schema version %d, but this cxlake (%s) knows versions up to %d: "+
		"it was written by a newer cxlake; run that version, or restore the backup taken before the upgrade (docs/upgrading.md)",
		e.Dir, e.Component, e.Found, BinaryVersion(), e.Known)
}

// MigrationsPendingError means a read-only open found a directory that needs
// migrations.
type MigrationsPendingError struct {
	Dir     string
	Pending []Migration
}

func (e *MigrationsPendingError) Error() string {
	return fmt.Sprintf("the data directory %s needs %d schema migration(s) before this cxlake can read it (first: %s %04d_%s): "+
		"run `cxlake migrate --data %s`, or start `cxlake run` on it", e.Dir, len(e.Pending),
		e.Pending[0].Component, e.Pending[0].Version, e.Pending[0].Name, e.Dir)
}

var (
	schemaMu   sync.Mutex
	components = map[string][]Migration{}
)

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// RegisterSchema registers the migrations of component: the files
// migrations/NNNN_name.sql of fsys, numbered from 0001 without gaps. It
// panics on a malformed set: migrations are part of the binary, and a
// mistake must fail at start-up, not on a user's data.
func RegisterSchema(component string, fsys fs.FS) {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if _, dup := components[component]; dup || component == "" {
		panic(fmt.Sprintf("warehouse.RegisterSchema: component %q registered twice or unnamed", component))
	}
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		panic(fmt.Sprintf("warehouse.RegisterSchema(%s): %v", component, err))
	}
	var ms []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			panic(fmt.Sprintf("warehouse.RegisterSchema(%s): %s is not NNNN_name.sql", component, e.Name()))
		}
		b, err := fs.ReadFile(fsys, path.Join("migrations", e.Name()))
		if err != nil {
			panic(fmt.Sprintf("warehouse.RegisterSchema(%s): %v", component, err))
		}
		v, _ := strconv.Atoi(m[1])
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Component: component, Version: v, Name: m[2], SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			panic(fmt.Sprintf("warehouse.RegisterSchema(%s): migrations must be numbered 0001, 0002, ... without gaps; found %04d at position %d", component, m.Version, i+1))
		}
	}
	components[component] = ms
}

// Migrations returns every registered migration in the order they apply:
// the warehouse's own first, then the other components by name.
func Migrations() []Migration {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	names := make([]string, 0, len(components))
	for c := range components {
		if c != ComponentWarehouse {
			names = append(names, c)
		}
	}
	sort.Strings(names)
	out := append([]Migration(nil), components[ComponentWarehouse]...)
	for _, c := range names {
		out = append(out, components[c]...)
	}
	return out
}

// latestVersions returns the latest known version of each component.
func latestVersions() map[string]int {
	out := map[string]int{}
	for _, m := range Migrations() {
		out[m.Component] = max(out[m.Component], m.Version)
	}
	return out
}

// BinaryVersion names this build in schema_migrations and in errors: the
// module version, and the VCS revision when the build recorded one.
func BinaryVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

// MigrationPlan is what opening a directory would apply.
type MigrationPlan struct {
	// Current is each registered component's version in the directory (0:
	// none yet, a fresh directory or one made before versions existed).
	Current map[string]int
	// Pending are the migrations to apply, in order.
	Pending []Migration
	// Fresh means the directory holds no warehouse yet: applying the plan
	// creates one rather than upgrading one.
	Fresh bool
}

// planMigrations reads the directory's versions and returns what is
// missing, or a *SchemaVersionError. It writes nothing.
func planMigrations(ctx context.Context, q queryer, dir string) (MigrationPlan, error) {
	plan := MigrationPlan{Current: map[string]int{}}
	var exists, events bool
	if err := q.QueryRowContext(ctx, `select count(*) filter (where table_name = 'schema_migrations') > 0,
		count(*) filter (where table_name = 'events') > 0
		from duckdb_tables() where database_name = current_database() and schema_name = 'main'`).Scan(&exists, &events); err != nil {
		return plan, fmt.Errorf("reading schema versions: %w", err)
	}
	plan.Fresh = !events
	applied := map[string]map[int]bool{}
	if exists {
		rows, err := q.QueryContext(ctx, `select component, version from schema_migrations`)
		if err != nil {
			return plan, fmt.Errorf("reading schema versions: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c string
			var v int
			if err := rows.Scan(&c, &v); err != nil {
				return plan, fmt.Errorf("reading schema versions: %w", err)
			}
			if applied[c] == nil {
				applied[c] = map[int]bool{}
			}
			applied[c][v] = true
			plan.Current[c] = max(plan.Current[c], v)
		}
		if err := rows.Err(); err != nil {
			return plan, fmt.Errorf("reading schema versions: %w", err)
		}
	}
	latest := latestVersions()
	for c, v := range plan.Current {
		if known, ok := latest[c]; ok && v > known {
			return plan, &SchemaVersionError{Dir: dir, Component: c, Found: v, Known: known}
		}
	}
	for _, m := range Migrations() {
		if !applied[m.Component][m.Version] {
			plan.Pending = append(plan.Pending, m)
		}
	}
	return plan, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const createSchemaMigrations = `create table if not exists schema_migrations (
    component       varchar not null,   -- warehouse, governance, gateway
    version         integer not null,   -- the migration's number
    name            varchar not null,   -- its file name without number and .sql
    checksum        varchar not null,   -- hex SHA-256 of the file applied
    applied_at      timestamptz not null,
    binary_version  varchar not null,   -- the cxlake that applied it
    primary key (component, version)
)`

// applyMigrations applies plan's pending migrations in order, each in one
// transaction with its schema_migrations row. progress, when not nil, is
// logged before and after each.
func applyMigrations(ctx context.Context, db *sql.DB, plan MigrationPlan, log *slog.Logger) error {
	if len(plan.Pending) == 0 {
		return nil
	}
	if _, err := db.ExecContext(ctx, createSchemaMigrations); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	// An upgrade of stored data is worth an operator's attention; the
	// creation of a new warehouse is not.
	level := slog.LevelWarn
	if plan.Fresh {
		level = slog.LevelInfo
	}
	for _, m := range plan.Pending {
		start := time.Now()
		log.Log(ctx, level, "applying schema migration", "component", m.Component, "version", m.Version, "name", m.Name)
		if err := applyOne(ctx, db, m); err != nil {
			return err
		}
		log.Log(ctx, level, "schema migration applied", "component", m.Component, "version", m.Version, "name", m.Name,
			"took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func applyOne(ctx context.Context, db *sql.DB, m Migration) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s %04d_%s: %w", m.Component, m.Version, m.Name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err = tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %s %04d_%s: %w", m.Component, m.Version, m.Name, err)
	}
	if _, err = tx.ExecContext(ctx, `insert into schema_migrations values (?, ?, ?, ?, ?, ?)`,
		m.Component, m.Version, m.Name, m.Checksum, time.Now().UTC(), BinaryVersion()); err != nil {
		return fmt.Errorf("recording migration %s %04d_%s: %w", m.Component, m.Version, m.Name, err)
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("committing migration %s %04d_%s: %w", m.Component, m.Version, m.Name, err)
	}
	return nil
}

// PlanMigrations opens the data directory read-only and returns what opening
// it read-write would apply, or a *SchemaVersionError. It writes nothing.
func PlanMigrations(ctx context.Context, dir string) (MigrationPlan, error) {
	path := filepath.Join(dir, DBFile)
	if _, err := os.Stat(path); err != nil {
		return MigrationPlan{}, fmt.Errorf("no warehouse in %s: %w", dir, err)
	}
	conn, err := duckdb.NewConnector(path+"?access_mode=read_only&autoinstall_known_extensions=false&autoload_known_extensions=false", initConn)
	if err != nil {
		return MigrationPlan{}, lockedOr(dir, fmt.Errorf("opening %s: %w", path, err))
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	if err := checkLakeFormat(dir, false); err != nil {
		return MigrationPlan{}, err
	}
	return planMigrations(ctx, db, dir)
}
