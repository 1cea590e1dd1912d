package simulate

// The contact object: which of a person's identifiers a channel's events
// carry, and in which of the formats real producers send them.

// appendContact appends the contact object of step s: the channel's own
// identifier, the person's other identifiers when the helpdesk merged them,
// and the display name.
func (g *Generator) appendContact(b []byte, t *thread, s *step, d *defect) []byte {
	p := t.person
	b = append(b, '{')
	if d.badPhone != "" {
		b = append(b, `"phone":`...)
		b = appendString(b, d.badPhone)
		return append(b, '}')
	}
	if !d.emptyContact {
		phone, email := false, false
		var idKey, idVal string
		switch t.channel {
		case chWhatsApp, chSMS, chVoice:
			phone, email = true, t.crossIDs
		case chEmail:
			email, phone = true, t.crossIDs
		case chApp:
			email, idKey, idVal = true, "app", p.app
		case chInstagram:
			phone, email, idKey, idVal = t.crossIDs, t.crossIDs, "instagram", p.instagram
		case chTelegram:
			phone, idKey, idVal = t.crossIDs, "telegram", p.telegram
		case chMessenger:
			email, idKey, idVal = t.crossIDs, "messenger", p.messenger
		case chWebchat:
			loggedIn := s.flags&flagLoggedIn != 0
			email, phone, idKey, idVal = loggedIn, loggedIn && t.crossIDs, "webchat", p.webchat
		}
		if phone && p.phone != "" {
			b = key(b, "phone")
			f := t.phoneFmt
			if !isPhoneChannel(t.channel) {
				f = 0
			}
			b = appendPhone(b, p.phone, f)
		}
		if email && p.email != "" {
			b = key(b, "email")
			b = appendEmail(b, p.email, t.emailFmt)
		}
		if idKey != "" {
			b = key(b, "ids")
			b = append(b, '{', '"')
			b = append(b, idKey...)
			b = append(b, '"', ':')
			b = appendString(b, idVal)
			b = append(b, '}')
		}
	}
	if t.showName && (t.channel != chWebchat || s.flags&flagLoggedIn != 0) || d.emptyContact {
		b = key(b, "name")
		b = appendString(b, p.name)
	}
	return append(b, '}')
}

func isPhoneChannel(ch channel) bool { return ch == chWhatsApp || ch == chSMS || ch == chVoice }

// Phone formats.
const (
	phoneE164   = iota // +5511987654321
	phonePretty        // +55 (11) 98765-4321
	phoneJID           // 5511987654321@s.whatsapp.net
	phoneDigits        // 5511987654321
	phoneIntl          // 005511987654321
)

// appendPhone appends E.164 phone p as a JSON string in format f.
func appendPhone(b []byte, p string, f uint8) []byte {
	b = append(b, '"')
	switch f {
	case phonePretty:
		switch {
		case len(p) == 14 && p[:3] == "+55": // +55 DD 9XXXX XXXX
			b = append(b, "+55 ("...)
			b = append(b, p[3:5]...)
			b = append(b, ") "...)
			b = append(b, p[5:10]...)
			b = append(b, '-')
			b = append(b, p[10:]...)
		case len(p) == 12 && p[:2] == "+1": // +1 AAA BBB CCCC
			b = append(b, "+1 ("...)
			b = append(b, p[2:5]...)
			b = append(b, ") "...)
			b = append(b, p[5:8]...)
			b = append(b, '-')
			b = append(b, p[8:]...)
		case len(p) == 13 && p[:4] == "+351": // +351 9XX XXX XXX
			b = append(b, p[:4]...)
			for i := 4; i < 13; i += 3 {
				b = append(b, ' ')
				b = append(b, p[i:i+3]...)
			}
		default:
			b = append(b, p...)
		}
	case phoneJID:
		b = append(b, p[1:]...)
		b = append(b, "@s.whatsapp.net"...)
	case phoneDigits:
		b = append(b, p[1:]...)
	case phoneIntl:
		b = append(b, '0', '0')
		b = append(b, p[1:]...)
	default:
		b = append(b, p...)
	}
	return append(b, '"')
}

// Email formats.
const (
	emailAsIs   = iota
	emailTitle  // Ana.Souza.3kq9zz@Example.com
	emailSpaced //  ana.souza.3kq9zz@example.com (with spaces around)
	emailUpper
)

// appendEmail appends normalized (ASCII, lower case) email e as a JSON string
// in format f.
func appendEmail(b []byte, e string, f uint8) []byte {
	b = append(b, '"')
	switch f {
	case emailTitle:
		up := true
		for i := 0; i < len(e); i++ {
			c := e[i]
			if up && c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			up = c == '.' || c == '_' || c == '@'
			b = append(b, c)
		}
	case emailSpaced:
		b = append(b, ' ')
		b = append(b, e...)
		b = append(b, ' ', ' ')
	case emailUpper:
		for i := 0; i < len(e); i++ {
			c := e[i]
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			b = append(b, c)
		}
	default:
		b = append(b, e...)
	}
	return append(b, '"')
}
