package audit

import (
	"errors"
	"fmt"
)

// ErrPersonalData is returned by Append when a record looks like it carries
// a raw identifier (an e-mail address or an E.164 phone number). Records hold
// keyed hashes at most, so that erasure never has to touch the chain.
var ErrPersonalData = errors.New("audit record carries what looks like personal data (an e-mail or phone number); put a keyed hash in Subject instead")

// ErrNoCheckpoint is returned by Verify when the log has no signed checkpoint
// yet: there is nothing to verify the records against.
var ErrNoCheckpoint = errors.New("the audit log has no signed checkpoint yet")

// RecordError is returned by Append for a record it refuses (bad kind,
// subject that is not a keyed hash, oversized).
type RecordError struct {
	Field  string
	Reason string
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("audit record %s: %s", e.Field, e.Reason)
}

// TamperError is returned by Verify when the log does not match what was
// appended and signed. Index names the first record found bad; Problem says
// what is wrong with it (altered, missing, reordered, or a range of records
// that no longer matches a signed checkpoint).
type TamperError struct {
	Index   int64
	Problem string
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("audit log verification failed at record %d: %s", e.Index, e.Problem)
}

// CheckpointError is returned by Verify when a signed checkpoint itself is
// bad: its signature does not verify under the verifier key, or it is
// malformed.
type CheckpointError struct {
	File string
	Err  error
}

func (e *CheckpointError) Error() string {
	return fmt.Sprintf("audit checkpoint in %s: %v", e.File, e.Err)
}

func (e *CheckpointError) Unwrap() error { return e.Err }

// CorruptError is returned by Open when the log's files are inconsistent in
// a way a crash cannot explain; run `cxlake audit verify` to see where.
type CorruptError struct {
	File   string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("audit log file %s is corrupt: %s (run cxlake audit verify)", e.File, e.Reason)
}
