package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cxlake/cxlake/warehouse"
)

// runMigrate prints the schema migrations a data directory needs and, without
// --dry-run, applies them (warehouse/migrate.go; docs/upgrading.md).
func runMigrate(ctx context.Context, args []string) error {
	fs := newFlags("migrate", "migrate --data DIR [--dry-run]")
	data := dataFlag(fs)
	dry := fs.Bool("dry-run", false, "print the plan, change nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*data, warehouse.DBFile)); err != nil {
		return fmt.Errorf("no warehouse in %s: nothing to migrate (a new directory is created at the latest version by the first command that writes)", *data)
	}
	plan, err := warehouse.PlanMigrations(ctx, *data)
	if err != nil {
		return err
	}
	for _, c := range slices.Sorted(maps.Keys(plan.Current)) {
		fmt.Printf("%-12s at version %d\n", c, plan.Current[c])
	}
	if len(plan.Pending) == 0 {
		fmt.Printf("%s is up to date: nothing to apply\n", *data)
		return nil
	}
	fmt.Printf("%d migration(s) to apply, in order:\n", len(plan.Pending))
	for _, m := range plan.Pending {
		fmt.Printf("  %-12s %04d_%s\n", m.Component, m.Version, m.Name)
	}
	if *dry {
		fmt.Println("dry run: nothing applied. Back up the data directory first (docs/upgrading.md), then run without --dry-run.")
		return nil
	}
	start := time.Now()
	wh, err := warehouse.Open(ctx, *data, warehouse.Options{})
	if err != nil {
		return err
	}
	if err := wh.Close(); err != nil {
		return err
	}
	fmt.Printf("applied %d migration(s) in %s; %s is up to date\n", len(plan.Pending), time.Since(start).Round(time.Millisecond), *data)
	return nil
}
