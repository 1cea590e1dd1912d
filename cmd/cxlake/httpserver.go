package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"
)

// httpServer is the one HTTP surface of a running cxlake (`run`, `demo`).
// Each stage mounts its handler on mux in routes: the privacy API, source
// webhooks, /metrics. Handlers live in their stage's package; this file only
// listens, serves and shuts down.
type httpServer struct {
	mux    *http.ServeMux
	mu     sync.Mutex
	checks map[string]func() (degraded bool, detail any)
	srv    *http.Server
	ln     net.Listener
	done   chan error
}

func newHTTPServer() *httpServer {
	s := &httpServer{mux: http.NewServeMux(), checks: map[string]func() (bool, any){}}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	return s
}

// addCheck makes GET /healthz report check under name: a degraded check
// turns the answer to 503 {"status":"degraded"}, with each check's detail.
func (s *httpServer) addCheck(name string, check func() (degraded bool, detail any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = check
}

func (s *httpServer) healthz(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	checks := maps.Clone(s.checks)
	s.mu.Unlock()
	body := map[string]any{"status": "ok"}
	details := map[string]any{}
	degraded := false
	for name, check := range checks {
		d, detail := check()
		degraded = degraded || d
		if detail != nil {
			details[name] = detail
		}
	}
	if len(details) > 0 {
		body["checks"] = details
	}
	w.Header().Set("Content-Type", "application/json")
	if degraded {
		body["status"] = "degraded"
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(body)
}

// start listens on addr and serves in the background.
func (s *httpServer) start(addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for HTTP on %s (set http.addr or --http-addr to a free host:port): %w", addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	s.done = make(chan error, 1)
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return nil
}

// Addr is the address actually listened on.
func (s *httpServer) Addr() string { return s.ln.Addr().String() }

// shutdown stops accepting requests and waits up to 10s for those in flight.
func (s *httpServer) shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stopping the HTTP server: %w", err)
	}
	return <-s.done
}
