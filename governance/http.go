package governance

import (
	"bytes"
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Handler returns the privacy API, to mount on the server's mux:
//
//	POST /v1/privacy/erasures        {"email"|"phone"|"contact": "...", "reason": "...", "verify_bytes": false, "include_linked": false, "law": "gdpr"|"lgpd"}
//	                                 -> 200 the receipt, or 202 {"request_id", "status", "status_url"}
//	GET  /v1/privacy/erasures/{id}   -> {"request_id", "status", "receipt", "error"}
//	POST /v1/privacy/exports         {"email"|"phone"|"contact": "...", "law": "gdpr"|"lgpd", "format": "json"|"html"}
//	                                 -> the access export (JSON, or the page for the person)
//	GET  /v1/privacy/requests        -> privacy requests, newest first, with overdue flags
//
// Every call needs Authorization: Bearer <token> (the scheme in any case),
// one of governance.api_tokens (the caller's name is the audit actor) or
// governance.compliance_token (caller "api"). An accepted erasure runs on
// a context of its own, not the request's: a caller that disconnects does
// not stop it. When it does not finish within APIWait (2 s) the answer is
// 202 with the status URL; a shutdown stops it between steps, and the next
// start-up finishes it. Every answer is JSON (but the export asked as html),
// with Cache-Control: no-store;
// errors are {"error": "..."} (with "request_id" when one was recorded) and
// never quote the identifier: 400 malformed, 401 no or wrong token, 404
// nothing held about the identifier (the request is recorded, no_data), 405
// wrong method, 503 the API is disabled (no token configured).
func (g *Governance) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/privacy/erasures", g.auth(g.handleErasure))
	mux.HandleFunc("GET /v1/privacy/erasures/{id}", g.auth(g.handleErasureStatus))
	mux.HandleFunc("POST /v1/privacy/exports", g.auth(g.handleExport))
	mux.HandleFunc("GET /v1/privacy/requests", g.auth(g.handleRequests))
	// Wrong methods and unknown paths answer JSON like the rest.
	for path, allow := range map[string]string{"/v1/privacy/erasures": "POST", "/v1/privacy/erasures/{id}": "GET",
		"/v1/privacy/exports": "POST", "/v1/privacy/requests": "GET"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("method %s is not allowed here: use %s", r.Method, allow))
		})
	}
	mux.HandleFunc("/v1/privacy/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, errors.New("no such privacy API endpoint: see docs/governance.md"))
	})
	return mux
}

// APIWait is how long POST /v1/privacy/erasures waits for the erasure to
// finish before it answers 202 Accepted.
const APIWait = 2 * time.Second

// apiRequest is the body of the POST endpoints.
type apiRequest struct {
	Phone       string `json:"phone"`
	Email       string `json:"email"`
	Contact     string `json:"contact"`
	Reason      string `json:"reason"`
	VerifyBytes bool   `json:"verify_bytes"`
	// IncludeLinked is ErasureRequest.IncludeLinked.
	IncludeLinked bool `json:"include_linked"`
	// Law is gdpr or lgpd: the law the request is made under (its
	// deadline, its label). Empty: governance.law.
	Law string `json:"law"`
	// Format is the access export's: json (the default) or html.
	Format string `json:"format"`
}

// Authorize wraps next with the privacy API's check (a caller's bearer
// token; 503 when none is configured, 401 otherwise), for other HTTP APIs of
// the process that are protected the same way (the live KPI report).
func (g *Governance) Authorize(next http.Handler) http.Handler {
	return g.auth(func(w http.ResponseWriter, r *http.Request, _ string) { next.ServeHTTP(w, r) })
}

// callerHandler is an API handler told who called.
type callerHandler func(w http.ResponseWriter, r *http.Request, caller string)

// auth checks the bearer token against every configured caller, in
// constant time per token, and counts failures (APILoginFailures).
func (g *Governance) auth(next callerHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		callers := g.cfg.callers()
		if len(callers) == 0 {
			writeError(w, http.StatusServiceUnavailable, ErrAPIDisabled)
			return
		}
		scheme, tok, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		tok = strings.TrimSpace(tok)
		caller := ""
		if strings.EqualFold(scheme, "bearer") && tok != "" {
			for _, c := range callers {
				if subtle.ConstantTimeCompare([]byte(tok), []byte(c.Token)) == 1 && caller == "" {
					caller = c.Name
				}
			}
		}
		if caller == "" {
			g.loginFailures.Add(1)
			writeError(w, http.StatusUnauthorized, ErrUnauthorized)
			return
		}
		next(w, r, caller)
	}
}

// APILoginFailures counts the privacy API calls refused for a missing or
// wrong token since the process started.
func (g *Governance) APILoginFailures() int64 { return g.loginFailures.Load() }

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

