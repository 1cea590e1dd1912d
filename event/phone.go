package event

// This file holds the country rules of phone numbers: the only place that
// knows how one line is written in several national forms. Two rules exist
// today, both Brazil's (country code 55), the market cxlake was built for:
//
//  1. The mobile 9th digit (ANATEL, rolled out to every area code by
//     November 2016). A Brazilian mobile number is 9 digits starting with 9
//     after the 2-digit area code (DDD). Before the rollout it was 8 digits
//     starting with 6, 7, 8 or 9, and WhatsApp still addresses many
//     accounts outside area codes 11-28 by that form
//     ("553188887777@s.whatsapp.net" for +55 31 98888-7777); Evolution API's
//     createJid drops the 9 when sending. So, in E.164: "+55", a valid
//     area code (brazilAreaCodes), then 8 digits whose first is 6-9 is the
//     same line as the 9 digits made by putting a 9 in front. The canonical
//     form, the one stored and hashed, is the 9-digit one (ANATEL's). An
//     8-digit number starting with 2-5 is a landline and is left alone, as is
//     anything after an unknown area code.
//
//  2. National forms (written without the country code), which ingest does
//     NOT accept as a phone: a number without a country code cannot be
//     told from another country's, so contact.phone must carry one (E.164,
//     "00" and the country code, or a WhatsApp JID). Dead letters are not
//     decoded, though, and the suppression of erased people looks for them
//     in every form a Brazilian would write (NationalPhoneForms):
//       AA NNNNNNNN(N)          area code and number: 10 or 11 digits
//       0 AA NNNNNNNN(N)        trunk prefix 0: 11 or 12 digits
//       0 CC AA NNNNNNNN(N)     trunk prefix and a 2-digit carrier code
//                               (Embratel 21, TIM 41, ...): 13 or 14 digits
//     where AA is a valid area code, CC does not start with 0 ("00" is the
//     international prefix), and an 8-digit number starts with 2-9 and a
//     9-digit one with 9. Anything else is no Brazilian national form.
//
// A new country's rule goes here, in canonicalPhone and NationalPhoneForms,
// and nowhere else: ingest, suppression and erasure lookups all normalize
// through NormalizePhone.

// brazilAreaCodes marks Brazil's area codes (DDD) in use, by number.
var brazilAreaCodes = func() (t [100]bool) {
	for _, r := range [][2]int{
		{11, 19}, {21, 22}, {24, 24}, {27, 28}, {31, 35}, {37, 38},
		{41, 49}, {51, 51}, {53, 55}, {61, 69}, {71, 71}, {73, 75},
		{77, 77}, {79, 79}, {81, 89}, {91, 99},
	} {
		for a := r[0]; a <= r[1]; a++ {
			t[a] = true
		}
	}
	return t
}()

func brazilArea(d []byte) bool {
	return len(d) >= 2 && isDigit(d[0]) && isDigit(d[1]) && brazilAreaCodes[int(d[0]-'0')*10+int(d[1]-'0')]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// canonicalPhone rewrites e164 ("+" and digits, at the end of b from start)
// in place to the one form of its line, and returns b. It may grow b by one
// byte.
func canonicalPhone(b []byte, start int) []byte {
	d := b[start+1:]
	// Brazil's 9th digit: +55 AA [6-9]NNNNNNN -> +55 AA 9[6-9]NNNNNNN.
	if len(d) == 12 && d[0] == '5' && d[1] == '5' && brazilArea(d[2:4]) && d[4] >= '6' && d[4] <= '9' {
		b = append(b, 0)
		at := start + 1 + 4
		copy(b[at+1:], b[at:len(b)-1])
		b[at] = '9'
	}
	return b
}

// NationalPhoneForms returns the E.164 numbers, canonical, that digits
// (a run of digits with no country code, punctuation removed) may stand for
// under the national rules above. Most runs stand for none.
func NationalPhoneForms(digits string) []string {
	d := []byte(digits)
	for _, c := range d {
		if !isDigit(c) {
			return nil
		}
	}
	if len(d) > 0 && d[0] == '0' {
		switch d = d[1:]; len(d) {
		case 12, 13: // a carrier code, then the area code
			if d[0] == '0' {
				return nil
			}
			d = d[2:]
		case 10, 11:
		default:
			return nil
		}
	}
	if len(d) != 10 && len(d) != 11 || !brazilArea(d) {
		return nil
	}
	n := d[2:]
	if len(n) == 9 && n[0] != '9' || len(n) == 8 && n[0] < '2' {
		return nil
	}
	b := append([]byte("+55"), d...)
	return []string{string(canonicalPhone(b, 0))}
}
