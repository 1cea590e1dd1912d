package warehouse

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/cxlake/cxlake/pseudonym"
)

// A dead letter is not decoded, so whose identifiers it holds is not known.
// Mentions finds what could be one in its raw bytes: JSON string values,
// e-mail addresses and phone-number-like digit runs anywhere, each in the
// normalized forms ingest would store. A person's identifier is mentioned
// when MentionHash of its stored value is among MentionHashes of the bytes.

// mentionKind is the hash domain of mention hashes: they never equal an
// identifier hash.
const mentionKind = "mention"

var (
	mentionEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)
	mentionPhone = regexp.MustCompile(`\+?[0-9][0-9 ().\-]{5,}[0-9]`)
)

// maxMentionBytes bounds the candidates kept per mention.
const maxMentionBytes = 256

// Mentions returns the candidate identifiers in raw, normalized (lower
// case; phones as + and digits), without duplicates.
func Mentions(raw []byte) []string {
	seen := map[string]struct{}{}
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if len(s) < 3 || len(s) > maxMentionBytes {
			return
		}
		for _, c := range []string{s, strings.ToLower(s)} {
			if _, ok := seen[c]; !ok {
				seen[c] = struct{}{}
				out = append(out, c)
			}
		}
	}
	// JSON string values (and keys): the ids of any channel.
	for rest := raw; ; {
		i := bytes.IndexByte(rest, '"')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		j := 0
		for j < len(rest) && rest[j] != '"' {
			if rest[j] == '\\' {
				j++
			}
			j++
		}
		if j > len(rest) {
			j = len(rest)
		}
		add(string(rest[:j]))
		if j >= len(rest) {
			break
		}
		rest = rest[j+1:]
	}
	for _, m := range mentionEmail.FindAll(raw, -1) {
		add(string(m))
	}
	for _, m := range mentionPhone.FindAll(raw, -1) {
		digits := make([]byte, 0, len(m)+1)
		digits = append(digits, '+')
		for _, c := range m {
			if c >= '0' && c <= '9' {
				digits = append(digits, c)
			}
		}
		if len(digits) >= 8 && len(digits) <= 16 {
			add(string(digits))
		}
	}
	return out
}

// MentionHash is the keyed hash under which a stored identifier value is
// looked for among mentions (and kept in the suppression rules).
func MentionHash(h *pseudonym.Hasher, value string) string {
	return h.Identifier(mentionKind, strings.ToLower(value))
}

// MentionHashes returns the mention hashes of raw's candidates.
func MentionHashes(h *pseudonym.Hasher, raw []byte) []string {
	ms := Mentions(raw)
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, h.Identifier(mentionKind, m))
	}
	return out
}
