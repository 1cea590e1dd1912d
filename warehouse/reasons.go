package warehouse

import (
	"strings"
)

// A dead letter's reason is stored in clear (dead_letters.reason), beside
// its sealed payload, and shown to operators and on dashboards. Decoders
// write reasons that name fields and rules, never values (event.RejectError,
// ingest.SourceReasons); clearReason is the writer's own check that they
// did, failing closed: a reason holding anything shaped like an e-mail
// address or a phone number is withheld, replaced by a fixed text that
// names its code.

// clearReason returns reason, or a fixed text when it may quote personal
// data: an "@", or a run of 9 or more digits (phone punctuation allowed
// between them) that is not a byte count ("... 20971520 bytes", "-byte").
func clearReason(code, reason string) string {
	if !quotesValue(reason) {
		return reason
	}
	return "the reason (" + code + ") quoted a value of the payload and is withheld; the sealed payload holds it"
}

func quotesValue(s string) bool {
	if strings.ContainsRune(s, '@') {
		return true
	}
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		j, digits := i, 0
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || digits > 0 && strings.IndexByte(" ()-.+", s[j]) >= 0) {
			if s[j] >= '0' && s[j] <= '9' {
				digits++
			}
			j++
		}
		rest := strings.TrimLeft(s[j:], " ")
		if digits >= 9 && !strings.HasPrefix(rest, "bytes") && !strings.HasPrefix(s[j-1:], "-byte") && !strings.HasPrefix(rest, "byte") {
			return true
		}
		i = j
	}
	return false
}
