package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// This is a contract test: no Grafana server can run on these machines, so
// fakeGrafana implements the part of Grafana's HTTP API that Provision uses,
// with the request and response shapes Grafana documents:
//
//   - GET /api/health (no authentication): {"commit", "database", "version"}
//     https://grafana.com/docs/grafana/v11.6/developers/http_api/other/#health-api
//   - Data sources: GET /api/datasources/uid/:uid, POST /api/datasources,
//     PUT /api/datasources/uid/:uid; 404 {"message": "Data source not found"};
//     secureJsonData is write-only, GET returns secureJsonFields instead.
//     https://grafana.com/docs/grafana/v11.6/developers/http_api/data_source/
//   - Folders: GET /api/folders/:uid, POST /api/folders {"uid", "title"},
//     PUT /api/folders/:uid {"title", "version", "overwrite"}.
//     https://grafana.com/docs/grafana/v11.6/developers/http_api/folder/
//   - Dashboards: GET /api/dashboards/uid/:uid -> {"dashboard", "meta":
//     {"folderUid", ...}}, POST /api/dashboards/db {"dashboard", "folderUid",
//     "overwrite", "message"} -> {"id", "uid", "url", "status": "success",
//     "version", "slug"}; Grafana assigns id and bumps version.
//     https://grafana.com/docs/grafana/v11.6/developers/http_api/dashboard/
//   - Authentication: "Authorization: Bearer <service account token>"; 401
//     for a token Grafana does not know, 403 for one without the permission.
//     https://grafana.com/docs/grafana/v11.6/developers/http_api/authentication/
//
// Grafana 12 still serves these /api endpoints next to its new /apis ones.
// The test checks what Provision sends against those shapes, that a second
// run writes nothing, and that each failure says what to fix. It cannot
// prove that a real Grafana accepts every field; the dashboards' JSON is
// checked separately (dashboards_test.go), and the README says the compose
// setup was not run here.

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

const (
	adminToken  = "glsa_admin_token"
	viewerToken = "glsa_viewer_token"
)

type fakeGrafana struct {
	t       *testing.T
	version string
	srv     *httptest.Server

	mu          sync.Mutex
	writes      []string // "POST /api/folders", ...
	datasources map[string]map[string]any
	secrets     map[string]map[string]any // uid -> secureJsonData as last written
	folders     map[string]map[string]any
	dashboards  map[string]map[string]any // uid -> {"dashboard", "folderUid"}
	nextID      int
}

func newFakeGrafana(t *testing.T, version string) *fakeGrafana {
	f := &fakeGrafana{t: t, version: version, datasources: map[string]map[string]any{}, secrets: map[string]map[string]any{},
		folders: map[string]map[string]any{}, dashboards: map[string]map[string]any{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGrafana) reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		f.t.Errorf("fake grafana: %v", err)
	}
}

