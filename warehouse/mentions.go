package warehouse

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/privacy"
)

// A dead letter is not decoded, so whose identifiers it holds is not known.
// Mentions finds what could be one in its raw bytes, in every encoding a
// producer may have used, and turns each into the normalized form ingest
// would store (the event package's rules, the same as at ingest and at
// erasure):
//
//   - JSON string values and keys, with their escapes decoded
//     ("ana\u0040example.org" is "ana@example.org"), whole and word by word
//     (a handle inside a sentence; a leading "@" dropped);
//   - percent-encoding decoded ("ana%40example.org");
//   - e-mail addresses anywhere, lower case;
//   - digit runs that look like phone numbers: as written ("+" and the
//     digits), in E.164 canonical form (Brazil's 9th digit), and in each
//     E.164 number a national form may stand for (a trunk prefix 0, a
//     carrier code: event.NationalPhoneForms).
//
// A person's identifier is mentioned when MentionHash of its stored value
// is among MentionHashes of the bytes.

// mentionKind is the hash domain of mention hashes: they never equal an
// identifier hash.
const mentionKind = "mention"

var (
	mentionEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)
	mentionPhone = regexp.MustCompile(`\+?[0-9][0-9 ().\-]{5,}[0-9]`)
)

// maxMentionBytes bounds the candidates kept per mention.
const maxMentionBytes = 256

// wordSep splits a string into the words that may be an identifier: white
// space and punctuation that no identifier kind holds.
func wordSep(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', ',', ';', '(', ')', '<', '>', '[', ']', '{', '}', '"', '\'', '!', '?', '/', '|', '=':
		return true
	}
	return r == 0xA0
}

// mentions collects candidates without duplicates.
type mentions struct {
	seen map[string]struct{}
	out  []string
}

func (m *mentions) add(s string) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 3 || len(s) > maxMentionBytes {
		return
	}
	if _, ok := m.seen[s]; !ok {
		m.seen[s] = struct{}{}
		m.out = append(m.out, s)
	}
}

// text adds the candidates of one piece of text: itself, its words, the
// e-mail addresses and phone numbers in it, and the same of its
// percent-decoded form.
func (m *mentions) text(s string, depth int) {
	m.add(s)
	for _, w := range strings.FieldsFunc(s, wordSep) {
		w = strings.TrimRight(w, ".:")
		m.add(w)
		m.add(strings.TrimLeft(w, "@"))
		if e, ok := event.NormalizeEmail(w); ok {
			m.add(e)
		}
	}
	for _, e := range mentionEmail.FindAllString(s, -1) {
		m.add(e)
	}
	for _, p := range mentionPhone.FindAllString(s, -1) {
		m.phone(p)
	}
	if depth == 0 && strings.Contains(s, "%") {
		if d, err := url.PathUnescape(s); err == nil && d != s {
			m.text(d, depth+1)
		} else if d, err := url.QueryUnescape(strings.ReplaceAll(s, "+", "%2B")); err == nil && d != s {
			m.text(d, depth+1)
		}
	}
}

// phone adds the forms of a phone-like run: as written, canonical E.164,
// and the numbers a national form stands for.
func (m *mentions) phone(run string) {
	digits := make([]byte, 0, len(run))
	for i := range len(run) {
		if c := run[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if len(digits) < 7 || len(digits) > 15 {
		return
	}
	m.add("+" + string(digits))
	if p, ok := event.NormalizePhone("+" + string(digits)); ok {
		m.add(p)
	}
	if p, ok := event.NormalizePhone(run); ok { // "00" and the country code
		m.add(p)
	}
	for _, p := range event.NationalPhoneForms(string(digits)) {
		m.add(p)
	}
}

// Mentions returns the candidate identifiers in raw, normalized (lower
// case; phones as + and digits, and in canonical E.164), without
// duplicates.
func Mentions(raw []byte) []string {
	m := mentions{seen: map[string]struct{}{}}
	// JSON string values (and keys), escapes decoded.
	for rest := raw; ; {
		i := bytes.IndexByte(rest, '"')
		if i < 0 {
			break
		}
		lit := rest[i:]
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
		var s string
		if j < len(rest) && json.Unmarshal(lit[:j+2], &s) == nil {
			m.text(s, 0)
		} else {
			m.text(string(rest[:j]), 0)
		}
		if j >= len(rest) {
			break
		}
		rest = rest[j+1:]
	}
	// The bytes as a whole: a payload that is not JSON at all.
	m.text(string(raw), 0)
	return m.out
}

// MentionHash is the keyed hash under which a stored identifier value is
// looked for among mentions (and kept in the suppression rules): lower
// case, and a full E.164 phone in its canonical form, as Mentions writes
// its candidates.
func MentionHash(h *privacy.Hasher, value string) string {
	v := strings.ToLower(value)
	if strings.HasPrefix(v, "+") {
		if p, ok := event.NormalizePhone(v); ok {
			v = p
		}
	}
	return h.Identifier(mentionKind, v)
}

// MentionHashes returns the mention hashes of raw's candidates.
func MentionHashes(h *privacy.Hasher, raw []byte) []string {
	ms := Mentions(raw)
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, h.Identifier(mentionKind, m))
	}
	return out
}
