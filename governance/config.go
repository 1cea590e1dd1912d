package governance

import (
	"fmt"
	"regexp"
	"time"
)

// Day is 24 hours: retention policies are whole days.
const Day = 24 * time.Hour

// Retention is the policy per data class: how long each is kept. Zero keeps
// it forever. Data of a UTC day leaves once the whole day is older than the
// policy.
type Retention struct {
	// MessageText: the personal content of events (message texts, handoff
	// summaries and fields, survey comments, names, raw payloads). After it,
	// events stay as facts and keyed hashes: KPIs are unchanged.
	MessageText time.Duration
	// RawEvents: the event rows themselves, in DuckDB and in the lake.
	RawEvents time.Duration
	// DeadLetters: rejected messages.
	DeadLetters time.Duration
	// Audit: audit records (covered by a signed checkpoint; their hashes stay).
	Audit time.Duration
}

// DefaultRetention is used for policies the configuration does not set.
var DefaultRetention = Retention{
	MessageText: 180 * Day,
	RawEvents:   730 * Day,
	DeadLetters: 30 * Day,
	Audit:       1825 * Day,
}

// Law selects the legal deadlines privacy requests are due by.
const (
	LawGDPR = "gdpr" // art. 12(3): one month, for access and erasure
	LawLGPD = "lgpd" // art. 19: access within 15 days; erasure without a fixed term (GDPR's month applies when both)
	LawBoth = "both" // the earlier deadline of the two
)

// Config is the governance section of the configuration.
type Config struct {
	Retention Retention
	// ComplianceToken guards the HTTP privacy API (Authorization: Bearer),
	// for the caller named "api". Empty (and no APITokens) disables the API.
	ComplianceToken string
	// APITokens gives each caller of the privacy API its own token; the
	// caller's name is the actor of its audit records.
	APITokens []APIToken
	// Law picks the deadlines (LawGDPR, LawLGPD, LawBoth).
	Law string
	// CheckpointEvery is how often the audit log gets a signed checkpoint
	// while `cxlake run` works (also after every privacy request).
	CheckpointEvery time.Duration
	// ConsentEvery is how often consent is enforced on data already stored.
	ConsentEvery time.Duration
	// RetentionEvery is how often retention runs inside `cxlake run`.
	RetentionEvery time.Duration
}

// APIToken is one caller of the privacy API.
type APIToken struct {
	Name  string // the audit actor: lower case letters, digits, _ . -
	Token string // at least 16 characters
}

// callers are the API's callers: APITokens, and ComplianceToken as "api".
func (c Config) callers() []APIToken {
	out := append([]APIToken(nil), c.APITokens...)
	if c.ComplianceToken != "" {
		out = append(out, APIToken{Name: "api", Token: c.ComplianceToken})
	}
	return out
}

var callerNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// Defaults returns the governance defaults.
func Defaults() Config {
	return Config{Retention: DefaultRetention, Law: LawBoth, CheckpointEvery: time.Minute,
		ConsentEvery: time.Minute, RetentionEvery: time.Hour}
}

// Validate reports the first bad setting, naming its key.
func (c Config) Validate() error {
	for _, p := range []struct {
		key string
		d   time.Duration
	}{
		{"governance.retention.message_text", c.Retention.MessageText},
		{"governance.retention.raw_events", c.Retention.RawEvents},
		{"governance.retention.dead_letters", c.Retention.DeadLetters},
		{"governance.retention.audit", c.Retention.Audit},
	} {
		if p.d < 0 || p.d%Day != 0 {
			return fmt.Errorf("%s is %s: use whole days, e.g. 180d (0 keeps forever)", p.key, p.d)
		}
	}
	r := c.Retention
	if r.RawEvents > 0 && (r.MessageText == 0 || r.MessageText > r.RawEvents) {
		return fmt.Errorf("governance.retention.message_text (%s) outlives raw_events (%s): texts live inside events, so keep them at most as long", days(r.MessageText), days(r.RawEvents))
	}
	switch c.Law {
	case LawGDPR, LawLGPD, LawBoth:
	default:
		return fmt.Errorf("governance.law is %q: use gdpr, lgpd or both", c.Law)
	}
	if c.ComplianceToken != "" && len(c.ComplianceToken) < 16 {
		return fmt.Errorf("governance.compliance_token is too short: use at least 16 characters, e.g. head -c 24 /dev/urandom | base64")
	}
	names, tokens := map[string]bool{}, map[string]bool{c.ComplianceToken: c.ComplianceToken != ""}
	if c.ComplianceToken != "" {
		names["api"] = true
	}
	for i, t := range c.APITokens {
		switch {
		case !callerNameRE.MatchString(t.Name):
			return fmt.Errorf("governance.api_tokens[%d].name must be lower case letters, digits, _ . - (it names the caller in the audit chain)", i)
		case names[t.Name]:
			return fmt.Errorf("governance.api_tokens[%d].name is used twice (\"api\" is the compliance_token's caller)", i)
		case len(t.Token) < 16:
			return fmt.Errorf("governance.api_tokens[%d].token is too short: use at least 16 characters, e.g. head -c 24 /dev/urandom | base64", i)
		case tokens[t.Token]:
			return fmt.Errorf("governance.api_tokens[%d].token is used twice: give each caller its own", i)
		}
		names[t.Name], tokens[t.Token] = true, true
	}
	for _, p := range []struct {
		key string
		d   time.Duration
	}{
		{"governance.checkpoint_every", c.CheckpointEvery},
		{"governance.consent_every", c.ConsentEvery},
		{"governance.retention_every", c.RetentionEvery},
	} {
		if p.d < time.Second {
			return fmt.Errorf("%s is %s: use at least 1s", p.key, p.d)
		}
	}
	return nil
}

func days(d time.Duration) string {
	if d == 0 {
		return "forever"
	}
	return fmt.Sprintf("%dd", d/Day)
}
