package config

import (
	"fmt"
	"net"
	"time"
)

// HTTP is how the HTTP server of `cxlake run` listens and bounds its
// clients (keys http.*; http.addr is Config.HTTPAddr). docs/operations.md
// gives the reasons for the defaults.
type HTTP struct {
	// WebhookAddr, APIAddr and MetricsAddr bind the source webhooks, the
	// privacy API, and /metrics with /healthz each to an address of its
	// own; empty: http.addr. Only the webhook need face the internet.
	WebhookAddr, APIAddr, MetricsAddr string
	// ReadHeaderTimeout bounds reading a request's headers, ReadTimeout
	// the whole request with its body, WriteTimeout the time from the end
	// of the request's headers to the end of the response, IdleTimeout
	// how long a keep-alive connection waits for its next request.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConnections is the most connections open at once per address;
	// more wait in the kernel's backlog.
	MaxConnections int
}

// DefaultHTTP returns the http.* settings used when a key is not set.
func DefaultHTTP() HTTP {
	return HTTP{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 2 * time.Minute,
		IdleTimeout: time.Minute, MaxConnections: 512}
}

// httpFile mirrors the http section of the YAML file.
type httpFile struct {
	Addr              string `yaml:"addr"`
	WebhookAddr       string `yaml:"webhook_addr"`
	APIAddr           string `yaml:"api_addr"`
	MetricsAddr       string `yaml:"metrics_addr"`
	ReadHeaderTimeout string `yaml:"read_header_timeout"`
	ReadTimeout       string `yaml:"read_timeout"`
	WriteTimeout      string `yaml:"write_timeout"`
	IdleTimeout       string `yaml:"idle_timeout"`
	MaxConnections    int    `yaml:"max_connections"`
}

func (c *Config) applyHTTP(f httpFile) error {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.HTTPAddr, f.Addr)
	set(&c.HTTP.WebhookAddr, f.WebhookAddr)
	set(&c.HTTP.APIAddr, f.APIAddr)
	set(&c.HTTP.MetricsAddr, f.MetricsAddr)
	if f.MaxConnections != 0 {
		c.HTTP.MaxConnections = f.MaxConnections
	}
	for _, d := range []struct {
		key string
		val string
		dst *time.Duration
	}{
		{"http.read_header_timeout", f.ReadHeaderTimeout, &c.HTTP.ReadHeaderTimeout},
		{"http.read_timeout", f.ReadTimeout, &c.HTTP.ReadTimeout},
		{"http.write_timeout", f.WriteTimeout, &c.HTTP.WriteTimeout},
		{"http.idle_timeout", f.IdleTimeout, &c.HTTP.IdleTimeout},
	} {
		if err := duration(d.key, d.val, d.dst); err != nil {
			return err
		}
	}
	return nil
}

// Validate reports the first bad http.* key with the fix.
func (h HTTP) Validate() error {
	for _, a := range []struct{ key, val string }{
		{"http.webhook_addr", h.WebhookAddr}, {"http.api_addr", h.APIAddr}, {"http.metrics_addr", h.MetricsAddr},
	} {
		if a.val == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(a.val); err != nil || port == "" {
			return fmt.Errorf("%s is %q: write host:port, e.g. 0.0.0.0:8481, or leave it out to use http.addr", a.key, a.val)
		}
	}
	for _, d := range []struct {
		key      string
		val, min time.Duration
		def      string
	}{
		{"http.read_header_timeout", h.ReadHeaderTimeout, 100 * time.Millisecond, "10s"},
		{"http.read_timeout", h.ReadTimeout, 100 * time.Millisecond, "30s"},
		{"http.write_timeout", h.WriteTimeout, 100 * time.Millisecond, "2m"},
		{"http.idle_timeout", h.IdleTimeout, 100 * time.Millisecond, "1m"},
	} {
		if d.val < d.min || d.val > time.Hour {
			return fmt.Errorf("%s is %s: use %s to 1h (default %s)", d.key, d.val, d.min, d.def)
		}
	}
	if h.ReadHeaderTimeout > h.ReadTimeout {
		return fmt.Errorf("http.read_header_timeout (%s) is longer than http.read_timeout (%s): the headers are part of the request", h.ReadHeaderTimeout, h.ReadTimeout)
	}
	if h.MaxConnections < 1 || h.MaxConnections > 100000 {
		return fmt.Errorf("http.max_connections is %d: use 1 to 100000 (default 512)", h.MaxConnections)
	}
	return nil
}
