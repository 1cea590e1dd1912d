package warehouse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CopyTo writes the whole database into a new DuckDB file at path (COPY
// FROM DATABASE): the live rows only, so nothing DuckDB left in free
// blocks or old row groups of cxlake.duckdb is in the copy.
// Statements in then run against the copy (attached as cxlake_copy)
// before it is detached.
func (w *Warehouse) CopyTo(ctx context.Context, path string, then ...string) error {
	var name string
	if err := w.DB.QueryRowContext(ctx, `select current_database()`).Scan(&name); err != nil {
		return fmt.Errorf("copying the database: %w", err)
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("copying the database: %w", err)
	}
	defer conn.Close()
	qs := []string{
		fmt.Sprintf(`attach '%s' as cxlake_copy`, strings.ReplaceAll(path, "'", "''")),
		fmt.Sprintf(`copy from database "%s" to cxlake_copy`, strings.ReplaceAll(name, `"`, `""`)),
	}
	qs = append(append(qs, then...), `detach cxlake_copy`)
	for _, q := range qs {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `detach database if exists cxlake_copy`)
			return fmt.Errorf("copying the database: %w", err)
		}
	}
	return nil
}

// rewriteFile replaces cxlake.duckdb with a copy of its live rows, so that
// values the free-text step took out of clear columns are gone from the
// file, not only from the table. A kill before the rename
// leaves the old file, still marked pending, and a stray copy that the
// next rewrite removes first. It closes w whatever happens.
func (w *Warehouse) rewriteFile(ctx context.Context) error {
	path := filepath.Join(w.Dir, DBFile)
	tmp := path + ".rewrite"
	for _, p := range []string{tmp, tmp + ".wal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return errors.Join(fmt.Errorf("removing an unfinished copy of the database: %w", err), w.Close())
		}
	}
	// the copy is the rewritten file: the step that asked for it is done
	done := `insert or replace into cxlake_copy.warehouse_meta values ('` + metaFreeTextSealed + `', '1')`
	if err := w.CopyTo(ctx, tmp, done); err != nil {
		return errors.Join(err, w.Close())
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := syncFilePath(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing the database with its copy: %w", err)
	}
	return syncDir(w.Dir)
}
