package models

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // schedules name IANA zones; do not depend on the host's zoneinfo

	"github.com/cxlake/cxlake/privacy"
)

// minKeyBytes is the shortest HashKey accepted.
const minKeyBytes = 16

// withDefaults returns c with zero fields filled in; it does not modify c.
func (c Config) withDefaults() Config {
	if c.FCRWindow == 0 {
		c.FCRWindow = DefaultFCRWindow
	}
	sla := make(map[string]time.Duration, len(DefaultSLA)+len(c.SLA))
	for ch, d := range DefaultSLA {
		sla[ch] = d
	}
	for ch, d := range c.SLA {
		sla[ch] = d
	}
	c.SLA = sla
	if c.WhatsAppConversationGap == 0 {
		c.WhatsAppConversationGap = DefaultWhatsAppConversationGap
	}
	if c.FRTBuckets == nil {
		c.FRTBuckets = DefaultFRTBuckets
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports the first problem with c, naming the key and the fix.
func (c Config) Validate() error {
	if len(c.HashKey) < minKeyBytes {
		return &ConfigError{Key: "models.hash_key", Problem: fmt.Sprintf("is %d bytes; give at least %d random bytes (privacy.LoadOrCreateKey makes one)", len(c.HashKey), minKeyBytes)}
	}
	if c.FCRWindow < 0 {
		return &ConfigError{Key: "models.fcr_window", Problem: "is negative; give a duration such as 168h"}
	}
	if g := c.WhatsAppConversationGap; g != 0 && (g < time.Minute || g > 30*24*time.Hour) {
		return &ConfigError{Key: "sources.evolution.conversation_gap", Problem: fmt.Sprintf("is %s; use 1m to 720h (default 24h)", g)}
	}
	for ch, d := range c.SLA {
		if d <= 0 {
			return &ConfigError{Key: "models.sla." + ch, Problem: "must be a positive duration such as 5m"}
		}
	}
	for ch, clk := range c.SLAClock {
		if clk != SLAOnClock && clk != SLAOnBusinessHours {
			return &ConfigError{Key: "models.sla_clock." + ch, Problem: fmt.Sprintf("is %q; write clock (elapsed time, the default) or business (business hours of the conversation's schedule)", clk)}
		}
		if _, ok := c.SLA[ch]; !ok {
			if _, ok := DefaultSLA[ch]; !ok {
				return &ConfigError{Key: "models.sla_clock." + ch, Problem: "names a channel without an SLA; give it one under models.sla." + ch + " or remove the clock"}
			}
		}
	}
	for i, b := range c.FRTBuckets {
		if b <= 0 || i > 0 && b <= c.FRTBuckets[i-1] {
			return &ConfigError{Key: "models.frt_buckets", Problem: "must list positive durations in increasing order, each bucket's upper bound, e.g. [1h, 4h, 8h, 24h]"}
		}
	}
	if c.Cost != nil {
		if err := c.Cost.validate(); err != nil {
			return err
		}
	}
	for key, s := range c.Schedules {
		if _, err := s.windows(key); err != nil {
			return err
		}
		if _, err := s.holidays(key); err != nil {
			return err
		}
	}
	return nil
}

// window is one open interval of a schedule: a weekday (0 = Sunday, as
// DuckDB's dayofweek) and seconds from local midnight.
type window struct {
	scope      string // "channel:email", "team:billing", "default"
	tz         string
	weekday    int
	start, end int
}

func validScope(key string) bool {
	if key == "default" {
		return true
	}
	kind, name, ok := strings.Cut(key, ":")
	return ok && name != "" && (kind == "channel" || kind == "team")
}

// windows validates s and returns its open intervals.
func (s Schedule) windows(key string) ([]window, error) {
	cfgKey := "models.schedules." + key
	if !validScope(key) {
		return nil, &ConfigError{Key: cfgKey, Problem: `has an unknown scope; name it "channel:<channel>", "team:<team>" or "default"`}
	}
	tz := s.TZ
	if tz == "" {
		tz = "UTC"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return nil, &ConfigError{Key: cfgKey + ".tz", Problem: fmt.Sprintf("%q is not a known time zone; use an IANA name such as America/Sao_Paulo", tz)}
	}
	var out []window
	for day, spans := range s.Weekly {
		if day < time.Sunday || day > time.Saturday {
			return nil, &ConfigError{Key: cfgKey + ".weekly", Problem: fmt.Sprintf("weekday %d does not exist; use 0 (Sunday) to 6 (Saturday)", day)}
		}
		for _, sp := range spans {
			start, err1 := clock(sp[0])
			end, err2 := clock(sp[1])
			if err1 != nil || err2 != nil || start >= end {
				return nil, &ConfigError{Key: fmt.Sprintf("%s.weekly.%s", cfgKey, strings.ToLower(day.String())),
					Problem: fmt.Sprintf("interval %q-%q is not valid; write local HH:MM pairs with start before end, e.g. 09:00-18:00 (end may be 24:00; split overnight shifts at midnight)", sp[0], sp[1])}
			}
			out = append(out, window{scope: key, tz: tz, weekday: int(day), start: start, end: end})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].weekday != out[j].weekday {
			return out[i].weekday < out[j].weekday
		}
		return out[i].start < out[j].start
	})
	for i := 1; i < len(out); i++ {
		if out[i].weekday == out[i-1].weekday && out[i].start < out[i-1].end {
			return nil, &ConfigError{Key: cfgKey + ".weekly." + strings.ToLower(time.Weekday(out[i].weekday).String()), Problem: "has overlapping intervals; merge them"}
		}
	}
	return out, nil
}

// holiday is a closed local date of a schedule; year 0 recurs every year.
type holiday struct {
	scope            string
	year, month, day int
}

// holidays validates s's holidays and returns them.
func (s Schedule) holidays(key string) ([]holiday, error) {
	var out []holiday
	for _, h := range s.Holidays {
		layout, year := "2006-01-02", true
		if len(h) == 5 {
			layout, year = "01-02", false
		}
		d, err := time.Parse(layout, h)
		if err != nil {
			return nil, &ConfigError{Key: "models.schedules." + key + ".holidays",
				Problem: fmt.Sprintf("has %q: write a date of one year, 2026-12-25, or one that recurs every year, 12-25", h)}
		}
		hd := holiday{scope: key, month: int(d.Month()), day: d.Day()}
		if year {
			hd.year = d.Year()
		}
		out = append(out, hd)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.year < b.year || a.year == b.year && (a.month < b.month || a.month == b.month && a.day < b.day)
	})
	return out, nil
}

