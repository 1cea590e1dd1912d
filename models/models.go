// Package models owns cxlake's SQL models: the staging, intermediate and mart
// layers that turn the raw events table into contacts, contact_identities,
// timeline, conversations, kpi_daily and kpi_daily_team, the KPI definitions
// they implement (kpi.go: one set of SQL expressions over the additive KPI
// base kpi_counts_daily, which kpi_daily, kpi_daily_team and the reports
// evaluate), the runner that builds them in dependency order (fully with
// Rebuild, or incrementally from the batches ingested since the last build
// with Refresh), and the data tests that check them (Test). The operator's
// settings (Config) reach the SQL as cfg_* tables written at every build,
// among them the cost model that prices conversations (cost.go).
//
// The models are .sql files embedded from staging/, intermediate/ and marts/;
// one step, identity resolution (int_identifiers_resolved), is Go: a
// union-find over identifiers that the runner runs between the staging and
// intermediate layers. Column documentation lives in docs/models.md.
//
// For the dashboards, aggregate marts free of personal data also summarize
// the operational tables (ingest_minutely, dead_letters_minutely,
// model_freshness), the KPIs as additive parts (kpi_counts_daily), and the
// tables of stages a warehouse may not run: governance's and the gateway's
// (privacy_requests_daily, consent_daily, retention_results, audit_chain_checks,
// gateway_access_hourly, gateway_relations_hourly). Their staging models
// branch on renderVars.Exists, so the project builds without those tables.
package models

import (
	"time"
)

// Config holds what the model definitions leave to the operator. The zero
// value is valid except for HashKey; Defaults fills the rest.
type Config struct {
	// HashKey keys the HMAC that makes contact_key and identifier_hash. It
	// must be at least 16 bytes; privacy.LoadOrCreateKey keeps one per data directory.
	HashKey []byte
	// FCRWindow is how long after its resolution a conversation must see no
	// reopen and no new conversation of the same person to count as
	// first-contact-resolved. Zero means DefaultFCRWindow.
	FCRWindow time.Duration
	// SLA is the expected first response time per channel. Channels missing
	// from the map get DefaultSLA's value; a channel with neither has no SLA
	// (sla_breached is null).
	SLA map[string]time.Duration
	// SLAClock says, per channel, which clock the channel's SLA runs on:
	// SLAOnClock (elapsed time, the default for a channel missing from the
	// map) or SLAOnBusinessHours (the business time of the conversation's
	// schedule, holidays excluded, as frt_business_s). Only a channel with
	// an SLA may be named.
	SLAClock map[string]Clock
	// Schedules are business hours, keyed "channel:<channel>",
	// "team:<team>" or "default". A conversation uses its team's schedule,
	// else its channel's, else the default one; with none, business time is
	// clock time.
	Schedules map[string]Schedule
	// FRTBuckets are the upper bounds of the FRT distribution's buckets
	// (frt_buckets_quarter_hourly), strictly increasing and positive: with
	// bounds b1 < b2 < ... the buckets are [0, b1), [b1, b2), ..., [bn, ∞),
	// so an FRT of exactly b1 falls in the second. nil means
	// DefaultFRTBuckets.
	FRTBuckets []time.Duration
	// PerAgent keeps figures per agent (kpi_daily_agent), by the agents'
	// pseudonymous keys (events.actor_key). Off by default: an agent's
	// figures are personal data about an employee, which an operator
	// decides to keep (docs/governance.md, "Agents"). Off, no model sees
	// the keys and kpi_daily_agent is empty; switching it either way
	// changes the fingerprint, so the next Refresh rebuilds in full.
	PerAgent bool
	// Cost is the cost model that prices conversations (cost.go); nil
	// means none, and every cost figure is null.
	Cost *CostModel
	// WhatsAppConversationGap is the silence that ends a WhatsApp
	// conversation drawn from an Evolution API chat
	// (int_whatsapp_conversations_drawn): a message more than this after
	// the previous one of the same chat starts the chat's next
	// conversation. Its key is sources.evolution.conversation_gap. Zero
	// means DefaultWhatsAppConversationGap. It is part of the
	// fingerprint: a new gap redraws every chat on the next Refresh, from
	// the stored events, with no replay of the topics.
	WhatsAppConversationGap time.Duration
	// Now is the clock the models judge time against: an FCR window is
	// closed, and an unanswered conversation has breached its SLA, once
	// its end lies before Now, never before the latest event (a producer's
	// clock may run ahead). nil means time.Now. It is read once per build,
	// and is not part of the fingerprint: a Refresh whose clock passed a
	// window's end or a deadline recomputes those conversations' people,
	// incrementally, even when no batch is new. Tests pass a fixed clock.
	Now func() time.Time
}

