// Package config reads cxlake's configuration once at start-up: a YAML file,
// then CXLAKE_* environment variables over it, then validation that names the
// offending key and the fix. Nothing else in cxlake reads files or the
// environment for settings.
package config

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/ingest/sources"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/warehouse"
)

// Config is the whole configuration of a cxlake process.
type Config struct {
	// Data is the data directory: the DuckDB file, the Parquet lake, keys.
	Data   string
	Ingest ingest.Config
	// Models are the KPI settings: FCR window, SLAs, business hours, hash key.
	Models models.Config
	// RefreshEvery is how often models are refreshed while events flow.
	RefreshEvery time.Duration
	// PublishEvery is how often new events are published to the Parquet lake.
	PublishEvery time.Duration
	// CompactEvery is how often `run` compacts the lake (0: never); Compact
	// says which partitions and how (lake.compact_* keys).
	CompactEvery time.Duration
	Compact      warehouse.CompactOptions
	// HTTPAddr is where the running server listens for HTTP: the privacy
	// API, source webhooks and /metrics.
	HTTPAddr string
	// HTTP: separate addresses per kind of route, timeouts, connection cap
	// (http.go).
	HTTP HTTP
	// Gateway is the SQL gateway (Postgres wire protocol): address, users, limits.
	Gateway gateway.Config
	// Governance: retention policy, privacy API token, deadlines, schedules
	// (config/governance.go).
	Governance governance.Config
	// Sources are the source formats besides cx.event/v1 (sources.go).
	Sources sources.Config
	// Memory is the process's memory budget and DuckDB's spill folder
	// (docs/memory.md).
	Memory warehouse.Memory
	// Report: the KPI report's targets (report.go).
	Report ReportConfig
	// Privacy: where the hash key lives (privacy.go).
	Privacy Privacy
}

// file mirrors the YAML layout; durations are strings such as "500ms".
type file struct {
	Data   string `yaml:"data"`
	Ingest struct {
		Brokers         []string `yaml:"brokers"`
		Topics          []string `yaml:"topics"`
		GroupID         string   `yaml:"group_id"`
		BatchSize       int      `yaml:"batch_size"`
		BatchWait       string   `yaml:"batch_wait"`
		FetchSize       int      `yaml:"fetch_size"`
		MaxMessageBytes int      `yaml:"max_message_bytes"`
		MaxFutureSkew   string   `yaml:"max_future_skew"`
		CommitRetry     string   `yaml:"commit_retry"`
		SessionTimeout  string   `yaml:"session_timeout"`
		Writers         int      `yaml:"writers"`
		TopicGrace      string   `yaml:"topic_grace"`
		ShutdownTimeout string   `yaml:"shutdown_timeout"`
	} `yaml:"ingest"`
	Models struct {
		RefreshEvery string            `yaml:"refresh_every"`
		FCRWindow    string            `yaml:"fcr_window"`
		SLA          map[string]string `yaml:"sla"`
		SLAClock     map[string]string `yaml:"sla_clock"`   // email: business
		FRTBuckets   []string          `yaml:"frt_buckets"` // ["1h", "4h", "8h", "24h"]
		HashKey      string            `yaml:"hash_key"`    // hex; default: DATA/contact_key.secret
		PerAgent     string            `yaml:"per_agent"`   // true or false: figures per agent (kpi_daily_agent); default off
		Cost         *costFile         `yaml:"cost"`        // the cost model; none by default (costs null)
		Schedules    map[string]struct {
			TZ       string              `yaml:"tz"`
			Weekly   map[string][]string `yaml:"weekly"`   // mon: ["09:00-18:00"]
			Holidays []string            `yaml:"holidays"` // ["2026-12-25", "01-01"]
		} `yaml:"schedules"`
	} `yaml:"models"`
	Lake struct {
		PublishEvery      string `yaml:"publish_every"`
		CompactEvery      string `yaml:"compact_every"`
		CompactGrace      string `yaml:"compact_grace"`
		CompactMaxFiles   *int   `yaml:"compact_max_files"`
		CompactTargetSize string `yaml:"compact_target_size"`
	} `yaml:"lake"`
	Privacy struct {
		KeyFile string `yaml:"key_file"`
	} `yaml:"privacy"`
	Memory struct {
		Budget        string `yaml:"budget"`
		TempDirectory string `yaml:"temp_directory"`
		MaxTempSize   string `yaml:"max_temp_size"`
	} `yaml:"memory"`
	HTTP httpFile `yaml:"http"`
	// Sections owned by other stages are decoded by their own files in this
	// package (sections.go), so each stage's keys sit next to its parser.
	Gateway    yaml.Node `yaml:"gateway"`
	Governance yaml.Node `yaml:"governance"`
	Sources    yaml.Node `yaml:"sources"`
	Report     yaml.Node `yaml:"report"`
}

