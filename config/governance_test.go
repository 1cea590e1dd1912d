package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance"
)

func TestGovernanceSection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte(`
governance:
  law: gdpr
  checkpoint_every: 30s
  retention:
    message_text: 90d
    raw_events: 2y
    dead_letters: 2w
    audit: forever
`), 0o600)
	t.Setenv(EnvComplianceToken, "a-token-of-sixteen-or-more")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	g := c.Governance
	if g.Law != governance.LawGDPR || g.CheckpointEvery != 30*time.Second || g.ComplianceToken != "a-token-of-sixteen-or-more" ||
		g.Retention != (governance.Retention{MessageText: 90 * governance.Day, RawEvents: 730 * governance.Day, DeadLetters: 14 * governance.Day}) {
		t.Fatalf("governance %+v", g)
	}
	if g.ConsentEvery != governance.Defaults().ConsentEvery {
		t.Fatal("an unset key lost its default")
	}
}

func TestGovernanceSectionErrorsNameTheKey(t *testing.T) {
	for body, key := range map[string]string{
		"governance:\n  retention:\n    raw_events: 2 years\n":                      "governance.retention.raw_events",
		"governance:\n  retention:\n    message_text: 800d\n    raw_events: 700d\n": "governance.retention.message_text",
		"governance:\n  law: ccpa\n":                                                "governance.law",
		"governance:\n  compliance_token: short\n":                                  "governance.compliance_token",
		"governance:\n  retention_evry: 1h\n":                                       "governance",
	} {
		path := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(path, []byte(body), 0o600)
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: error %v, want it to name %s", body, err, key)
		}
	}
}
