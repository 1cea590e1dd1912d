package models

import (
	"context"
	"database/sql/driver"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/cxlake/cxlake/privacy"
)

// goStep builds a model in Go.
type goStep func(ctx context.Context, b *build) error

// goSteps are the models built in Go rather than SQL.
var goSteps = []struct {
	name  string
	deps  []string
	tests []columnTest
	build goStep
}{{
	name: "int_identifiers_resolved",
	deps: []string{"int_identifiers_extracted"},
	tests: []columnTest{
		{kind: "unique", columns: []string{"identifier_hash"}},
		{kind: "not_null", columns: []string{"contact_key", "identifier_kind", "identifier_hash", "first_seen_at"}},
	},
	build: resolveIdentities,
}}

const resolvedDDL = `create or replace table int_identifiers_resolved (
    contact_key      varchar not null,
    identifier_kind  varchar not null,
    identifier_hash  varchar not null,
    first_seen_at    timestamptz not null
)`

// resolveIdentities is the identity step, run between staging and the
// intermediate conversation models. It joins identifiers into people with
// a union-find: two identifiers named by one event (its contact and, for
// identity_link, its link) belong to one person, transitively. Each person's
// contact_key is the keyed hash of their representative identifier (the one
// seen first; ties by kind, then value).
//
// A full build resolves every identifier. An incremental build resolves the
// identifiers of the new batches together with the people they already
// belong to, and rewrites only the people that changed: a merge, a new
// identifier, or an earlier first sighting. It leaves their old and new
// contact_keys in _scope_contacts, and moves the conversations of people
// whose key changed to their new key.
func resolveIdentities(ctx context.Context, b *build) error {
	if !b.vars.Incremental {
		return resolveAll(ctx, b)
	}
	return resolveNew(ctx, b)
}

func resolveAll(ctx context.Context, b *build) error {
	u := newUnionFind(1 << 16)
	if err := b.readPairs(ctx, "select identifier_kind, identifier_hash, root_kind, root_hash, epoch_us(first_seen_at) from int_identifiers_extracted", u); err != nil {
		return err
	}
	if err := b.exec(ctx, resolvedDDL); err != nil {
		return fmt.Errorf("creating int_identifiers_resolved: %w", err)
	}
	rows := resolvedRows(u, b.cfg.HashKey)
	b.stats.Contacts = int64(countKeys(rows))
	return b.appendRows(ctx, "", "int_identifiers_resolved", len(rows), func(i int) []driver.Value {
		r := &rows[i]
		return []driver.Value{r.key, r.id.kind, r.id.value, time.UnixMicro(r.firstSeen).UTC()}
	})
}