// Defaults returns the configuration used for keys that are not set.
func Defaults() Config {
	return Config{Data: "cxlake-data", Ingest: ingest.Defaults(), RefreshEvery: 5 * time.Second, PublishEvery: time.Minute,
		CompactEvery: time.Hour, Compact: warehouse.DefaultCompactOptions(),
		HTTPAddr: DefaultHTTPAddr, HTTP: DefaultHTTP(), Gateway: gateway.DefaultConfig(), Governance: governance.Defaults()}
}

// Load reads path (may be "" for defaults only), applies the environment and validates.
func Load(path string) (Config, error) {
	c := Defaults()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("reading config: %w", err)
		}
		if err := c.apply(raw); err != nil {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.applyEnv(os.Getenv); err != nil {
		return c, err
	}
	c.applySourcesEnv(os.Getenv)
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

func (c *Config) apply(raw []byte) error {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return fmt.Errorf("%w (see docs/config.md for the keys)", err)
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.Data, f.Data)
	set(&c.Privacy.KeyFile, f.Privacy.KeyFile)
	set(&c.Memory.TempDirectory, f.Memory.TempDirectory)
	for _, b := range []struct {
		key, val string
		dst      *int64
	}{{"memory.budget", f.Memory.Budget, &c.Memory.Budget}, {"memory.max_temp_size", f.Memory.MaxTempSize, &c.Memory.MaxTempSize},
		{"lake.compact_target_size", f.Lake.CompactTargetSize, &c.Compact.TargetBytes}} {
		if err := size(b.key, b.val, b.dst); err != nil {
			return err
		}
	}
	if f.Lake.CompactMaxFiles != nil {
		c.Compact.MaxFiles = *f.Lake.CompactMaxFiles
	}
	if err := c.applyHTTP(f.HTTP); err != nil {
		return err
	}
	if len(f.Ingest.Brokers) > 0 {
		c.Ingest.Brokers = f.Ingest.Brokers
	}
	if len(f.Ingest.Topics) > 0 {
		c.Ingest.Topics = f.Ingest.Topics
	}
	set(&c.Ingest.GroupID, f.Ingest.GroupID)
	if f.Ingest.BatchSize != 0 {
		c.Ingest.BatchSize = f.Ingest.BatchSize
	}
	if f.Ingest.FetchSize != 0 {
		c.Ingest.FetchSize = f.Ingest.FetchSize
	}
	if f.Ingest.Writers != 0 {
		c.Ingest.Writers = f.Ingest.Writers
	}
	if f.Ingest.MaxMessageBytes != 0 {
		c.Ingest.MaxMessageBytes = f.Ingest.MaxMessageBytes
	}
	for _, d := range []struct {
		key string
		val string
		dst *time.Duration
	}{
		{"ingest.batch_wait", f.Ingest.BatchWait, &c.Ingest.BatchWait},
		{"ingest.commit_retry", f.Ingest.CommitRetry, &c.Ingest.CommitRetry},
		{"ingest.session_timeout", f.Ingest.SessionTimeout, &c.Ingest.SessionTimeout},
		{"ingest.max_future_skew", f.Ingest.MaxFutureSkew, &c.Ingest.MaxFutureSkew},
		{"ingest.topic_grace", f.Ingest.TopicGrace, &c.Ingest.TopicGrace},
		{"ingest.shutdown_timeout", f.Ingest.ShutdownTimeout, &c.Ingest.ShutdownTimeout},
		{"models.refresh_every", f.Models.RefreshEvery, &c.RefreshEvery},
		{"models.fcr_window", f.Models.FCRWindow, &c.Models.FCRWindow},
		{"lake.publish_every", f.Lake.PublishEvery, &c.PublishEvery},
		{"lake.compact_every", f.Lake.CompactEvery, &c.CompactEvery},
		{"lake.compact_grace", f.Lake.CompactGrace, &c.Compact.Grace},
	} {
		if err := duration(d.key, d.val, d.dst); err != nil {
			return err
		}
	}
	for ch, v := range f.Models.SLA {
		var d time.Duration
		if err := duration("models.sla."+ch, v, &d); err != nil {
			return err
		}
		if c.Models.SLA == nil {
			c.Models.SLA = map[string]time.Duration{}
		}
		c.Models.SLA[ch] = d
	}
	for ch, v := range f.Models.SLAClock {
		if c.Models.SLAClock == nil {
			c.Models.SLAClock = map[string]models.Clock{}
		}
		c.Models.SLAClock[ch] = models.Clock(strings.TrimSpace(v)) // models.Config.Validate checks the value
	}
	for i, v := range f.Models.FRTBuckets {
		var d time.Duration
		if err := duration(fmt.Sprintf("models.frt_buckets[%d]", i), v, &d); err != nil {
			return err
		}
		c.Models.FRTBuckets = append(c.Models.FRTBuckets, d) // models.Config.Validate checks the order
	}
	if v := strings.TrimSpace(f.Models.PerAgent); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("models.per_agent is %q: write true (keep figures per agent) or false (the default)", v)
		}
		c.Models.PerAgent = on
	}
	if f.Models.Cost != nil {
		m, err := f.Models.Cost.model()
		if err != nil {
			return err
		}
		c.Models.Cost = m // models.Config.Validate checks the prices and the label
	}
	if f.Models.HashKey != "" {
		if err := hashKey("models.hash_key", f.Models.HashKey, &c.Models.HashKey); err != nil {
			return err
		}
	}
	for name, sc := range f.Models.Schedules {
		s := models.Schedule{TZ: sc.TZ, Weekly: map[time.Weekday][][2]string{}, Holidays: sc.Holidays}
		for day, spans := range sc.Weekly {
			wd, ok := weekdays[strings.ToLower(day)]
			if !ok {
				return fmt.Errorf("models.schedules.%s.weekly has day %q: use mon, tue, wed, thu, fri, sat or sun", name, day)
			}
			for _, span := range spans {
				from, to, ok := strings.Cut(span, "-")
				if !ok {
					return fmt.Errorf("models.schedules.%s.weekly.%s has %q: write an interval as \"09:00-18:00\"", name, day, span)
				}
				s.Weekly[wd] = append(s.Weekly[wd], [2]string{strings.TrimSpace(from), strings.TrimSpace(to)})
			}
		}
		if c.Models.Schedules == nil {
			c.Models.Schedules = map[string]models.Schedule{}
		}
		c.Models.Schedules[name] = s
	}
	return c.applySections(&f)
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func hashKey(key, val string, dst *[]byte) error {
	b, err := hex.DecodeString(strings.TrimSpace(val))
	if err != nil || len(b) < 16 {
		return fmt.Errorf("%s must be at least 32 hex characters (16 bytes); generate one with: head -c 32 /dev/urandom | xxd -p -c 64", key)
	}
	*dst = b
	return nil
}