// Schedule is a weekly schedule of business hours in a time zone.
type Schedule struct {
	// TZ is an IANA time zone name such as "America/Sao_Paulo"; "" is UTC.
	TZ string
	// Weekly lists, per weekday, the open intervals as local "HH:MM" pairs,
	// start before end, end at most "24:00". A weekday missing from the map
	// is closed all day.
	Weekly map[time.Weekday][][2]string
	// Holidays are closed all day, in the schedule's own zone: a date of one
	// year ("2026-12-25") or one that recurs every year ("12-25").
	Holidays []string
}

// Clock is what an SLA's time runs on.
type Clock string

// The clocks an SLA can run on.
const (
	// SLAOnClock counts every second from the customer's message: the default.
	SLAOnClock Clock = "clock"
	// SLAOnBusinessHours counts only the seconds inside the conversation's
	// schedule (its team's, else its channel's, else the default one; with
	// none, every second), holidays excluded.
	SLAOnBusinessHours Clock = "business"
)

// DefaultWhatsAppConversationGap is the WhatsApp conversation gap used
// when Config.WhatsAppConversationGap is zero.
const DefaultWhatsAppConversationGap = 24 * time.Hour

// DefaultFCRWindow is the FCR window used when Config.FCRWindow is zero.
const DefaultFCRWindow = 7 * 24 * time.Hour

// DefaultFRTBuckets are Chatwoot's FRT distribution buckets: 0–1 h, 1–4 h,
// 4–8 h, 8–24 h and 24 h or more.
var DefaultFRTBuckets = []time.Duration{time.Hour, 4 * time.Hour, 8 * time.Hour, 24 * time.Hour}

// DefaultSLA is the expected first response time per channel.
var DefaultSLA = map[string]time.Duration{
	"whatsapp":  5 * time.Minute,
	"webchat":   5 * time.Minute,
	"instagram": 5 * time.Minute,
	"telegram":  5 * time.Minute,
	"messenger": 5 * time.Minute,
	"app":       5 * time.Minute,
	"sms":       15 * time.Minute,
	"voice":     time.Minute,
	"email":     24 * time.Hour,
}

// Stats says what a build did and how long each step took.
type Stats struct {
	// Full is true for a full rebuild (Rebuild, or a Refresh that had to
	// rebuild), false for an incremental refresh.
	Full bool
	// Reason says why a Refresh rebuilt fully ("first build", "config
	// changed", ...); empty otherwise.
	Reason string
	// FromBatch and ToBatch bound the ingest batches this build took in:
	// batch_id in (FromBatch, ToBatch].
	FromBatch, ToBatch int64
	// NewEvents is the number of events in those batches.
	NewEvents int64
	// Conversations and Contacts are how many of each were recomputed.
	Conversations, Contacts int64
	// Steps are the build's steps in the order they ran, with durations.
	Steps []StepTiming
	// Took is the wall time of the whole build.
	Took time.Duration
}

// StepTiming is one step of a build: a model, or a scoping step.
type StepTiming struct {
	Name string
	Took time.Duration
}