func resolveNew(ctx context.Context, b *build) error {
	if err := b.exec(ctx, "create or replace temp table _new_identifiers as select * from int_identifiers_extracted"); err != nil {
		return fmt.Errorf("collecting new identifiers: %w", err)
	}
	u := newUnionFind(1024)
	// The people the new identifiers already belong to, whole.
	type old struct {
		key       string
		firstSeen int64
	}
	olds := map[int32]old{}
	byKey := map[string]int32{}
	rs, err := b.conn.QueryContext(ctx, `select r.contact_key, r.identifier_kind, r.identifier_hash, epoch_us(r.first_seen_at)
		from int_identifiers_resolved r
		where r.contact_key in (
		    select k.contact_key from int_identifiers_resolved k
		    join _new_identifiers n on n.identifier_hash = k.identifier_hash)`)
	if err != nil {
		return fmt.Errorf("reading the people of new identifiers: %w", err)
	}
	for rs.Next() {
		var key string
		var id identifier
		var fs int64
		if err := rs.Scan(&key, &id.kind, &id.value, &fs); err != nil {
			rs.Close()
			return fmt.Errorf("reading the people of new identifiers: %w", err)
		}
		n := u.node(id, fs)
		olds[n] = old{key: key, firstSeen: fs}
		if first, ok := byKey[key]; ok {
			u.union(first, n)
		} else {
			byKey[key] = n
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return fmt.Errorf("reading the people of new identifiers: %w", err)
	}
	if err := b.readPairs(ctx, "select identifier_kind, identifier_hash, root_kind, root_hash, epoch_us(first_seen_at) from _new_identifiers", u); err != nil {
		return err
	}

	// A person changed when a member is new, moved to another key, or was
	// seen earlier than recorded.
	all := resolvedRows(u, b.cfg.HashKey)
	changedRoot := map[int32]bool{}
	for i := range all {
		r := &all[i]
		o, ok := olds[r.node]
		if !ok || o.key != r.key || o.firstSeen != r.firstSeen {
			changedRoot[u.find(r.node)] = true
		}
	}
	var rows []resolvedRow
	type change struct{ old, new string }
	changes := map[change]bool{}
	for i := range all {
		r := &all[i]
		if !changedRoot[u.find(r.node)] {
			continue
		}
		rows = append(rows, *r)
		if o, ok := olds[r.node]; ok {
			changes[change{o.key, r.key}] = true
		} else {
			changes[change{"", r.key}] = true
		}
	}
	b.stats.Contacts = int64(countKeys(rows))
	if len(rows) == 0 {
		return nil
	}
	if err := b.exec(ctx, "create or replace temp table _identity_changes (old_contact_key varchar, new_contact_key varchar not null)"); err != nil {
		return fmt.Errorf("creating _identity_changes: %w", err)
	}
	list := make([]change, 0, len(changes))
	for c := range changes {
		list = append(list, c)
	}
	if err := b.appendRows(ctx, "temp", "_identity_changes", len(list), func(i int) []driver.Value {
		var o driver.Value
		if list[i].old != "" {
			o = list[i].old
		}
		return []driver.Value{o, list[i].new}
	}); err != nil {
		return err
	}
	for _, q := range []string{
		`delete from int_identifiers_resolved where contact_key in (select old_contact_key from _identity_changes)`,
		`insert into _scope_contacts select old_contact_key from _identity_changes where old_contact_key is not null
		 union select new_contact_key from _identity_changes`,
		// Conversations of people whose key changed move with them: a
		// conversation's person is that of its earliest event's identifier,
		// and a whole old person maps into one new person.
		`update int_conversations_aggregated as a set contact_key = c.new_contact_key
		 from _identity_changes as c
		 where a.contact_key = c.old_contact_key and c.old_contact_key <> c.new_contact_key`,
	} {
		if err := b.exec(ctx, q); err != nil {
			return fmt.Errorf("applying identity changes: %w", err)
		}
	}
	return b.appendRows(ctx, "", "int_identifiers_resolved", len(rows), func(i int) []driver.Value {
		r := &rows[i]
		return []driver.Value{r.key, r.id.kind, r.id.value, time.UnixMicro(r.firstSeen).UTC()}
	})
}

// readPairs adds the rows of query (kind, value, root kind, root value,
// first seen) to u: each identifier joins its event's root identifier.
func (b *build) readPairs(ctx context.Context, query string, u *unionFind) error {
	rs, err := b.conn.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("reading identifiers: %w", err)
	}
	defer rs.Close()
	var id, root identifier
	var fs int64
	for rs.Next() {
		if err := rs.Scan(&id.kind, &id.value, &root.kind, &root.value, &fs); err != nil {
			return fmt.Errorf("reading identifiers: %w", err)
		}
		a := u.node(id, fs)
		if root != id {
			u.union(a, u.node(root, fs))
		}
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("reading identifiers: %w", err)
	}
	return nil
}

// resolvedRow is one row of int_identifiers_resolved.
type resolvedRow struct {
	node      int32
	id        identifier
	key       string
	firstSeen int64
}

// resolvedRows computes every node's contact_key: the keyed hash of its
// person's representative identifier, one HMAC per person, in parallel.
func resolvedRows(u *unionFind, key []byte) []resolvedRow {
	reps := u.representatives()
	roots := make([]int32, 0, len(reps))
	for r := range reps {
		roots = append(roots, r)
	}
	keys := make([]string, len(roots))
	parallel(len(roots), func(h *privacy.Hasher, i int) {
		rep := u.nodes[reps[roots[i]]]
		keys[i] = h.ContactKey(rep.kind, rep.value)
	}, key)
	repKey := make(map[int32]string, len(reps))
	for i, r := range roots {
		repKey[r] = keys[i]
	}
	rows := make([]resolvedRow, len(u.nodes))
	for i := range rows {
		n := int32(i)
		rows[i] = resolvedRow{node: n, id: u.nodes[i], key: repKey[u.find(n)], firstSeen: u.firstSeen[i]}
	}
	return rows
}

// parallel runs f over [0, n) on GOMAXPROCS goroutines, each with its hasher.
func parallel(n int, f func(h *privacy.Hasher, i int), key []byte) {
	workers := runtime.GOMAXPROCS(0)
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, n)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := privacy.NewHasher(key)
			for i := lo; i < hi; i++ {
				f(h, i)
			}
		}()
	}
	wg.Wait()
}

func countKeys(rows []resolvedRow) int {
	seen := map[string]bool{}
	for i := range rows {
		seen[rows[i].key] = true
	}
	return len(seen)
}

// appendRows appends n rows made by row to table through DuckDB's Appender,
// inside the build's transaction.
func (b *build) appendRows(ctx context.Context, catalog, table string, n int, row func(i int) []driver.Value) error {
	return b.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), catalog, "", table)
		if err != nil {
			return fmt.Errorf("creating appender for %s: %w", table, err)
		}
		for i := 0; i < n; i++ {
			if err := a.AppendRow(row(i)...); err != nil {
				_ = a.Close()
				return fmt.Errorf("appending to %s: %w", table, err)
			}
		}
		if err := a.CloseWithCancel(ctx); err != nil {
			return fmt.Errorf("flushing appender for %s: %w", table, err)
		}
		return nil
	})
}