// clock parses "HH:MM" (00:00 to 24:00) into seconds from midnight.
func clock(s string) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || len(hh) != 2 || len(mm) != 2 || err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || h == 24 && m != 0 {
		return 0, fmt.Errorf("not HH:MM")
	}
	return h*3600 + m*60, nil
}

// slaClock is the clock channel ch's SLA runs on.
func (c Config) slaClock(ch string) Clock {
	if clk, ok := c.SLAClock[ch]; ok {
		return clk
	}
	return SLAOnClock
}

// frtBucket is one bucket of the FRT distribution: [from, to), to 0 for
// the last, open-ended one.
type frtBucket struct {
	from, to time.Duration
	label    string
}

// frtBuckets returns the buckets of c.FRTBuckets (validated), in order.
func (c Config) frtBuckets() []frtBucket {
	var out []frtBucket
	var from time.Duration
	for _, b := range c.FRTBuckets {
		out = append(out, frtBucket{from: from, to: b, label: shortDuration(from) + "-" + shortDuration(b)})
		from = b
	}
	return append(out, frtBucket{from: from, label: shortDuration(from) + "+"})
}

// shortDuration writes d as a bucket label does: 0, 90s, 30m, 1h, 1h30m.
func shortDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// scheduleKeys returns the schedules' keys, sorted.
func (c Config) scheduleKeys() []string {
	return slices.Sorted(maps.Keys(c.Schedules))
}

// scheduleHolidays returns all holidays of all schedules, in a stable order.
func (c Config) scheduleHolidays() []holiday {
	var out []holiday
	for _, k := range c.scheduleKeys() {
		h, _ := c.Schedules[k].holidays(k) // validated before
		out = append(out, h...)
	}
	return out
}

// scheduleWindows returns all windows of all schedules, in a stable order.
func (c Config) scheduleWindows() []window {
	var out []window
	for _, k := range c.scheduleKeys() {
		w, _ := c.Schedules[k].windows(k) // validated before
		out = append(out, w...)
	}
	return out
}

// fingerprint identifies the settings the models' contents depend on, so
// that Refresh rebuilds fully when they change. The hash key enters only
// through an HMAC of a constant (privacy.Hasher.KeyCheck), never as itself.
// sources says which optional source tables exist (see renderVars.Exists).
func (c Config) fingerprint(sources map[string]bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v%d|sql=%s|key=%s|fcr=%d|agents=%t|wagap=%d|", modelsVersion, sqlDigest(), privacy.NewHasher(c.HashKey).KeyCheck(), c.FCRWindow.Microseconds(), c.PerAgent, c.WhatsAppConversationGap.Microseconds())
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "src.%s=%t|", n, sources[n])
	}
	chans := make([]string, 0, len(c.SLA))
	for ch := range c.SLA {
		chans = append(chans, ch)
	}
	sort.Strings(chans)
	for _, ch := range chans {
		fmt.Fprintf(&b, "sla.%s=%d.%s|", ch, c.SLA[ch].Microseconds(), c.slaClock(ch))
	}
	for _, w := range c.scheduleWindows() {
		fmt.Fprintf(&b, "win.%s.%s.%d.%d.%d|", w.scope, w.tz, w.weekday, w.start, w.end)
	}
	for _, h := range c.scheduleHolidays() {
		fmt.Fprintf(&b, "hol.%s.%d.%d.%d|", h.scope, h.year, h.month, h.day)
	}
	for _, fb := range c.frtBuckets() {
		fmt.Fprintf(&b, "frtb.%d.%d|", fb.from.Microseconds(), fb.to.Microseconds())
	}
	b.WriteString(c.Cost.fingerprint())
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}

// modelsVersion changes whenever the Go side of the models (the identity
// closure, the runner's incremental logic) changes in a way that needs a
// full rebuild of data built by an older binary. A change to a model's SQL
// needs no bump: the fingerprint holds a digest of every model file
// (sqlDigest), so a binary with changed SQL rebuilds in full.
const modelsVersion = 3

// sqlDigest is a digest of every embedded model and data-test file, names
// and bytes: part of the fingerprint, so that derived state follows its
// definition.
var sqlDigest = sync.OnceValue(func() string {
	h := sha256.New()
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)[:16])
})