func (f *fakeGrafana) decode(r *http.Request, v any) bool {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return false
	}
	if r.Header.Get("Content-Type") != "application/json" {
		f.t.Errorf("%s %s sent Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	return json.Unmarshal(raw, v) == nil
}

func (f *fakeGrafana) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := r.URL.Path
	if r.Method == http.MethodGet && path == "/api/health" {
		f.reply(w, 200, map[string]any{"commit": "0123abc", "database": "ok", "version": f.version})
		return
	}
	switch r.Header.Get("Authorization") {
	case "Bearer " + adminToken:
	case "Bearer " + viewerToken:
		if r.Method != http.MethodGet {
			f.reply(w, 403, map[string]any{"message": "You'll need additional permissions to perform this action. Permissions needed: datasources:create"})
			return
		}
	default:
		f.reply(w, 401, map[string]any{"message": "invalid API key", "messageId": "auth.invalid-api-key", "statusCode": 401})
		return
	}
	if r.Method != http.MethodGet {
		f.writes = append(f.writes, r.Method+" "+path)
	}
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/api/datasources/uid/"):
		uid := strings.TrimPrefix(path, "/api/datasources/uid/")
		ds, ok := f.datasources[uid]
		if !ok {
			f.reply(w, 404, map[string]any{"message": "Data source not found"})
			return
		}
		out := map[string]any{}
		for k, v := range ds {
			out[k] = v
		}
		fields := map[string]bool{}
		for k := range f.secrets[uid] {
			fields[k] = true
		}
		out["secureJsonFields"] = fields
		f.reply(w, 200, out)

	case r.Method == http.MethodPost && path == "/api/datasources":
		var ds map[string]any
		if !f.decode(r, &ds) {
			f.reply(w, 400, map[string]any{"message": "bad request data"})
			return
		}
		for _, k := range []string{"name", "type", "access"} {
			if s, _ := ds[k].(string); s == "" {
				f.reply(w, 400, map[string]any{"message": "bad request data: " + k + " is required"})
				return
			}
		}
		uid, _ := ds["uid"].(string)
		for _, other := range f.datasources {
			if other["name"] == ds["name"] || other["uid"] == uid {
				f.reply(w, 409, map[string]any{"message": "data source with the same name already exists"})
				return
			}
		}
		f.nextID++
		f.secrets[uid], _ = ds["secureJsonData"].(map[string]any)
		delete(ds, "secureJsonData")
		ds["id"], ds["orgId"], ds["version"], ds["readOnly"] = f.nextID, 1, 1, false
		f.datasources[uid] = ds
		f.reply(w, 200, map[string]any{"datasource": ds, "id": f.nextID, "message": "Datasource added", "name": ds["name"]})

	case r.Method == http.MethodPut && strings.HasPrefix(path, "/api/datasources/uid/"):
		uid := strings.TrimPrefix(path, "/api/datasources/uid/")
		old, ok := f.datasources[uid]
		if !ok {
			f.reply(w, 404, map[string]any{"message": "Data source not found"})
			return
		}
		var ds map[string]any
		if !f.decode(r, &ds) {
			f.reply(w, 400, map[string]any{"message": "bad request data"})
			return
		}
		if sec, ok := ds["secureJsonData"].(map[string]any); ok { // secrets not sent are kept
			for k, v := range sec {
				f.secrets[uid][k] = v
			}
		}
		delete(ds, "secureJsonData")
		ds["id"], ds["orgId"], ds["version"], ds["readOnly"] = old["id"], 1, old["version"].(int)+1, false
		f.datasources[uid] = ds
		f.reply(w, 200, map[string]any{"datasource": ds, "id": ds["id"], "message": "Datasource updated", "name": ds["name"]})

	case r.Method == http.MethodGet && strings.HasPrefix(path, "/api/folders/"):
		fo, ok := f.folders[strings.TrimPrefix(path, "/api/folders/")]
		if !ok {
			f.reply(w, 404, map[string]any{"message": "folder not found", "status": "not-found"})
			return
		}
		f.reply(w, 200, fo)

	case r.Method == http.MethodPost && path == "/api/folders":
		var body struct{ UID, Title string }
		if !f.decode(r, &body) || body.Title == "" {
			f.reply(w, 400, map[string]any{"message": "folder title cannot be empty"})
			return
		}
		if _, ok := f.folders[body.UID]; ok {
			f.reply(w, 409, map[string]any{"message": "a folder with the same uid already exists"})
			return
		}
		f.nextID++
		fo := map[string]any{"id": f.nextID, "uid": body.UID, "title": body.Title, "url": "/dashboards/f/" + body.UID + "/",
			"hasAcl": false, "canSave": true, "canEdit": true, "canAdmin": true, "version": 1}
		f.folders[body.UID] = fo
		f.reply(w, 200, fo)

	case r.Method == http.MethodPut && strings.HasPrefix(path, "/api/folders/"):
		uid := strings.TrimPrefix(path, "/api/folders/")
		fo, ok := f.folders[uid]
		var body struct {
			Title     string
			Overwrite bool
		}
		if !ok {
			f.reply(w, 404, map[string]any{"message": "folder not found"})
			return
		}
		if !f.decode(r, &body) || body.Title == "" {
			f.reply(w, 400, map[string]any{"message": "folder title cannot be empty"})
			return
		}
		fo["title"], fo["version"] = body.Title, fo["version"].(int)+1
		f.reply(w, 200, fo)

	case r.Method == http.MethodGet && strings.HasPrefix(path, "/api/dashboards/uid/"):
		d, ok := f.dashboards[strings.TrimPrefix(path, "/api/dashboards/uid/")]
		if !ok {
			f.reply(w, 404, map[string]any{"message": "Dashboard not found"})
			return
		}
		f.reply(w, 200, map[string]any{"dashboard": d["dashboard"],
			"meta": map[string]any{"type": "db", "canSave": true, "slug": "x", "url": "/d/x", "folderUid": d["folderUid"], "folderTitle": "cxlake"}})

	case r.Method == http.MethodPost && path == "/api/dashboards/db":
		var body struct {
			Dashboard map[string]any `json:"dashboard"`
			FolderUID string         `json:"folderUid"`
			Overwrite bool           `json:"overwrite"`
			Message   string         `json:"message"`
		}
		if !f.decode(r, &body) || body.Dashboard == nil {
			f.reply(w, 400, map[string]any{"message": "bad request data"})
			return
		}
		uid, _ := body.Dashboard["uid"].(string)
		title, _ := body.Dashboard["title"].(string)
		if uid == "" || title == "" {
			f.reply(w, 400, map[string]any{"message": "Dashboard title cannot be empty"})
			return
		}
		if _, ok := f.folders[body.FolderUID]; !ok && body.FolderUID != "" {
			f.reply(w, 400, map[string]any{"message": "folder not found"})
			return
		}
		version := 1
		if old, ok := f.dashboards[uid]; ok {
			if !body.Overwrite {
				f.reply(w, 412, map[string]any{"message": "The dashboard has been changed by someone else", "status": "version-mismatch"})
				return
			}
			version = int(old["dashboard"].(map[string]any)["version"].(float64)) + 1
		}
		f.nextID++
		body.Dashboard["id"], body.Dashboard["version"] = f.nextID, version
		// stored as JSON round-trips it, numbers as float64
		raw, _ := json.Marshal(body.Dashboard)
		var stored map[string]any
		_ = json.Unmarshal(raw, &stored)
		f.dashboards[uid] = map[string]any{"dashboard": stored, "folderUid": body.FolderUID}
		f.reply(w, 200, map[string]any{"id": f.nextID, "uid": uid, "url": "/d/" + uid + "/x", "status": "success", "version": version, "slug": "x"})

	default:
		f.reply(w, 404, map[string]any{"message": "Not found"})
	}
}

