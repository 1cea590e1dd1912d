package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/ingest"
)

// httpServer is the HTTP surface of a running cxlake (`run`, `demo`). Each
// stage mounts its handler on the mux of its kind: ops (/healthz,
// /metrics), api (the privacy API) or webhooks (source webhooks). Each kind
// listens on its own address (config http.*_addr), or shares one; handlers
// live in their stage's package. This file only listens, bounds every
// client (timeouts, a cap on connections), serves, says how healthy the
// process is, and shuts down.
type httpServer struct {
	ops, api, webhooks *http.ServeMux
	limits             config.HTTP
	log                *slog.Logger

	mu     sync.Mutex
	checks []func() ingest.Health // what /healthz reports

	listening []*listener
}

// listener is one address and the kinds served there.
type listener struct {
	kinds []string
	srv   *http.Server
	ln    net.Listener
	done  chan error
}

func newHTTPServer(limits config.HTTP, log *slog.Logger) *httpServer {
	s := &httpServer{ops: http.NewServeMux(), api: http.NewServeMux(), webhooks: http.NewServeMux(), limits: limits, log: log}
	s.ops.HandleFunc("GET /healthz", s.healthz)
	return s
}

// watch adds a component's health to /healthz.
func (s *httpServer) watch(check func() ingest.Health) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, check)
}

// healthz answers 200 {"status":"ok"} when every component is ok; 200
// {"status":"degraded","reason":...} while one rides out a fault (a broker
// outage: the process is doing what it should, and restarting it would not
// help, so a liveness probe must not kill it); and 503
// {"status":"stopped","reason":...} once one has stopped (ingest failed:
// someone must act).
func (s *httpServer) healthz(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	checks := append([]func() ingest.Health(nil), s.checks...)
	s.mu.Unlock()
	status, code := ingest.StateOK, http.StatusOK
	var reasons []string
	for _, c := range checks {
		h := c()
		switch h.State {
		case ingest.StateStopped:
			status, code = ingest.StateStopped, http.StatusServiceUnavailable
		case ingest.StateDegraded:
			if status == ingest.StateOK {
				status = ingest.StateDegraded
			}
		default:
			continue
		}
		reasons = append(reasons, h.Reason)
	}
	body := map[string]string{"status": status}
	if len(reasons) > 0 {
		body["reason"] = strings.Join(reasons, "; ")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// start listens on the addresses of limits (each kind on its own, or
// together on addr) and serves in the background.
func (s *httpServer) start(addr string) error {
	byAddr := map[string][]string{}
	var order []string
	for _, k := range []struct{ kind, addr string }{
		{"ops", s.limits.MetricsAddr}, {"api", s.limits.APIAddr}, {"webhooks", s.limits.WebhookAddr},
	} {
		a := k.addr
		if a == "" {
			a = addr
		}
		if byAddr[a] == nil {
			order = append(order, a)
		}
		byAddr[a] = append(byAddr[a], k.kind)
	}
	for _, a := range order {
		if err := s.listen(a, byAddr[a]); err != nil {
			_ = s.shutdown(context.Background())
			return err
		}
	}
	return nil
}

func (s *httpServer) listen(addr string, kinds []string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for HTTP (%s) on %s (set http.addr or its http.*_addr to a free host:port): %w",
			strings.Join(kinds, ", "), addr, err)
	}
	var muxes []*http.ServeMux
	for _, k := range kinds {
		muxes = append(muxes, map[string]*http.ServeMux{"ops": s.ops, "api": s.api, "webhooks": s.webhooks}[k])
	}
	l := &listener{kinds: kinds, ln: limitListener(ln, s.limits.MaxConnections), done: make(chan error, 1)}
	l.srv = &http.Server{Handler: route(muxes), ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		ReadTimeout: s.limits.ReadTimeout, WriteTimeout: s.limits.WriteTimeout, IdleTimeout: s.limits.IdleTimeout,
		MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	s.listening = append(s.listening, l)
	go func() {
		err := l.srv.Serve(l.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		l.done <- err
	}()
	return nil
}

// route serves a request with the first mux that has a route for it; a
// request none has is answered by the first (404 or 405).
func route(muxes []*http.ServeMux) http.Handler {
	if len(muxes) == 1 {
		return muxes[0]
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, m := range muxes {
			if _, pattern := m.Handler(r); pattern != "" {
				m.ServeHTTP(w, r)
				return
			}
		}
		muxes[0].ServeHTTP(w, r)
	})
}

// Addr is the address the given kind ("ops", "api", "webhooks") is
// listened on.
func (s *httpServer) AddrOf(kind string) string {
	for _, l := range s.listening {
		for _, k := range l.kinds {
			if k == kind {
				return l.ln.Addr().String()
			}
		}
	}
	return ""
}

// Addr is the address of /healthz and /metrics.
func (s *httpServer) Addr() string { return s.AddrOf("ops") }

// shutdown stops accepting requests and waits for those in flight until
// ctx ends, then closes the connections left.
func (s *httpServer) shutdown(ctx context.Context) error {
	var errs []error
	for _, l := range s.listening {
		if err := l.srv.Shutdown(ctx); err != nil {
			_ = l.srv.Close()
			errs = append(errs, fmt.Errorf("stopping the HTTP server on %s: %w", l.ln.Addr(), err))
			continue
		}
		if err := <-l.done; err != nil {
			errs = append(errs, err)
		}
	}
	s.listening = nil
	return errors.Join(errs...)
}

// limitListener accepts at most n connections at once: the next waits
// in the kernel's backlog until one closes, so that no number of idle or
// slow clients exhausts the process's file descriptors.
func limitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return &limited{Listener: ln, sem: make(chan struct{}, n), closed: make(chan struct{})}
}

type limited struct {
	net.Listener
	sem       chan struct{}
	closeOnce sync.Once
	closed    chan struct{}
}

func (l *limited) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limited) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
