package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/models"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cxlake.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFileAndEnv(t *testing.T) {
	p := write(t, "data: /srv/cx\ningest:\n  brokers: [k1:9092, k2:9092]\n  max_future_skew: 90s\n  batch_wait: 250ms\n  fetch_size: 4096\nmodels:\n  refresh_every: 10s\n")
	t.Setenv(EnvGroupID, "ops")
	t.Setenv(EnvBatchSize, "5000")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "/srv/cx" || len(c.Ingest.Brokers) != 2 || c.Ingest.BatchWait != 250*time.Millisecond ||
		c.RefreshEvery != 10*time.Second || c.Ingest.GroupID != "ops" || c.Ingest.BatchSize != 5000 || c.Ingest.FetchSize != 4096 ||
		c.Ingest.MaxFutureSkew != 90*time.Second {
		t.Fatalf("unexpected config: %+v", c)
	}
	if c.Ingest.Topics[0] != "cx.events" {
		t.Fatalf("default topic lost: %v", c.Ingest.Topics)
	}
}

func TestLoadErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"ingest:\n  batch_wait: soon\n", "ingest.batch_wait"},
		{"ingest:\n  batch_size: -1\n", "ingest.batch_size"},
		{"ingest:\n  fetch_size: -1\n", "ingest.fetch_size"},
		{"ingest:\n  max_future_skew: 2d\n", "ingest.max_future_skew"},
		{"ingest:\n  max_future_skew: 48h\n", "ingest.max_future_skew"},
		{"ingest:\n  brokers: [kafka]\n", "has no port"},
		{"ingest:\n  bathc_size: 10\n", "bathc_size"},
		{"models:\n  refresh_every: 1ms\n", "models.refresh_every"},
		{"models:\n  schedules:\n    default:\n      holidays: [12/25]\n", "models.schedules.default.holidays"},
	} {
		_, err := Load(write(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want it to mention %q", tc.body, err, tc.want)
		}
	}
	t.Setenv(EnvBatchSize, "lots")
	if _, err := Load(""); err == nil || !strings.Contains(err.Error(), EnvBatchSize) {
		t.Errorf("bad env: %v", err)
	}
}

