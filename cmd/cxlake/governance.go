package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/privacy"
	"github.com/cxlake/cxlake/warehouse"
)

// governed is the governance of a process that holds a warehouse: the audit
// log every stage appends to, and governance itself.
type governed struct {
	audit *audit.Log
	gov   *governance.Governance
	log   *slog.Logger
	// models are the models settings in force (with the warehouse's key).
	models models.Config
}

// openGoverned opens the data directory's audit log and governance.
func openGoverned(ctx context.Context, wh *warehouse.Warehouse, cfg governance.Config, mc models.Config, log *slog.Logger) (*governed, error) {
	al, err := audit.Open(filepath.Join(wh.Dir, audit.Dir))
	if err != nil {
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	// Before anything appends: a log rolled back behind its witness is
	// refused (audit.RollbackError).
	witness, err := audit.FindWitness(wh.Dir)
	if err == nil && witness != "" {
		err = al.UseWitness(witness)
	}
	if err != nil {
		al.Close()
		if errors.As(err, new(*audit.RollbackError)) {
			return nil, fmt.Errorf("opening the audit log: %w\nRun cxlake audit verify. After restoring a backup on purpose, keep the witness's head in your records and move %s away (docs/upgrading.md)", err, witness)
		}
		return nil, fmt.Errorf("opening the audit log: %w (run cxlake audit verify)", err)
	}
	gov, err := governance.New(ctx, wh, al, cfg, mc, log)
	if err != nil {
		al.Close()
		return nil, err
	}
	// An erasure a kill or a shutdown left unfinished is finished first.
	rcs, err := gov.ResumeErasures(ctx)
	for _, rc := range rcs {
		log.Warn("finished an interrupted erasure", "request_id", rc.RequestID, "status", rc.Status)
	}
	if err != nil {
		log.Error("an interrupted erasure could not be finished yet; it resumes at the next start or request", "err", err)
	}
	return &governed{audit: al, gov: gov, log: log, models: mc}, nil
}

// record appends r; a failure is logged (the work it records is done).
func (g *governed) record(r audit.Record) {
	if _, err := g.audit.Append(context.Background(), r); err != nil {
		g.log.Error("could not append to the audit log", "kind", r.Kind, "err", err)
	}
}

func (g *governed) batch(res warehouse.Result) { g.record(governance.IngestBatchRecord(res)) }
func (g *governed) refreshed(st models.Stats)  { g.record(governance.ModelRefreshRecord(st)) }
func (g *governed) published(p warehouse.Publication) {
	if p.Events > 0 {
		g.record(governance.LakePublishRecord(p))
	}
}

// close signs a last checkpoint, mirrors the log into audit_log and closes it.
func (g *governed) close() error {
	ctx := context.Background()
	_, err := g.audit.Checkpoint(ctx)
	if err == nil {
		_, err = g.gov.MirrorAudit(ctx)
	}
	return errors.Join(err, g.audit.Close())
}

// openForGovernance opens a data directory for a governance command, with
// the configuration of an optional config file and --memory.
func openForGovernance(ctx context.Context, data, path string, mem *memoryFlag) (*warehouse.Warehouse, *governed, error) {
	cfg := config.Defaults()
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return nil, nil, err
		}
	}
	ms, err := mem.settings(cfg.Memory)
	if err != nil {
		return nil, nil, err
	}
	if len(cfg.Models.HashKey) == 0 && cfg.Privacy.KeyFile != "" {
		// The key file the configuration names (privacy's rules).
		if cfg.Models.HashKey, err = privacy.LoadOrCreateKeyFile(cfg.Privacy.KeyFile, data); err != nil {
			return nil, nil, fmt.Errorf("privacy.key_file: %w", err)
		}
	}
	wh, err := warehouse.Open(ctx, data, warehouse.Options{HashKey: cfg.Models.HashKey, Memory: ms})
	if err != nil {
		if warehouse.IsLocked(err) {
			return nil, nil, fmt.Errorf("%w\nA running server takes privacy requests over HTTP: POST /v1/privacy/erasures or /v1/privacy/exports with the compliance token", err)
		}
		return nil, nil, err
	}
	mc, _ := modelConfig(wh, cfg.Models)
	g, err := openGoverned(ctx, wh, cfg.Governance, mc, slog.Default())
	if err != nil {
		wh.Close()
		return nil, nil, err
	}
	return wh, g, nil
}

// refresher is modelRefresher followed by consent enforcement: a command
// that builds a warehouse and exits (demo --once, load) leaves consent
// state current, as `run` does on its schedule.
func (g *governed) refresher(wh *warehouse.Warehouse, m models.Config) (func(context.Context) error, error) {
	refresh, err := modelRefresher(wh, m, g.refreshed)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		if err := refresh(ctx); err != nil {
			return err
		}
		if _, err := g.gov.EnforceConsent(ctx); err != nil {
			return fmt.Errorf("enforcing consent after the refresh: %w", err)
		}
		return nil
	}, nil
}
