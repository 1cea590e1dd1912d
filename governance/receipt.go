package governance

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Receipt proves what an erasure did. It holds no personal data: the
// subject is a keyed hash, counts and file names only.
type Receipt struct {
	RequestID string `json:"request_id"`
	Kind      string `json:"kind"`
	// Status is the request's: completed, failed (the re-scan still finds
	// the person), in_progress (stopped; it resumes), no_data.
	Status         string    `json:"status"`
	Subject        string    `json:"subject"`         // keyed hash of the identifier named in the request
	IdentifierKind string    `json:"identifier_kind"` // phone, email, id:<channel>, contact_key
	Reason         string    `json:"reason,omitempty"`
	Identifiers    int       `json:"identifiers"` // linked identifiers erased (the whole person)
	ContactKeys    []string  `json:"contact_keys,omitempty"`
	ReceivedAt     time.Time `json:"received_at"`
	CompletedAt    time.Time `json:"completed_at"`
	DueAt          time.Time `json:"due_at"`
	Law            string    `json:"law"`
	// RowsRemoved counts rows removed per table (and "lake" for the Parquet files).
	RowsRemoved    map[string]int64 `json:"rows_removed"`
	FilesRewritten []string         `json:"files_rewritten"`
	FilesRemoved   []string         `json:"files_removed"`
	KeysDestroyed  int              `json:"keys_destroyed"`
	// Suppressed counts the keyed hashes added to the suppression rules, so
	// that a replay or a late event does not bring the person back.
	Suppressed   int          `json:"suppressed_hashes"`
	Verification Verification `json:"verification"`
	AuditIndex   int64        `json:"audit_index"`
	Checkpoint   int64        `json:"audit_checkpoint_size"` // records covered by the checkpoint signed after it
	// CheckpointHead is that checkpoint's head (SIZE:HASH): kept with the
	// receipt, `cxlake audit verify --since` proves the log still holds it.
	CheckpointHead string `json:"audit_checkpoint_head,omitempty"`
	Took           string `json:"took"`
	// StepsMS is how long each step took, in milliseconds (summed over
	// the runs of an interrupted erasure).
	StepsMS map[string]int64 `json:"steps_ms"`
	// Resumptions lists the times the erasure was interrupted and resumed.
	Resumptions []Resumption `json:"resumptions,omitempty"`
	// ErasedBy names the earlier erasure of a no_data request about a
	// person erased before, and when it suppressed them.
	ErasedBy string     `json:"erased_by,omitempty"`
	ErasedAt *time.Time `json:"erased_at,omitempty"`
	// LinkedPeople is set when the person erased linked several people
	// through a shared identifier, erased together on purpose
	// (IncludeLinked).
	LinkedPeople *LinkedPeople `json:"linked_people,omitempty"`
}

// LinkedPeople says that an erasure took identities linked only through a
// shared identifier, and that it was asked to.
type LinkedPeople struct {
	Shared   int  `json:"shared_identifiers"`
	Others   int  `json:"other_groups"` // groups of identifiers joined to the named one only through them
	Included bool `json:"included"`     // erased on purpose (--include-linked)
}

// Resumption is one interruption of an erasure: after which step it
// stopped, why when known (a kill leaves no word), and when it resumed.
type Resumption struct {
	At    time.Time `json:"resumed_at"`
	After string    `json:"after_step"`
	Cause string    `json:"cause,omitempty"`
}

// Verification is the re-scan after an erasure: every place checked again
// for the person's identifier hashes, and the data keys checked destroyed.
type Verification struct {
	Passed bool `json:"passed"`
	// Remaining counts what still names the person, per place (all zero
	// when passed).
	Remaining map[string]int64 `json:"remaining"`
	// KeysRemaining counts data keys of the person still in the key store.
	KeysRemaining int `json:"keys_remaining"`
	// Bytes is the byte search of every file under the data directory for
	// the person's identifier values and texts, when it was asked for.
	Bytes *ByteScan `json:"byte_scan,omitempty"`
}

// ByteScan is a search of every file under the data directory for byte
// strings (the person's identifiers and texts, before erasure).
type ByteScan struct {
	Files   int   `json:"files"`
	Bytes   int64 `json:"bytes"`
	Needles int   `json:"needles"`
	// Hits lists the files (relative) that still contain one; empty when clean.
	Hits []string `json:"hits"`
}