func (f *fakeGrafana) writeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.writes)
}

func provisionOpts(f *fakeGrafana, token string) ProvisionOptions {
	return ProvisionOptions{URL: f.srv.URL, Token: token, Log: quietLog,
		DataSource: DataSourceSettings{Gateway: "cxlake:5433", Password: "s3cret"}}
}

func actions(r Report) string {
	var parts []string
	for _, c := range r.Changes {
		parts = append(parts, c.Kind+" "+c.UID+" "+string(c.Action))
	}
	return strings.Join(parts, "; ")
}

func TestProvisionCreatesThenChangesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFakeGrafana(t, "12.1.0")
	rep, err := Provision(ctx, provisionOpts(f, adminToken))
	if err != nil {
		t.Fatal(err)
	}
	want := "data source cxlake created; folder cxlake created; dashboard cxlake-compliance created; dashboard cxlake-leadership created; dashboard cxlake-pipeline created"
	if got := actions(rep); got != want {
		t.Fatalf("first run: %s\nwant %s", got, want)
	}
	if rep.GrafanaVersion != "12.1.0" || !rep.Changed() {
		t.Errorf("report: %+v", rep)
	}

	ds := f.datasources[DataSourceUID]
	jd, _ := ds["jsonData"].(map[string]any)
	if ds["type"] != DataSourceType || ds["url"] != "cxlake:5433" || ds["user"] != "grafana" || ds["access"] != "proxy" || jd["database"] != "cxlake" {
		t.Errorf("data source as created: %v", ds)
	}
	if f.secrets[DataSourceUID]["password"] != "s3cret" {
		t.Errorf("password not sent as secureJsonData: %v", f.secrets[DataSourceUID])
	}
	for uid, d := range f.dashboards {
		if d["folderUid"] != FolderUID {
			t.Errorf("dashboard %s in folder %v", uid, d["folderUid"])
		}
		raw, _ := json.Marshal(d["dashboard"])
		if !strings.Contains(string(raw), `"uid":"`+DataSourceUID+`"`) {
			t.Errorf("dashboard %s does not refer to data source %s", uid, DataSourceUID)
		}
	}

	writes := f.writeCount()
	rep, err = Provision(ctx, provisionOpts(f, adminToken))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changed() || f.writeCount() != writes {
		t.Fatalf("second run changed something: %s; writes %v", actions(rep), f.writes[writes:])
	}
	if !strings.Contains(rep.String(), "unchanged") {
		t.Errorf("report text: %s", rep)
	}
}

