package governance

import (
	"errors"
	"fmt"
)

// ErrUnknownSubject is returned by Erase and Export when no layer holds
// anything of the person the identifier names: no event, identifier or
// dead letter. Nothing is changed and no request is recorded.
var ErrUnknownSubject = errors.New("no data is held about this identifier (no event, identifier or dead letter names it)")

// ErrUnauthorized is returned by the HTTP API when the compliance token is
// missing or wrong.
var ErrUnauthorized = errors.New("a valid compliance token is required: send Authorization: Bearer <governance.compliance_token>")

// ErrAPIDisabled is returned by the HTTP API when no compliance token is
// configured: the privacy endpoints are off until one is set.
var ErrAPIDisabled = errors.New("the privacy API is disabled: set governance.compliance_token (or CXLAKE_COMPLIANCE_TOKEN) to enable it")

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

// StepError is returned when a privacy request or retention run fails part
// way: Step names what failed. Whatever was done before is consistent (each
// step is idempotent), and the request is marked failed and can be run again.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("%s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }
