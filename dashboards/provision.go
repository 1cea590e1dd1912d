package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cxlake/cxlake/reports"
)

// MinimumGrafana is the oldest Grafana the dashboards are made for.
const MinimumGrafana = "11.0.0"

// ProvisionOptions say which Grafana to provision and how it reaches cxlake.
type ProvisionOptions struct {
	// URL is Grafana's base URL, e.g. http://localhost:3000.
	URL string
	// Token is a service account token with the Admin role.
	Token string
	// DataSource says where Grafana finds the SQL gateway.
	DataSource DataSourceSettings
	// ResetPassword writes DataSource.Password even when the data source is
	// otherwise current (Grafana cannot show the stored one to compare).
	ResetPassword bool
	// HTTPClient is used for the requests; nil means a client with a 30s timeout.
	HTTPClient *http.Client
	// Targets are the KPI targets (report.targets): the leadership
	// dashboard's headline stats get them as thresholds (targets.go).
	Targets map[string]reports.Target
	// Log receives one line per object; nil means slog.Default().
	Log *slog.Logger
}

// Action is what Provision did to one object.
type Action string

// Actions.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
)

// Change is one object Provision looked at.
type Change struct {
	Kind   string // "data source", "folder", "dashboard"
	UID    string
	Title  string
	Action Action
	// Why says what differed, for an update.
	Why string
	// Kept lists settings the user changed in Grafana that provisioning
	// kept (a data source's jsonData keys it does not own, or sslmode when
	// no SSLMode was given), so that nobody is surprised either way.
	Kept []string
}

// Report lists what Provision did, in order.
type Report struct {
	GrafanaVersion string
	Changes        []Change
}

// Changed reports whether anything was created or updated.
func (r Report) Changed() bool {
	for _, c := range r.Changes {
		if c.Action != Unchanged {
			return true
		}
	}
	return false
}

// Provision creates or updates, in Grafana, the cxlake data source, the
// cxlake folder and the three dashboards. It reads each object first and
// writes only what differs, so a second run changes nothing. It checks
// Grafana's version and the targets before writing anything. Errors are
// *UnreachableError, *NotGrafanaError, *AuthError, *VersionError,
// *reports.TargetError or *APIError, each saying what to fix.
func Provision(ctx context.Context, opts ProvisionOptions) (Report, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	api, err := newGrafanaClient(ctx, opts.URL, opts.Token, opts.HTTPClient)
	if err != nil {
		return Report{}, err
	}
	return provision(ctx, api, opts)
}

// grafanaAPI is what Provision needs from Grafana's HTTP API; client.go
// implements it. Lookups return nil and no error when the object does not
// exist.
type grafanaAPI interface {
	Version(ctx context.Context) (string, error)
	DataSource(ctx context.Context, uid string) (*dataSource, error)
	CreateDataSource(ctx context.Context, ds *dataSource) error
	UpdateDataSource(ctx context.Context, ds *dataSource) error
	Folder(ctx context.Context, uid string) (*folder, error)
	CreateFolder(ctx context.Context, f folder) error
	UpdateFolder(ctx context.Context, f folder) error
	Dashboard(ctx context.Context, uid string) (*storedDashboard, error)
	SaveDashboard(ctx context.Context, model map[string]any, folderUID, message string) error
}

// folder is a Grafana folder.
type folder struct{ UID, Title string }

// storedDashboard is a dashboard as Grafana returns it.
type storedDashboard struct {
	Model     map[string]any
	FolderUID string
}