func TestProvisionUpdatesOnlyWhatDiffers(t *testing.T) {
	ctx := context.Background()
	f := newFakeGrafana(t, "11.6.1")
	if _, err := Provision(ctx, provisionOpts(f, adminToken)); err != nil {
		t.Fatal(err)
	}
	// Someone edited things in Grafana's UI.
	f.mu.Lock()
	f.datasources[DataSourceUID]["url"] = "localhost:5433"
	f.folders[FolderUID]["title"] = "Renamed"
	f.dashboards["cxlake-pipeline"]["dashboard"].(map[string]any)["title"] = "my pipeline"
	f.mu.Unlock()

	opts := provisionOpts(f, adminToken)
	opts.DataSource.Password = "" // not given this time: the stored one stays
	writes := f.writeCount()
	rep, err := Provision(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := "data source cxlake updated; folder cxlake updated; dashboard cxlake-compliance unchanged; dashboard cxlake-leadership unchanged; dashboard cxlake-pipeline updated"
	if got := actions(rep); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if rep.Changes[0].Why != "url" || rep.Changes[4].Why != "title" {
		t.Errorf("why: %q, %q", rep.Changes[0].Why, rep.Changes[4].Why)
	}
	if got := f.writes[writes:]; strings.Join(got, ",") != "PUT /api/datasources/uid/cxlake,PUT /api/folders/cxlake,POST /api/dashboards/db" {
		t.Errorf("writes %v", got)
	}
	if f.datasources[DataSourceUID]["url"] != "cxlake:5433" || f.secrets[DataSourceUID]["password"] != "s3cret" {
		t.Errorf("after update: %v, secrets %v", f.datasources[DataSourceUID], f.secrets[DataSourceUID])
	}

	// --reset-password writes the password even when nothing else differs.
	opts.DataSource.Password, opts.ResetPassword = "n3w", true
	rep, err = Provision(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes[0].Action != Updated || f.secrets[DataSourceUID]["password"] != "n3w" {
		t.Errorf("reset password: %s, secrets %v", actions(rep), f.secrets[DataSourceUID])
	}
}

func TestProvisionErrorsSayWhatToFix(t *testing.T) {
	ctx := context.Background()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>router login</html>")
	}))
	t.Cleanup(html.Close)

	for _, tc := range []struct {
		name    string
		opts    func() (ProvisionOptions, *fakeGrafana)
		check   func(error) bool
		mention string
	}{
		{"unreachable", func() (ProvisionOptions, *fakeGrafana) {
			return ProvisionOptions{URL: closedURL, Token: adminToken}, nil
		}, func(err error) bool { var e *UnreachableError; return errors.As(err, &e) }, "check --url"},
		{"not Grafana", func() (ProvisionOptions, *fakeGrafana) {
			return ProvisionOptions{URL: html.URL, Token: adminToken}, nil
		}, func(err error) bool { var e *NotGrafanaError; return errors.As(err, &e) }, "check --url"},
		{"bad token", func() (ProvisionOptions, *fakeGrafana) {
			f := newFakeGrafana(t, "12.0.0")
			return provisionOpts(f, "glsa_wrong"), f
		}, func(err error) bool { var e *AuthError; return errors.As(err, &e) && e.Status == 401 }, "check --token"},
		{"token without the Admin role", func() (ProvisionOptions, *fakeGrafana) {
			f := newFakeGrafana(t, "12.0.0")
			return provisionOpts(f, viewerToken), f
		}, func(err error) bool { var e *AuthError; return errors.As(err, &e) && e.Status == 403 }, "Admin role"},
		{"old Grafana", func() (ProvisionOptions, *fakeGrafana) {
			f := newFakeGrafana(t, "10.2.3")
			return provisionOpts(f, adminToken), f
		}, func(err error) bool { var e *VersionError; return errors.As(err, &e) }, "need Grafana 11.0.0 or later"},
		{"no password for a new data source", func() (ProvisionOptions, *fakeGrafana) {
			f := newFakeGrafana(t, "12.0.0")
			o := provisionOpts(f, adminToken)
			o.DataSource.Password = ""
			return o, f
		}, func(err error) bool { return errors.Is(err, errMissingPassword) }, EnvGatewayPassword},
		{"no token", func() (ProvisionOptions, *fakeGrafana) {
			f := newFakeGrafana(t, "12.0.0")
			return provisionOpts(f, ""), f
		}, func(err error) bool { return err != nil }, "--token"},
		{"not a URL", func() (ProvisionOptions, *fakeGrafana) {
			return ProvisionOptions{URL: "localhost:3000", Token: adminToken}, nil
		}, func(err error) bool { return err != nil }, "http://host:3000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, f := tc.opts()
			_, err := Provision(ctx, opts)
			if err == nil || !tc.check(err) {
				t.Fatalf("error %T %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), adminToken) {
				t.Errorf("error leaks a secret: %v", err)
			}
			if f != nil && f.writeCount() != 0 && tc.name != "token without the Admin role" {
				t.Errorf("wrote %v before failing", f.writes)
			}
		})
	}
}

