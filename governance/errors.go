package governance

import (
	"errors"
	"fmt"
	"time"
)

// ErrUnknownSubject is returned by Erase and Export when no layer holds
// anything of the person the identifier names: no event, identifier, dead
// letter or lake row. Nothing of theirs is changed; the request is
// recorded with status no_data, with its audit record.
var ErrUnknownSubject = errors.New("no data is held about this identifier (no event, identifier or dead letter names it)")

// AlreadyErasedError is returned by Erase and Export for a person an
// earlier erasure removed: their identifier's keyed hash is in the
// suppression rules. It is an ErrUnknownSubject (no data is held); the
// request is recorded with status no_data.
type AlreadyErasedError struct {
	By string    // the earlier erasure's request id
	At time.Time // when it suppressed them
}

func (e *AlreadyErasedError) Error() string {
	return fmt.Sprintf("no data is held about this identifier: it was erased by %s on %s", e.By, e.At.UTC().Format(time.DateOnly))
}

func (e *AlreadyErasedError) Is(target error) bool { return target == ErrUnknownSubject }

// PendingError is returned by Erase when an accepted erasure stopped before
// it finished: its context ended (a shutdown, a caller that gave up on a
// CLI run), or a step kept failing past its retries. The erasure is not
// failed: its plan is kept, it stays in_progress, and it resumes from the
// step after Step at the next start-up of a command that opens the data
// directory, or when the same person's erasure is asked again.
type PendingError struct {
	RequestID string
	Step      string // the last step done
	Err       error
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("erasure %s is not finished (it stopped after step %s: %v); it resumes at the next start of cxlake on this data directory, or when the erasure is asked again",
		e.RequestID, e.Step, e.Err)
}

func (e *PendingError) Unwrap() error { return e.Err }

// errNotErased is the error of an erasure whose re-scan still finds the
// person: the request is failed, and the receipt's verification says where.
var errNotErased = errors.New("the re-scan still finds the person; see the receipt's verification")

// ErrUnauthorized is returned by the HTTP API when the compliance token is
// missing or wrong.
var ErrUnauthorized = errors.New("a valid compliance token is required: send Authorization: Bearer <token> (governance.api_tokens or governance.compliance_token)")

// ErrAPIDisabled is returned by the HTTP API when no compliance token is
// configured: the privacy endpoints are off until one is set.
var ErrAPIDisabled = errors.New("the privacy API is disabled: set governance.api_tokens or governance.compliance_token (or CXLAKE_COMPLIANCE_TOKEN) to enable it")

// IdentifierError is returned for an identifier that is malformed: not a
// phone number, not an e-mail address, not channel:id or a contact_key. It
// never quotes the value (it is personal data).
type IdentifierError struct {
	Kind   string // phone, email, contact
	Reason string
}

func (e *IdentifierError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Kind, e.Reason)
}

// ReasonError is returned for a request's reason that looks like it holds
// personal data (an e-mail address or a phone number), or is too long. It
// never quotes the reason.
type ReasonError struct{ TooLong bool }

func (e *ReasonError) Error() string {
	if e.TooLong {
		return "invalid reason: keep it under 500 characters"
	}
	return "invalid reason: it looks like it holds an e-mail address or a phone number; say why, never who (the reason is kept with the request and printed on the receipt)"
}

// StepError is returned when a privacy request or retention run fails part
// way: Step names what failed. Whatever was done before is consistent (each
// step is idempotent), and the request is marked failed and can be run again.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("%s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// LinkedPeopleError is returned by Erase, unless the request includes
// linked identities (IncludeLinked, `erase --include-linked`), and by an
// access export by contact key, when the person links several people
// through a shared identifier (an identifier other than an e-mail that
// events name together with several e-mails: a family phone, a shop's
// line; see shared.go). Nothing was changed or recorded. It names no
// value.
type LinkedPeopleError struct {
	Shared int  // shared identifiers
	Others int  // groups of identifiers joined to the requested one only through them
	Export bool // an access export by contact key (else an erasure)
}

func (e *LinkedPeopleError) Error() string {
	if e.Export {
		return fmt.Sprintf("this contact links %d groups of identifiers through %d shared identifier(s) (named together with several e-mail addresses), which may be different people: name one of the person's identifiers (phone, e-mail, channel id) instead of the contact key",
			e.Others, e.Shared)
	}
	return fmt.Sprintf("nothing was erased: the identifier is linked to %d other group(s) of identifiers only through %d shared identifier(s) (named together with several e-mail addresses), which may be other people; to erase every linked identity on purpose, ask again with --include-linked (API: \"include_linked\": true)",
		e.Others, e.Shared)
}

// LawError is returned for a request naming a law other than gdpr or lgpd.
// It does not quote the value (whatever was typed there).
type LawError struct{}

func (e *LawError) Error() string {
	return "invalid law: give gdpr or lgpd (or leave it out for governance.law)"
}
