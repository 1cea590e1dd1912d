package event

import (
	"strings"
)

// NormalizePhone returns phone in E.164 ("+5511987654321"). It accepts the
// usual punctuation ("+55 (11) 98765-4321"), an international "00" prefix,
// bare digits that already include the country code, and WhatsApp JIDs
// ("5511987654321@s.whatsapp.net", "...@c.us"). ok is false when the value is
// not a phone number, for example a group JID ("...@g.us").
func NormalizePhone(phone string) (e164 string, ok bool) {
	var buf [16]byte
	b, ok := appendPhone(buf[:0], phone)
	if !ok {
		return "", false
	}
	return string(b), true
}

// appendPhone appends phone in E.164 to dst, as NormalizePhone returns it.
// Decode uses it to normalize without allocating.
func appendPhone(dst []byte, phone string) ([]byte, bool) {
	p := strings.TrimSpace(phone)
	if at := strings.IndexByte(p, '@'); at >= 0 {
		switch strings.ToLower(p[at+1:]) {
		case "s.whatsapp.net", "c.us":
			p = p[:at]
			if colon := strings.IndexByte(p, ':'); colon >= 0 { // device suffix "5511...:12"
				p = p[:colon]
			}
		default:
			return dst, false
		}
	}
	if rest, ok := strings.CutPrefix(p, "00"); ok {
		p = "+" + rest
	}
	start := len(dst)
	dst = append(dst, '+')
	for i, r := range p {
		switch {
		case r >= '0' && r <= '9':
			// E.164 allows at most 15 digits.
			if len(dst)-start > 15 {
				return dst[:start], false
			}
			dst = append(dst, byte(r))
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return dst[:start], false
		}
	}
	// Fewer than 8 digits cannot hold a country code and a subscriber
	// number, and no country code starts with 0.
	if digits := dst[start+1:]; len(digits) < 8 || digits[0] == '0' {
		return dst[:start], false
	}
	return dst, true
}

// NormalizeEmail trims and lower-cases an email address. ok is false when the
// value does not look like an address (one "@" with text on both sides).
func NormalizeEmail(email string) (string, bool) {
	e := strings.ToLower(strings.TrimSpace(email))
	at := strings.IndexByte(e, '@')
	if at <= 0 || at != strings.LastIndexByte(e, '@') || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n") {
		return "", false
	}
	return e, true
}
