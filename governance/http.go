package governance

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Handler returns the privacy API, to mount on the server's mux:
//
//	POST /v1/privacy/erasures   {"email"|"phone"|"contact": "...", "reason": "...", "verify_bytes": false} -> receipt
//	POST /v1/privacy/exports    {"email"|"phone"|"contact": "..."} -> the access export
//	GET  /v1/privacy/requests   -> privacy requests, newest first, with overdue flags
//
// Every call needs Authorization: Bearer <governance.compliance_token>.
// Errors are JSON {"error": "..."} and never quote the identifier:
// 400 malformed, 401 no or wrong token, 404 nothing held about the
// identifier, 503 the API is disabled (no token configured).
func (g *Governance) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/privacy/erasures", g.auth(g.handleErasure))
	mux.HandleFunc("POST /v1/privacy/exports", g.auth(g.handleExport))
	mux.HandleFunc("GET /v1/privacy/requests", g.auth(g.handleRequests))
	return mux
}

// apiRequest is the body of the POST endpoints.
type apiRequest struct {
	Phone       string `json:"phone"`
	Email       string `json:"email"`
	Contact     string `json:"contact"`
	Reason      string `json:"reason"`
	VerifyBytes bool   `json:"verify_bytes"`
}

// Authorize wraps next with the privacy API's check (a bearer token equal to
// governance.compliance_token; 503 when none is configured, 401 otherwise),
// for other HTTP APIs of the process that are protected the same way (the
// live KPI report).
func (g *Governance) Authorize(next http.Handler) http.Handler { return g.auth(next.ServeHTTP) }

func (g *Governance) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if g.cfg.ComplianceToken == "" {
			writeError(w, http.StatusServiceUnavailable, ErrAPIDisabled)
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(g.cfg.ComplianceToken)) != 1 {
			writeError(w, http.StatusUnauthorized, ErrUnauthorized)
			return
		}
		next(w, r)
	}
}

func readRequest(r *http.Request) (apiRequest, Identifier, error) {
	var req apiRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, Identifier{}, fmt.Errorf("the body must be a JSON object with one of phone, email or contact (and optionally reason): %s", jsonProblem(err))
	}
	var kinds []string
	for k, v := range map[string]string{"phone": req.Phone, "email": req.Email, "contact": req.Contact} {
		if v != "" {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) != 1 {
		return req, Identifier{}, errors.New("give exactly one of phone, email or contact")
	}
	value := map[string]string{"phone": req.Phone, "email": req.Email, "contact": req.Contact}[kinds[0]]
	id, err := ParseIdentifier(kinds[0], value)
	return req, id, err
}

// jsonProblem describes a JSON error without echoing values.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s has the wrong type", te.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return err.Error()
	case errors.Is(err, io.EOF):
		return "empty body"
	}
	return "unreadable body"
}

func (g *Governance) handleErasure(w http.ResponseWriter, r *http.Request) {
	req, id, err := readRequest(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	rc, err := g.Erase(r.Context(), ErasureRequest{Identifier: id, Reason: req.Reason, Actor: "api", VerifyBytes: req.VerifyBytes})
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, rc)
}

func (g *Governance) handleExport(w http.ResponseWriter, r *http.Request) {
	_, id, err := readRequest(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	x, err := g.Export(r.Context(), ExportRequest{Identifier: id, Actor: "api"})
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, x)
}

func (g *Governance) handleRequests(w http.ResponseWriter, r *http.Request) {
	list, err := g.Requests(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if list == nil {
		list = []PrivacyRequest{}
	}
	writeJSON(w, http.StatusOK, list)
}

func statusOf(err error) int {
	var ie *IdentifierError
	switch {
	case errors.Is(err, ErrUnknownSubject):
		return http.StatusNotFound
	case errors.As(err, &ie):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
