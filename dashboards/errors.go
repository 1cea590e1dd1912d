package dashboards

import (
	"fmt"
	"net/http"
)

// UnreachableError is returned when Grafana cannot be reached at all.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach Grafana at %s (%v): check --url and that Grafana is running and reachable from here", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// NotGrafanaError is returned when the URL answers, but not as Grafana's
// HTTP API does (GET /api/health).
type NotGrafanaError struct {
	URL    string
	Status int
}

func (e *NotGrafanaError) Error() string {
	return fmt.Sprintf("%s does not answer like Grafana (GET /api/health: %d %s): check --url; it is Grafana's base URL, e.g. http://localhost:3000",
		e.URL, e.Status, http.StatusText(e.Status))
}

// AuthError is returned when Grafana refuses the token: 401 when it is not
// valid, 403 when it may not do what provisioning needs.
type AuthError struct {
	URL    string
	Status int
	Op     string // what was refused, e.g. "reading data source cxlake"
}

func (e *AuthError) Error() string {
	if e.Status == http.StatusForbidden {
		return fmt.Sprintf("Grafana at %s refused %s (403 Forbidden): the token's service account needs the Admin role in its organization (provisioning creates a data source and a folder)", e.URL, e.Op)
	}
	return fmt.Sprintf("Grafana at %s refused the token (401 Unauthorized) when %s: check --token; it is a service account token (glsa_...) of this Grafana's organization, created under Administration > Service accounts", e.URL, e.Op)
}

// VersionError is returned when Grafana is older than the dashboards need.
type VersionError struct {
	URL, Version, Minimum string
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("Grafana at %s is version %s; cxlake's dashboards need Grafana %s or later (the %s data source type, database in jsonData): upgrade Grafana",
		e.URL, e.Version, e.Minimum, DataSourceType)
}

// APIError is any other refusal by Grafana's API: the operation, the
// status and Grafana's own message.
type APIError struct {
	Op      string
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: Grafana answered %d %s: %s", e.Op, e.Status, http.StatusText(e.Status), e.Message)
}

// errMissingPassword is returned when the data source must be written but
// no gateway password was given.
var errMissingPassword = fmt.Errorf("the data source needs the password of the gateway user it logs in as: set %s (the demo's is %s)", EnvGatewayPassword, "CXLAKE_DEMO_PASSWORD")

// EnvGatewayPassword is the environment variable `cxlake grafana
// provision` reads the grafana gateway user's password from.
const EnvGatewayPassword = "CXLAKE_GRAFANA_PASSWORD"
