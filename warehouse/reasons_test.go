package warehouse

import (
	"strings"
	"testing"
)

func TestClearReasonWithholdsValues(t *testing.T) {
	for _, tc := range []struct {
		reason string
		kept   bool
	}{
		{"occurred_at is not an RFC 3339 timestamp; send e.g. 2026-11-21T14:03:05-03:00", true},
		{"message is 20971520 bytes, over the 262144-byte limit", true},
		{"line is 20971520 bytes, over the 262144-byte limit", true},
		{"payload is not valid JSON (at byte 1234567)", true},
		{"contact.ids has 17 entries, over the limit of 16", true},
		{"unknown channel ana@example.org", false},
		{"contact +55 11 98765-4321 unknown", false},
		{"id 5511987654321 unknown", false},
		{"cpf 123.456.789-09", false},
	} {
		got := clearReason("invalid_value", tc.reason)
		if kept := got == tc.reason; kept != tc.kept {
			t.Errorf("clearReason(%q) = %q; kept %v, want %v", tc.reason, got, kept, tc.kept)
		}
		if !tc.kept && !strings.Contains(got, "invalid_value") {
			t.Errorf("the withheld reason %q does not name its code", got)
		}
	}
}
