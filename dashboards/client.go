package dashboards

// This file is the only one that knows the Grafana API client,
// github.com/grafana/grafana-api-golang-client (archived upstream). Moving
// to github.com/grafana/grafana-openapi-client-go means rewriting this
// file's grafanaClient against the grafanaAPI interface in provision.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	gapi "github.com/grafana/grafana-api-golang-client"
)

// grafanaClient implements grafanaAPI with grafana-api-golang-client. The
// library takes no context and reports statuses in error strings, so its
// HTTP client goes through a transport that binds each request to the
// caller's context and remembers the last response's status and body.
type grafanaClient struct {
	url string
	api *gapi.Client
	rt  *recordingTransport
}

// recordingTransport binds requests to ctx and records the last response.
type recordingTransport struct {
	base   http.RoundTripper
	ctx    context.Context
	status int
	body   []byte
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.status, t.body = 0, nil
	resp, err := t.base.RoundTrip(req.WithContext(t.ctx))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	t.status, t.body = resp.StatusCode, body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func newGrafanaClient(ctx context.Context, baseURL, token string, hc *http.Client) (*grafanaClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q is not Grafana's base URL: write it as http://host:3000 or https://grafana.example.com", baseURL)
	}
	if token == "" {
		return nil, fmt.Errorf("no token: pass --token with a Grafana service account token (Administration > Service accounts, role Admin)")
	}
	base := http.DefaultTransport
	timeout := 30 * time.Second
	if hc != nil {
		if hc.Transport != nil {
			base = hc.Transport
		}
		timeout = hc.Timeout
	}
	rt := &recordingTransport{base: base, ctx: ctx}
	api, err := gapi.New(strings.TrimRight(baseURL, "/"), gapi.Config{
		APIKey: token,
		Client: &http.Client{Transport: rt, Timeout: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the Grafana client: %w", err)
	}
	return &grafanaClient{url: baseURL, api: api, rt: rt}, nil
}

// bind makes the next requests follow ctx.
func (c *grafanaClient) bind(ctx context.Context) { c.rt.ctx = ctx }

// fail turns the library's error into one that says what to fix.
func (c *grafanaClient) fail(op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if c.rt.ctx.Err() != nil {
			return fmt.Errorf("%s: %w", op, c.rt.ctx.Err())
		}
		return &UnreachableError{URL: c.url, Err: ue.Err}
	}
	switch st := c.rt.status; {
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return &AuthError{URL: c.url, Status: st, Op: op}
	case st >= 400:
		return &APIError{Op: op, Status: st, Message: grafanaMessage(c.rt.body)}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// grafanaMessage is the "message" of Grafana's error body, or the body.
func grafanaMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		return m.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func isNotFound(err error) bool {
	var nf gapi.ErrNotFound
	return errors.As(err, &nf)
}

// Version asks GET /api/health, which needs no token.
func (c *grafanaClient) Version(ctx context.Context) (string, error) {
	c.bind(ctx)
	h, err := c.api.Health()
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return "", c.fail("checking Grafana's health", err)
		}
		return "", &NotGrafanaError{URL: c.url, Status: c.rt.status}
	}
	if h.Database == "" && h.Version == "" {
		return "", &NotGrafanaError{URL: c.url, Status: c.rt.status}
	}
	if h.Version == "" {
		// Grafana hides its version from anonymous requests when told to;
		// the API calls below still fail clearly on a Grafana too old.
		return MinimumGrafana + " (hidden)", nil
	}
	return h.Version, nil
}

func (c *grafanaClient) DataSource(ctx context.Context, uid string) (*dataSource, error) {
	c.bind(ctx)
	d, err := c.api.DataSourceByUID(uid)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, c.fail("reading data source "+uid, err)
	}
	return &dataSource{ID: d.ID, UID: d.UID, Name: d.Name, Type: d.Type, URL: d.URL, Access: d.Access,
		User: d.User, Database: d.Database, JSONData: d.JSONData, ReadOnly: d.ReadOnly}, nil
}

func toGAPI(ds *dataSource) *gapi.DataSource {
	return &gapi.DataSource{ID: ds.ID, UID: ds.UID, Name: ds.Name, Type: ds.Type, URL: ds.URL, Access: ds.Access,
		User: ds.User, Database: ds.Database, JSONData: ds.JSONData, SecureJSONData: ds.SecureJSONData}
}

func (c *grafanaClient) CreateDataSource(ctx context.Context, ds *dataSource) error {
	c.bind(ctx)
	if _, err := c.api.NewDataSource(toGAPI(ds)); err != nil {
		return c.fail("creating data source "+ds.UID, err)
	}
	return nil
}

func (c *grafanaClient) UpdateDataSource(ctx context.Context, ds *dataSource) error {
	c.bind(ctx)
	if err := c.api.UpdateDataSourceByUID(toGAPI(ds)); err != nil {
		return c.fail("updating data source "+ds.UID, err)
	}
	return nil
}

func (c *grafanaClient) Folder(ctx context.Context, uid string) (*folder, error) {
	c.bind(ctx)
	f, err := c.api.FolderByUID(uid)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, c.fail("reading folder "+uid, err)
	}
	return &folder{UID: f.UID, Title: f.Title}, nil
}

func (c *grafanaClient) CreateFolder(ctx context.Context, f folder) error {
	c.bind(ctx)
	if _, err := c.api.NewFolder(f.Title, f.UID); err != nil {
		return c.fail("creating folder "+f.UID, err)
	}
	return nil
}

func (c *grafanaClient) UpdateFolder(ctx context.Context, f folder) error {
	c.bind(ctx)
	if err := c.api.UpdateFolder(f.UID, f.Title); err != nil {
		return c.fail("updating folder "+f.UID, err)
	}
	return nil
}

func (c *grafanaClient) Dashboard(ctx context.Context, uid string) (*storedDashboard, error) {
	c.bind(ctx)
	d, err := c.api.DashboardByUID(uid)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, c.fail("reading dashboard "+uid, err)
	}
	return &storedDashboard{Model: d.Model, FolderUID: d.Meta.FolderUID}, nil
}

func (c *grafanaClient) SaveDashboard(ctx context.Context, model map[string]any, folderUID, message string) error {
	c.bind(ctx)
	uid, _ := model["uid"].(string)
	_, err := c.api.NewDashboard(gapi.Dashboard{Model: model, FolderUID: folderUID, Overwrite: true, Message: message})
	if err != nil {
		return c.fail("saving dashboard "+uid, err)
	}
	return nil
}