// Text renders the receipt for a person to read.
func (r Receipt) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cxlake erasure receipt %s\n\n", r.RequestID)
	fmt.Fprintf(&b, "  subject          %s (keyed hash of the %s named in the request)\n", r.Subject, r.IdentifierKind)
	fmt.Fprintf(&b, "  person           %d linked identifiers", r.Identifiers)
	if len(r.ContactKeys) > 0 {
		fmt.Fprintf(&b, ", contact_key %s", strings.Join(r.ContactKeys, ", "))
	}
	b.WriteString("\n")
	if r.Reason != "" {
		fmt.Fprintf(&b, "  reason           %s\n", r.Reason)
	}
	fmt.Fprintf(&b, "  received         %s\n", r.ReceivedAt.Format(time.RFC3339))
	if r.Status == StatusCompleted {
		fmt.Fprintf(&b, "  completed        %s (took %s)\n", r.CompletedAt.Format(time.RFC3339), r.Took)
	} else {
		fmt.Fprintf(&b, "  status           %s (at %s, took %s)\n", strings.ToUpper(r.Status), r.CompletedAt.Format(time.RFC3339), r.Took)
	}
	fmt.Fprintf(&b, "  legal deadline   %s (%s)\n", r.DueAt.Format(time.RFC3339), strings.ToUpper(r.Law))
	b.WriteString("\n  removed\n")
	tables := make([]string, 0, len(r.RowsRemoved))
	for t := range r.RowsRemoved {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	for _, t := range tables {
		fmt.Fprintf(&b, "    %-30s %s\n", t, plural(r.RowsRemoved[t], "row"))
	}
	fmt.Fprintf(&b, "    %-30s %d rewritten, %d removed\n", "lake files", len(r.FilesRewritten), len(r.FilesRemoved))
	fmt.Fprintf(&b, "    %-30s %d destroyed\n", "data keys", r.KeysDestroyed)
	fmt.Fprintf(&b, "    %-30s %s (replays and late events are dropped)\n", "suppression", plural(int64(r.Suppressed), "keyed hash"))
	for _, x := range r.Resumptions {
		cause := "the process ended"
		if x.Cause != "" {
			cause = x.Cause
		}
		fmt.Fprintf(&b, "\n  interrupted      after step %s (%s); resumed %s", x.After, cause, x.At.Format(time.RFC3339))
	}
	if len(r.Resumptions) > 0 {
		b.WriteString("\n")
	}
	v := r.Verification
	verdict := "PASSED"
	if !v.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "\n  verification     %s: nothing names the person in", verdict)
	places := make([]string, 0, len(v.Remaining))
	for p := range v.Remaining {
		places = append(places, p)
	}
	slices.Sort(places)
	for i, p := range places {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s", p)
		if n := v.Remaining[p]; n > 0 {
			fmt.Fprintf(&b, " (%d LEFT)", n)
		}
	}
	fmt.Fprintf(&b, "; %d of their data keys remain\n", v.KeysRemaining)
	if v.Bytes != nil {
		fmt.Fprintf(&b, "                   byte search of %d files (%d bytes) for %d values: %d files contain one\n",
			v.Bytes.Files, v.Bytes.Bytes, v.Bytes.Needles, len(v.Bytes.Hits))
	}
	fmt.Fprintf(&b, "  audit record     %d (signed checkpoint of %d records)\n", r.AuditIndex, r.Checkpoint)
	if r.CheckpointHead != "" {
		fmt.Fprintf(&b, "  audit head       %s (check later: cxlake audit verify --since %s)\n", r.CheckpointHead, r.CheckpointHead)
	}
	return b.String()
}

// plural writes n and noun, in the plural unless n is 1.
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "sh") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// ReceiptsDir is where receipts are kept inside a data directory.
const ReceiptsDir = "receipts"

// saveReceipt writes the receipt's JSON to DIR/receipts/<request id>.json.
func saveReceipt(dataDir string, r Receipt, data []byte) error {
	dir := filepath.Join(dataDir, ReceiptsDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating the receipts folder: %w", err)
	}
	path := filepath.Join(dir, r.RequestID+".json")
	if err := os.WriteFile(path, append(data, '\n'), 0o640); err != nil {
		return fmt.Errorf("writing the receipt: %w", err)
	}
	return nil
}
