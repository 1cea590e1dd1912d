package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// httpServer is the one HTTP surface of a running cxlake (`run`, `demo`).
// Each stage mounts its handler on mux in routes: the privacy API, source
// webhooks, /metrics. Handlers live in their stage's package; this file only
// listens, serves and shuts down.
type httpServer struct {
	mux  *http.ServeMux
	srv  *http.Server
	ln   net.Listener
	done chan error
}

func newHTTPServer() *httpServer {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	return &httpServer{mux: mux}
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