// size reads a size in bytes such as 1GiB, 512MiB or 1073741824.
func size(key, val string, dst *int64) error {
	if val == "" {
		return nil
	}
	n, err := warehouse.ParseBytes(val)
	if err != nil {
		return fmt.Errorf("%s is %q, not a size: write e.g. 1GiB, 512MiB or a number of bytes", key, val)
	}
	*dst = n
	return nil
}

func duration(key, val string, dst *time.Duration) error {
	if val == "" {
		return nil
	}
	d, err := time.ParseDuration(val)
	if err != nil {
		return fmt.Errorf("%s is %q, not a duration: write e.g. 500ms, 5s or 2m", key, val)
	}
	*dst = d
	return nil
}

// Env variables read by Load, over the file.
const (
	EnvData      = "CXLAKE_DATA"
	EnvBrokers   = "CXLAKE_BROKERS" // comma-separated host:port
	EnvTopics    = "CXLAKE_TOPICS"  // comma-separated
	EnvGroupID   = "CXLAKE_GROUP_ID"
	EnvBatchSize = "CXLAKE_BATCH_SIZE"
	EnvBatchWait = "CXLAKE_BATCH_WAIT"
	EnvHashKey   = "CXLAKE_HASH_KEY" // hex, overrides models.hash_key
	EnvHTTPAddr  = "CXLAKE_HTTP_ADDR"
	EnvMemory    = "CXLAKE_MEMORY" // memory.budget, e.g. 2GiB
)