func TestEmptyFileMeansDefaults(t *testing.T) {
	c, err := Load(write(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Ingest.GroupID != "cxlake" {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if c.Models.PerAgent {
		t.Error("per-agent figures are on by default; they are off until an operator switches them on")
	}
}

func TestModelsSettings(t *testing.T) {
	c, err := Load(write(t, `models:
  fcr_window: 72h
  sla: {email: 4h}
  sla_clock: {email: business, whatsapp: clock}
  frt_buckets: [30m, 2h, 24h]
  per_agent: true
  hash_key: 00112233445566778899aabbccddeeff
  schedules:
    channel:email:
      tz: America/Sao_Paulo
      weekly: {mon: ["09:00-12:00", "13:00-18:00"], fri: ["09:00-17:00"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Models.Schedules["channel:email"]
	if c.Models.SLAClock["email"] != models.SLAOnBusinessHours || c.Models.SLAClock["whatsapp"] != models.SLAOnClock || len(c.Models.SLAClock) != 2 {
		t.Errorf("models.sla_clock: %v, want email business and whatsapp clock", c.Models.SLAClock)
	}
	if !c.Models.PerAgent {
		t.Error("models.per_agent: true was not read")
	}
	if want := []time.Duration{30 * time.Minute, 2 * time.Hour, 24 * time.Hour}; !slices.Equal(c.Models.FRTBuckets, want) {
		t.Errorf("models.frt_buckets: %v, want %v", c.Models.FRTBuckets, want)
	}
	if c.Models.FCRWindow != 72*time.Hour || c.Models.SLA["email"] != 4*time.Hour || len(c.Models.HashKey) != 16 ||
		s.TZ != "America/Sao_Paulo" || len(s.Weekly[time.Monday]) != 2 || s.Weekly[time.Friday][0] != [2]string{"09:00", "17:00"} {
		t.Fatalf("models settings: %+v", c.Models)
	}
	for _, tc := range []struct{ body, want string }{
		{"models:\n  sla: {email: soon}\n", "models.sla.email"},
		{"models:\n  hash_key: beef\n", "models.hash_key"},
		{"models:\n  sla_clock: {email: office}\n", "models.sla_clock.email"},
		{"models:\n  frt_buckets: [1h, soon]\n", "models.frt_buckets[1]"},
		{"models:\n  frt_buckets: [4h, 1h]\n", "models.frt_buckets"},
		{"models:\n  per_agent: sometimes\n", "per_agent"},
		{"models:\n  sla_clock: {fax: business}\n", "models.sla_clock.fax"},
		{"models:\n  schedules:\n    default: {weekly: {funday: [\"09:00-10:00\"]}}\n", "funday"},
		{"models:\n  schedules:\n    default: {weekly: {mon: [\"09:00\"]}}\n", "09:00-18:00"},
		{"models:\n  schedules:\n    default: {tz: Mars/Olympus, weekly: {mon: [\"09:00-10:00\"]}}\n", "Mars/Olympus"},
	} {
		_, err := Load(write(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want it to mention %q", tc.body, err, tc.want)
		}
	}
}

func TestSectionsThisBuildDoesNotKnowAreRefused(t *testing.T) {
	// Every stage's section is known now (gateway, governance, sources); an
	// unknown one is still refused, naming it.
	_, err := Load(write(t, "telemetry:\n  exporter: otlp\n"))
	if err == nil || !strings.Contains(err.Error(), "telemetry") {
		t.Fatalf("unknown section accepted: %v", err)
	}
}

func TestHTTPAddr(t *testing.T) {
	c, err := Load(write(t, "http:\n  addr: 0.0.0.0:9000\n"))
	if err != nil || c.HTTPAddr != "0.0.0.0:9000" {
		t.Fatalf("http.addr: %q, %v", c.HTTPAddr, err)
	}
	if _, err := Load(write(t, "http:\n  addr: nowhere\n")); err == nil || !strings.Contains(err.Error(), "http.addr") {
		t.Fatalf("bad http.addr: %v", err)
	}
}

func TestMemorySettings(t *testing.T) {
	c, err := Load(write(t, "memory:\n  budget: 2GiB\n  temp_directory: /var/tmp/cx-spill\n  max_temp_size: 500MiB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Memory.Budget != 2<<30 || c.Memory.TempDirectory != "/var/tmp/cx-spill" || c.Memory.MaxTempSize != 500<<20 {
		t.Fatalf("memory settings: %+v", c.Memory)
	}
	if c, err = Load(write(t, "memory:\n  budget: 1073741824\n")); err != nil || c.Memory.Budget != 1<<30 {
		t.Fatalf("budget in bytes: %+v, %v", c.Memory, err)
	}
	for _, tc := range []struct{ body, want string }{
		{"memory:\n  budget: lots\n", "memory.budget"},
		{"memory:\n  budget: 10MiB\n", "memory.budget"},
		{"memory:\n  max_temp_size: big\n", "memory.max_temp_size"},
		{"memory:\n  temp_directory: spill\n", "memory.temp_directory"},
		{"memory:\n  limit: 1GiB\n", "limit"},
	} {
		_, err := Load(write(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want it to mention %q", tc.body, err, tc.want)
		}
	}
	t.Setenv(EnvMemory, "3GiB")
	if c, err := Load(""); err != nil || c.Memory.Budget != 3<<30 {
		t.Fatalf("%s: %+v, %v", EnvMemory, c.Memory, err)
	}
}

// TestCostModelKeys: models.cost is read into models.Config.Cost, and a
// cost model without a label is refused by its key.
func TestCostModelKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cxlake.yaml")
	yml := "models:\n  cost:\n    label: 2026 budget\n    agent_handled_cap: 45m\n    channels:\n      whatsapp: {bot_message: 0.01, bot_conversation: 0.08}\n    teams:\n      default: {agent_minute: 0.5, agent_message: 0.02}\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Models.Cost
	if m == nil || m.Label != "2026 budget" || m.AgentHandledCap != 45*time.Minute ||
		m.Channels["whatsapp"] != (models.ChannelCost{BotMessage: 0.01, BotConversation: 0.08}) ||
		m.Teams["default"] != (models.TeamCost{AgentMinute: 0.5, AgentMessage: 0.02}) {
		t.Errorf("models.cost read as %+v", m)
	}
	if c, err := Load(""); err != nil || c.Models.Cost != nil {
		t.Errorf("no models.cost: Cost = %+v (%v), want nil", c.Models.Cost, err)
	}
	if err := os.WriteFile(path, []byte("models:\n  cost:\n    teams:\n      default: {agent_minute: 0.5}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "models.cost.label") {
		t.Errorf("cost model without a label: %v, want an error naming models.cost.label", err)
	}
}
