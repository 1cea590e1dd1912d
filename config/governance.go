package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cxlake/cxlake/governance"
)

// EnvComplianceToken overrides governance.compliance_token (keep the token
// out of the config file).
const EnvComplianceToken = "CXLAKE_COMPLIANCE_TOKEN"

// governanceFile mirrors the governance section.
type governanceFile struct {
	ComplianceToken string `yaml:"compliance_token"`
	APITokens       []struct {
		Name  string `yaml:"name"`
		Token string `yaml:"token"`
	} `yaml:"api_tokens"`
	Law             string `yaml:"law"`
	CheckpointEvery string `yaml:"checkpoint_every"`
	ConsentEvery    string `yaml:"consent_every"`
	RetentionEvery  string `yaml:"retention_every"`
	Retention       struct {
		MessageText *string `yaml:"message_text"`
		RawEvents   *string `yaml:"raw_events"`
		DeadLetters *string `yaml:"dead_letters"`
		Audit       *string `yaml:"audit"`
	} `yaml:"retention"`
}

// applyGovernance decodes the governance section over the defaults.
func applyGovernance(c *Config, n *yaml.Node) error {
	var f governanceFile
	if err := decodeSection("governance", n, &f); err != nil {
		return err
	}
	g := &c.Governance
	if f.ComplianceToken != "" {
		g.ComplianceToken = f.ComplianceToken
	}
	for _, t := range f.APITokens {
		g.APITokens = append(g.APITokens, governance.APIToken{Name: t.Name, Token: t.Token})
	}
	if f.Law != "" {
		g.Law = strings.ToLower(f.Law)
	}
	for _, d := range []struct {
		key, val string
		dst      *time.Duration
	}{
		{"governance.checkpoint_every", f.CheckpointEvery, &g.CheckpointEvery},
		{"governance.consent_every", f.ConsentEvery, &g.ConsentEvery},
		{"governance.retention_every", f.RetentionEvery, &g.RetentionEvery},
	} {
		if err := duration(d.key, d.val, d.dst); err != nil {
			return err
		}
	}
	for _, p := range []struct {
		key string
		val *string
		dst *time.Duration
	}{
		{"governance.retention.message_text", f.Retention.MessageText, &g.Retention.MessageText},
		{"governance.retention.raw_events", f.Retention.RawEvents, &g.Retention.RawEvents},
		{"governance.retention.dead_letters", f.Retention.DeadLetters, &g.Retention.DeadLetters},
		{"governance.retention.audit", f.Retention.Audit, &g.Retention.Audit},
	} {
		if p.val == nil {
			continue
		}
		d, err := retentionDays(p.key, *p.val)
		if err != nil {
			return err
		}
		*p.dst = d
	}
	return nil
}

// retentionDays reads a policy: "180d", "26w", "2y" (365 days), or
// "forever" (0 keeps forever).
func retentionDays(key, v string) (time.Duration, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	if s == "forever" || s == "0" {
		return 0, nil
	}
	unit := map[byte]int{'d': 1, 'w': 7, 'y': 365}
	if len(s) > 1 {
		if mult, ok := unit[s[len(s)-1]]; ok {
			if n, err := strconv.Atoi(s[:len(s)-1]); err == nil && n > 0 {
				return time.Duration(n*mult) * governance.Day, nil
			}
		}
	}
	return 0, fmt.Errorf("%s is %q: write days, weeks or years such as 180d, 26w or 2y, or forever", key, v)
}

func (c *Config) applyGovernanceEnv(getenv func(string) string) {
	if v := getenv(EnvComplianceToken); v != "" {
		c.Governance.ComplianceToken = v
	}
}