func (c *Config) applyEnv(getenv func(string) string) error {
	list := func(v string) []string {
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	if v := getenv(EnvData); v != "" {
		c.Data = v
	}
	if v := getenv(EnvBrokers); v != "" {
		c.Ingest.Brokers = list(v)
	}
	if v := getenv(EnvTopics); v != "" {
		c.Ingest.Topics = list(v)
	}
	if v := getenv(EnvHTTPAddr); v != "" {
		c.HTTPAddr = v
	}
	if v := getenv(EnvPGAddr); v != "" {
		c.Gateway.Addr = v
	}
	if v := getenv(EnvGroupID); v != "" {
		c.Ingest.GroupID = v
	}
	if v := getenv(EnvBatchSize); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%s is %q, not a whole number: write e.g. 131072", EnvBatchSize, v)
		}
		c.Ingest.BatchSize = n
	}
	if v := getenv(EnvKeyFile); v != "" {
		c.Privacy.KeyFile = v
	}
	if v := getenv(EnvHashKey); v != "" {
		if err := hashKey(EnvHashKey, v, &c.Models.HashKey); err != nil {
			return err
		}
	}
	if err := size(EnvMemory, getenv(EnvMemory), &c.Memory.Budget); err != nil {
		return err
	}
	c.applyGovernanceEnv(getenv)
	return duration(EnvBatchWait, getenv(EnvBatchWait), &c.Ingest.BatchWait)
}

// Validate reports the first bad key with the fix.
func (c Config) Validate() error {
	if strings.TrimSpace(c.Data) == "" {
		return fmt.Errorf("data is empty: name the data directory, e.g. data: /var/lib/cxlake")
	}
	if err := c.Ingest.Validate(); err != nil {
		return err
	}
	if err := c.Memory.Validate(); err != nil {
		return err
	}
	if err := c.Governance.Validate(); err != nil {
		return err
	}
	m := c.Models
	if len(m.HashKey) == 0 { // the key will come from the data directory
		m.HashKey = make([]byte, 32)
	}
	if err := m.Validate(); err != nil {
		return err
	}
	if c.RefreshEvery < 100*time.Millisecond {
		return fmt.Errorf("models.refresh_every is %s: use at least 100ms (default 5s)", c.RefreshEvery)
	}
	if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil || port == "" {
		return fmt.Errorf("http.addr is %q: write host:port, e.g. %s", c.HTTPAddr, DefaultHTTPAddr)
	}
	if err := c.HTTP.Validate(); err != nil {
		return err
	}
	if err := c.Gateway.Validate(); err != nil {
		return err
	}
	if err := c.validatePrivacy(); err != nil {
		return err
	}
	if c.PublishEvery < time.Second {
		return fmt.Errorf("lake.publish_every is %s: use at least 1s (default 1m)", c.PublishEvery)
	}
	if c.CompactEvery < 0 || c.Compact.Grace < 0 || c.Compact.MaxFiles < 0 {
		return fmt.Errorf("lake.compact_every, lake.compact_grace and lake.compact_max_files must not be negative (0 disables compaction in run, a grace of 0 compacts at midnight, 0 files: only closed partitions)")
	}
	if c.Compact.TargetBytes < 1<<20 {
		return fmt.Errorf("lake.compact_target_size is below 1MiB: use e.g. 128MiB (the default)")
	}
	return c.validateSources()
}