func (g *Governance) handleErasure(w http.ResponseWriter, r *http.Request, caller string) {
	req, id, err := readRequest(r)
	if err == nil {
		err = CheckReason(req.Reason)
	}
	if err == nil {
		err = CheckLaw(req.Law)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	reqID := newID(KindErasure[:3])
	type result struct {
		rc  Receipt
		err error
	}
	done := make(chan result, 1)
	// Accepted: the erasure runs on governance's own context, whatever the
	// caller does from now on.
	ctx, ok := g.detach(reqID)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, errors.New("the server is shutting down; send the request again after it restarts"))
		return
	}
	go func() {
		defer g.undetach(reqID)
		rc, err := g.Erase(ctx, ErasureRequest{Identifier: id, Reason: req.Reason, Actor: caller, Law: req.Law, VerifyBytes: req.VerifyBytes, RequestID: reqID,
			IncludeLinked: req.IncludeLinked})
		if err != nil && !errors.Is(err, ErrUnknownSubject) {
			g.log.Error("an erasure asked through the API did not complete", "request_id", reqID, "err", err)
		}
		done <- result{rc, err}
	}()
	wait := time.NewTimer(g.apiWait)
	defer wait.Stop()
	select {
	case res := <-done:
		var pe *PendingError
		switch {
		case res.err == nil:
			writeJSON(w, http.StatusOK, res.rc)
		case errors.As(res.err, &pe):
			accepted(w, reqID)
		default:
			writeRequestError(w, statusOf(res.err), res.err, res.rc.RequestID)
		}
	case <-wait.C:
		accepted(w, reqID)
	case <-r.Context().Done():
		// The caller left; the erasure goes on.
	}
}

// accepted answers 202 with where to follow the erasure.
func accepted(w http.ResponseWriter, id string) {
	url := "/v1/privacy/erasures/" + id
	w.Header().Set("Location", url)
	writeJSON(w, http.StatusAccepted, map[string]string{"request_id": id, "status": StatusInProgress, "status_url": url})
}

var erasureIDRE = regexp.MustCompile(`^era-[0-9a-f]{16}$`)

// erasureStatus is the answer of GET /v1/privacy/erasures/{id}.
type erasureStatus struct {
	RequestID string          `json:"request_id"`
	Status    string          `json:"status"`
	Receipt   json.RawMessage `json:"receipt,omitempty"`
	Error     string          `json:"error,omitempty"`
}

func (g *Governance) handleErasureStatus(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	if !erasureIDRE.MatchString(id) {
		writeError(w, http.StatusBadRequest, errors.New("an erasure id is era- and 16 hex digits"))
		return
	}
	st := erasureStatus{RequestID: id}
	var receipt, msg sql.NullString
	err := g.wh.DB.QueryRowContext(r.Context(), `select status, receipt::varchar, error from privacy_requests
		where request_id = ? and kind = ?`, id, KindErasure).Scan(&st.Status, &receipt, &msg)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if !g.isDetached(id) {
			writeError(w, http.StatusNotFound, errors.New("no erasure has that id"))
			return
		}
		st.Status = StatusReceived // accepted, waiting for the one before it
	case err != nil:
		writeError(w, http.StatusInternalServerError, fmt.Errorf("reading the request: %w", err))
		return
	}
	if receipt.Valid && st.Status != StatusInProgress {
		st.Receipt = json.RawMessage(receipt.String)
	}
	st.Error = msg.String
	writeJSON(w, http.StatusOK, st)
}

func (g *Governance) handleExport(w http.ResponseWriter, r *http.Request, caller string) {
	req, id, err := readRequest(r)
	if err == nil && req.Format != "" && req.Format != "json" && req.Format != "html" {
		err = errors.New("format is json or html")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	x, err := g.Export(r.Context(), ExportRequest{Identifier: id, Actor: caller, Law: req.Law})
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	// The officer is told the export carries the agents' internal notes.
	w.Header().Set("X-Cxlake-Internal-Notes", strconv.Itoa(x.InternalNotes()))
	if req.Format != "html" {
		writeJSON(w, http.StatusOK, x)
		return
	}
	var page bytes.Buffer
	if err := x.WriteHTML(&page); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(page.Bytes())
}

func (g *Governance) handleRequests(w http.ResponseWriter, r *http.Request, _ string) {
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
	var re *ReasonError
	var le *LinkedPeopleError
	var lawe *LawError
	switch {
	case errors.Is(err, ErrUnknownSubject):
		return http.StatusNotFound
	case errors.As(err, &le):
		return http.StatusConflict // confirm with include_linked, or name an identifier
	case errors.As(err, &ie), errors.As(err, &re), errors.As(err, &lawe):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	// Exports and receipts are about a person: no cache keeps a copy.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// writeRequestError is writeError naming the request recorded (no_data).
func writeRequestError(w http.ResponseWriter, status int, err error, id string) {
	if id == "" {
		writeError(w, status, err)
		return
	}
	writeJSON(w, status, map[string]string{"error": err.Error(), "request_id": id})
}

// detach registers an accepted erasure and returns the context it runs
// on: governance's lifetime (Run's), not the request's. It refuses when
// that lifetime is over.
func (g *Governance) detach(id string) (context.Context, bool) {
	g.detachedMu.Lock()
	defer g.detachedMu.Unlock()
	if g.life.Err() != nil {
		return nil, false
	}
	g.detached[id] = true
	g.detachedWG.Add(1)
	return g.life, true
}

func (g *Governance) undetach(id string) {
	g.detachedMu.Lock()
	delete(g.detached, id)
	g.detachedMu.Unlock()
	g.detachedWG.Done()
}

func (g *Governance) isDetached(id string) bool {
	g.detachedMu.Lock()
	defer g.detachedMu.Unlock()
	return g.detached[id]
}

// Stop ends governance's lifetime: erasures accepted by the API stop at
// their next step boundary (to resume at the next start-up), and Stop
// returns when they have. Run calls it when its context ends.
func (g *Governance) Stop() {
	g.stopLife()
	g.detachedWG.Wait()
}