func provision(ctx context.Context, api grafanaAPI, opts ProvisionOptions) (Report, error) {
	var rep Report
	version, err := api.Version(ctx)
	if err != nil {
		return rep, err
	}
	rep.GrafanaVersion = version
	if !atLeast(version, MinimumGrafana) {
		return rep, &VersionError{URL: opts.URL, Version: version, Minimum: MinimumGrafana}
	}
	record := func(c Change) {
		rep.Changes = append(rep.Changes, c)
		opts.Log.Info("grafana provision", "kind", c.Kind, "uid", c.UID, "action", string(c.Action), "why", c.Why)
	}

	// A target config.Load would refuse is refused here too, before
	// anything is written (a programmatic caller skips config.Load).
	if err := reports.ValidateTargets(opts.Targets); err != nil {
		return rep, fmt.Errorf("provisioning the dashboards' targets: %w", err)
	}

	// The data source.
	if m := opts.DataSource.SSLMode; m != "" && !slices.Contains(sslModes, m) {
		return rep, fmt.Errorf("sslmode is not one Grafana takes: use one of %v", sslModes)
	}
	want := opts.DataSource.dataSource()
	have, err := api.DataSource(ctx, want.UID)
	if err != nil {
		return rep, err
	}
	switch {
	case have == nil:
		if opts.DataSource.Password == "" {
			return rep, errMissingPassword
		}
		want.SecureJSONData = map[string]any{"password": opts.DataSource.Password}
		want.forCreate()
		if err := api.CreateDataSource(ctx, want); err != nil {
			return rep, err
		}
		record(Change{Kind: "data source", UID: want.UID, Title: want.Name, Action: Created})
	default:
		same, why := sameDataSource(have, want)
		kept := want.userSettings(have)
		if same && !opts.ResetPassword {
			record(Change{Kind: "data source", UID: want.UID, Title: want.Name, Action: Unchanged, Kept: kept})
			break
		}
		if !same && have.ReadOnly {
			return rep, &APIError{Op: "updating data source " + want.UID, Status: http.StatusForbidden,
				Message: "it was provisioned from a file (read-only); change that file, or remove it and run provision again"}
		}
		if opts.ResetPassword {
			why = strings.TrimPrefix(why+", password", ", ")
		}
		if opts.DataSource.Password != "" {
			want.SecureJSONData = map[string]any{"password": opts.DataSource.Password}
		} else if opts.ResetPassword {
			return rep, errMissingPassword
		}
		want.ID = have.ID
		want.JSONData = want.mergedInto(have)
		if err := api.UpdateDataSource(ctx, want); err != nil {
			return rep, err
		}
		record(Change{Kind: "data source", UID: want.UID, Title: want.Name, Action: Updated, Why: why, Kept: kept})
	}

	// The folder.
	f, err := api.Folder(ctx, FolderUID)
	if err != nil {
		return rep, err
	}
	switch {
	case f == nil:
		if err := api.CreateFolder(ctx, folder{UID: FolderUID, Title: FolderTitle}); err != nil {
			return rep, err
		}
		record(Change{Kind: "folder", UID: FolderUID, Title: FolderTitle, Action: Created})
	case f.Title != FolderTitle:
		if err := api.UpdateFolder(ctx, folder{UID: FolderUID, Title: FolderTitle}); err != nil {
			return rep, err
		}
		record(Change{Kind: "folder", UID: FolderUID, Title: FolderTitle, Action: Updated, Why: "title"})
	default:
		record(Change{Kind: "folder", UID: FolderUID, Title: FolderTitle, Action: Unchanged})
	}

	// The dashboards.
	all, err := All()
	if err != nil {
		return rep, err
	}
	for _, d := range all {
		model, err := d.Model()
		if err != nil {
			return rep, err
		}
		model["id"] = nil
		applyTargets(model, opts.Targets)
		stored, err := api.Dashboard(ctx, d.UID)
		if err != nil {
			return rep, err
		}
		c := Change{Kind: "dashboard", UID: d.UID, Title: d.Title, Action: Created}
		if stored != nil {
			why := dashboardDiff(stored, model)
			if why == "" {
				c.Action = Unchanged
				record(c)
				continue
			}
			c.Action, c.Why = Updated, why
		}
		if err := api.SaveDashboard(ctx, model, FolderUID, "cxlake grafana provision"); err != nil {
			return rep, err
		}
		record(c)
	}
	return rep, nil
}

// dashboardDiff returns "" when stored already is model in the cxlake
// folder, or the first difference. Keys Grafana adds or maintains (id,
// version, and any key the model does not set) are not compared.
func dashboardDiff(stored *storedDashboard, model map[string]any) string {
	if stored.FolderUID != FolderUID {
		return "folder"
	}
	keys := make([]string, 0, len(model))
	for k := range model {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "id" || k == "version" {
			continue
		}
		if !sameJSON(stored.Model[k], model[k]) {
			return k
		}
	}
	return ""
}

// sameJSON compares two values as JSON documents (numbers as numbers,
// whatever Go type decoded them).
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(ja, &va) != nil || json.Unmarshal(jb, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// atLeast compares Grafana versions ("12.0.2", "11.6.0-security-01",
// "13.0.0-pre") by their major, minor and patch numbers.
func atLeast(version, minimum string) bool {
	v, m := versionParts(version), versionParts(minimum)
	for i := range v {
		if v[i] != m[i] {
			return v[i] > m[i]
		}
	}
	return true
}

func versionParts(s string) [3]int {
	var out [3]int
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexAny(s, "-+ "); i >= 0 {
		s = s[:i]
	}
	for i, p := range strings.SplitN(s, ".", 3) {
		n, err := strconv.Atoi(p)
		if err != nil {
			break
		}
		out[i] = n
	}
	return out
}

// String summarizes the report for the command line.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Grafana %s\n", r.GrafanaVersion)
	for _, c := range r.Changes {
		fmt.Fprintf(&b, "  %-11s %-18s %-9s", c.Kind, c.UID, c.Action)
		if c.Why != "" {
			fmt.Fprintf(&b, " (%s differed)", c.Why)
		}
		if len(c.Kept) > 0 {
			fmt.Fprintf(&b, " (kept as set in Grafana: %s)", strings.Join(c.Kept, ", "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
