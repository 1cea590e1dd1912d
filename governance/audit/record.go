package audit

import (
	"encoding/json"
	"math"
	"regexp"
	"time"
)

// Kinds of records the stages append. Kind is free-form lower_snake_case;
// these are the ones cxlake writes.
const (
	KindIngestBatch    = "ingest_batch"
	KindModelRefresh   = "model_refresh"
	KindGatewayQuery   = "gateway_query"
	KindConsentChange  = "consent_change"
	KindRetentionRun   = "retention_run"
	KindPrivacyRequest = "privacy_request"
	KindLakePublish    = "lake_publish"
	// KindAuditPruned is appended by Prune before it drops old records; its
	// detail "first_index" tells Verify where the kept records begin.
	KindAuditPruned = "audit_pruned"
)

// Record is one entry of the audit log. It is stored as one line of JSON;
// the tree hashes that exact line.
type Record struct {
	// Index is the record's position in the log, set by Append.
	Index int64 `json:"i"`
	// Time is when it was appended (UTC), set by Append.
	Time time.Time `json:"time"`
	// Kind says what happened, e.g. KindIngestBatch.
	Kind string `json:"kind"`
	// Actor is who did it: a stage ("ingest", "models"), a gateway user, the
	// CLI. Staff names, never a customer's identifier.
	Actor string `json:"actor,omitempty"`
	// Subject is the keyed hash (64 hex characters) of the person concerned,
	// if any. Never a raw identifier.
	Subject string `json:"subject,omitempty"`
	// Detail holds counts, ids and outcomes. No personal data: Append
	// refuses values that look like e-mails or phone numbers.
	Detail map[string]any `json:"detail,omitempty"`
}

// MaxRecordBytes bounds one encoded record.
const MaxRecordBytes = 16 << 10

var (
	kindRE    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	actorRE   = regexp.MustCompile(`^[\pL\pN_.:/ -]{0,128}$`)
	subjectRE = regexp.MustCompile(`^[0-9a-f]{32,64}$`)
	// What a raw identifier looks like inside the encoded detail.
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+\.[A-Za-z0-9.\-]+`)
	phoneRE = regexp.MustCompile(`\+[0-9][0-9 ().\-]{6,}[0-9]`)
)

// Check reports whether Append would accept r: nil, ErrPersonalData, or a
// *RecordError naming the field. It checks what r carries (kind, actor,
// subject, detail, size), so a writer that batches records can set aside
// the one that would make AppendAll refuse them all.
func Check(r Record) error {
	// The largest index and time Append could set, for the size check.
	r.Index, r.Time = math.MaxInt64, time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	_, err := encode(r)
	return err
}

// LooksPersonal reports whether b looks like it holds an e-mail address or
// a phone number (with its + and country code): the check Append applies
// to a record's detail, for other free text kept beside records (a privacy
// request's reason).
func LooksPersonal(b []byte) bool { return emailRE.Match(b) || phoneRE.Match(b) }

// encode validates r and returns its stored form.
func encode(r Record) ([]byte, error) {
	if !kindRE.MatchString(r.Kind) {
		return nil, &RecordError{Field: "kind", Reason: "must be lower_snake_case, e.g. ingest_batch"}
	}
	if !actorRE.MatchString(r.Actor) {
		return nil, &RecordError{Field: "actor", Reason: "must be a short name of letters, digits and _.:/ - (no e-mail addresses)"}
	}
	if r.Subject != "" && !subjectRE.MatchString(r.Subject) {
		return nil, &RecordError{Field: "subject", Reason: "must be a keyed hash (32 to 64 lower-case hex characters), never a raw identifier"}
	}
	if len(r.Detail) > 0 {
		d, err := json.Marshal(r.Detail)
		if err != nil {
			return nil, &RecordError{Field: "detail", Reason: err.Error()}
		}
		if LooksPersonal(d) {
			return nil, ErrPersonalData
		}
	}
	data, err := json.Marshal(r)
	if err != nil {
		return nil, &RecordError{Field: "detail", Reason: err.Error()}
	}
	if len(data) > MaxRecordBytes {
		return nil, &RecordError{Field: "detail", Reason: "the record is over 16 KiB; keep details to counts and ids"}
	}
	return data, nil
}