func TestProvisionRefusesToFightAFileProvisionedDataSource(t *testing.T) {
	ctx := context.Background()
	f := newFakeGrafana(t, "12.0.0")
	f.datasources[DataSourceUID] = map[string]any{"id": 7, "uid": DataSourceUID, "name": DataSourceName, "type": DataSourceType,
		"access": "proxy", "url": "elsewhere:5433", "user": "grafana", "readOnly": true, "version": 1}
	_, err := Provision(ctx, provisionOpts(f, adminToken))
	var e *APIError
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "provisioned from a file") {
		t.Fatalf("error %v", err)
	}
	if f.writeCount() != 0 {
		t.Errorf("wrote %v", f.writes)
	}
}

func TestProvisionFollowsContext(t *testing.T) {
	f := newFakeGrafana(t, "12.0.0")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Provision(ctx, provisionOpts(f, adminToken))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestAtLeast(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"11.0.0", true}, {"12.1.3", true}, {"11.6.0-security-01", true}, {"13.0.0-pre", true},
		{"10.4.19", false}, {"9.5.0", false}, {"v11.2.0", true}, {"", false},
	} {
		if got := atLeast(tc.v, MinimumGrafana); got != tc.want {
			t.Errorf("atLeast(%q) = %v", tc.v, got)
		}
	}
}

// A team turned TLS on in Grafana (sslmode: require) and added a setting
// of its own: provisioning keeps both, reports them, and changes sslmode
// only when told to.
func TestProvisionKeepsSettingsItDoesNotOwn(t *testing.T) {
	ctx := context.Background()
	f := newFakeGrafana(t, "12.1.0")
	if _, err := Provision(ctx, provisionOpts(f, adminToken)); err != nil {
		t.Fatal(err)
	}
	jsonData := func() map[string]any {
		f.mu.Lock()
		defer f.mu.Unlock()
		jd, _ := f.datasources[DataSourceUID]["jsonData"].(map[string]any)
		return jd
	}
	if jd := jsonData(); jd["sslmode"] != "disable" || jd["maxOpenConns"] == nil {
		t.Fatalf("a new data source: jsonData %v, want sslmode disable and the connection defaults", jd)
	}
	f.mu.Lock()
	jd := f.datasources[DataSourceUID]["jsonData"].(map[string]any)
	jd["sslmode"], jd["queryTimeout"] = "require", "120s"
	f.datasources[DataSourceUID]["url"] = "localhost:5433" // and something provisioning owns
	f.mu.Unlock()

	opts := provisionOpts(f, adminToken)
	opts.DataSource.Password = ""
	rep, err := Provision(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Changes[0]
	if c.Action != Updated || c.Why != "url" || strings.Join(c.Kept, ",") != "jsonData.queryTimeout,jsonData.sslmode" {
		t.Errorf("data source change %+v, want updated for url, keeping queryTimeout and sslmode", c)
	}
	if jd := jsonData(); jd["sslmode"] != "require" || jd["queryTimeout"] != "120s" || jd["database"] != "cxlake" {
		t.Errorf("after provisioning: jsonData %v, want sslmode require and queryTimeout kept", jd)
	}
	if !strings.Contains(rep.String(), "kept as set in Grafana: jsonData.queryTimeout, jsonData.sslmode") {
		t.Errorf("report text does not say what it kept:\n%s", rep)
	}

	// An explicit sslmode (the gateway's TLS setting) is provisioning's.
	opts.DataSource.SSLMode = "verify-full"
	if rep, err = Provision(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if c := rep.Changes[0]; c.Action != Updated || c.Why != "jsonData.sslmode" || strings.Join(c.Kept, ",") != "jsonData.queryTimeout" {
		t.Errorf("with SSLMode: %+v", c)
	}
	if jd := jsonData(); jd["sslmode"] != "verify-full" || jd["queryTimeout"] != "120s" {
		t.Errorf("with SSLMode: jsonData %v", jd)
	}
	opts.DataSource.SSLMode = "sometimes"
	if _, err := Provision(ctx, opts); err == nil || !strings.Contains(err.Error(), "sslmode") {
		t.Errorf("sslmode sometimes: %v, want an error naming sslmode", err)
	}
}
