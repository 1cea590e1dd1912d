package event_test

import (
	"reflect"
	"testing"

	"github.com/cxlake/cxlake/event"
)

// Brazil's 9th digit: the two forms of one mobile line normalize alike, in
// every way a producer writes them; landlines and other countries do not
// change. Expected values are worked out by hand from the rule in phone.go.
func TestNormalizePhoneBrazilNinthDigit(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+553188887777", "+5531988887777"},                // 8-digit mobile (starts with 8) gains its 9
		{"+5531988887777", "+5531988887777"},               // already 9 digits
		{"553188887777@s.whatsapp.net", "+5531988887777"},  // WhatsApp's JID, without the 9
		{"5531988887777@s.whatsapp.net", "+5531988887777"}, // and with it
		{"+55 (31) 8888-7777", "+5531988887777"},
		{"00553188887777", "+5531988887777"},
		{"+556176543210", "+5561976543210"},  // first digit 7: a mobile
		{"+551166667777", "+5511966667777"},  // area 11: the same rule
		{"+553132104321", "+553132104321"},   // first digit 3: a landline, unchanged
		{"+552088887777", "+552088887777"},   // 20 is no Brazilian area code
		{"+14155552671", "+14155552671"},     // not Brazil
		{"+5531888877770", "+5531888877770"}, // 9 digits not starting with 9: not the rule's
	} {
		got, ok := event.NormalizePhone(tc.in)
		if !ok || got != tc.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestNationalPhoneForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"011912120012", []string{"+5511912120012"}},   // trunk 0, area 11, 9-digit mobile
		{"01191212001", []string{"+5511991212001"}},    // trunk 0, area 11, 8-digit mobile 9121-2001: gains its 9
		{"0113121 2001", nil},                          // not digits
		{"03188887777", []string{"+5531988887777"}},    // trunk 0, 8-digit mobile: gains its 9
		{"0213188887777", []string{"+5531988887777"}},  // trunk 0, carrier 21, area 31
		{"04111912120012", []string{"+5511912120012"}}, // trunk 0, carrier 41, area 11, 9 digits
		{"3188887777", []string{"+5531988887777"}},     // area and number, no trunk prefix
		{"11912120012", []string{"+5511912120012"}},
		{"1132104321", []string{"+551132104321"}}, // a landline
		{"11812120012", nil},                      // 9 digits must start with 9
		{"2088887777", nil},                       // area 20 does not exist
		{"00213188887777", nil},                   // 00 is the international prefix, not a carrier
		{"1188", nil},
	} {
		if got := event.NationalPhoneForms(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("NationalPhoneForms(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeEmailPercentEncoded(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"p12.erase%40example.org", "p12.erase@example.org", true},
		{"P12.Erase%40Example.ORG", "p12.erase@example.org", true},
		{"ana%2Bpromo%40example.org", "ana+promo@example.org", true},
		{"ana%40example%4", "", false},                     // a broken escape
		{"ana%2540example.org", "", false},                 // encoded twice: "%40" is no address
		{"100%25@example.org", "100%25@example.org", true}, // has an @: taken as written
	} {
		got, ok := event.NormalizeEmail(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNormalizeID(t *testing.T) {
	for _, tc := range []struct {
		key, in          string
		id, phone, email string
		ok               bool
	}{
		{"instagram", "Ana.S", "ana.s", "", "", true},
		{"instagram", " @Ana.S ", "ana.s", "", "", true},
		{"telegram", "@AnaSouza", "anasouza", "", "", true},
		{"messenger", "5512345678901234", "5512345678901234", "", "", true},
		{"whatsapp", "+55 31 8888-7777", "", "+5531988887777", "", true},
		{"whatsapp", "553188887777@s.whatsapp.net", "", "+5531988887777", "", true},
		{"sms", "+5511912120012", "", "+5511912120012", "", true},
		{"voice", "0800 123", "0800 123", "", "", true}, // not a phone: an id
		{"email", "Ana@Example.org", "", "", "ana@example.org", true},
		{"webchat", "C0ffee-42", "C0ffee-42", "", "", true}, // opaque: case kept
		{"app", " u-1 ", "u-1", "", "", true},
		{"webchat", "   ", "", "", "", false},
	} {
		id, phone, email, ok := event.NormalizeID(tc.key, tc.in)
		if id != tc.id || phone != tc.phone || email != tc.email || ok != tc.ok {
			t.Errorf("NormalizeID(%q, %q) = %q, %q, %q, %v; want %q, %q, %q, %v", tc.key, tc.in, id, phone, email, ok, tc.id, tc.phone, tc.email, tc.ok)
		}
	}
}

// A phone sent as ids.whatsapp, and an e-mail sent as ids.email, are the
// contact's phone and e-mail: the same identifiers as contact.phone and
// contact.email.
func TestDecodeChannelIDsThatArePhonesOrEmails(t *testing.T) {
	ev := decode(t, build(t, event.TypeMessage, del("contact.phone"), del("contact.email"),
		set("contact.ids", map[string]any{"whatsapp": "553188887777@s.whatsapp.net", "email": "Bia%40Example.org", "instagram": "@Bia.Q"})))
	want := event.Identity{Phone: "+5531988887777", Email: "bia@example.org", IDs: map[string]string{"instagram": "bia.q"}}
	if !reflect.DeepEqual(ev.Contact, want) {
		t.Errorf("Contact = %+v, want %+v", ev.Contact, want)
	}
	// The same phone in both places is one phone.
	ev = decode(t, build(t, event.TypeMessage, set("contact.phone", "+5531988887777"), set("contact.ids", map[string]any{"whatsapp": "+553188887777"})))
	if ev.Contact.Phone != "+5531988887777" || len(ev.Contact.IDs) != 0 {
		t.Errorf("Contact = %+v, want the phone once and no ids", ev.Contact)
	}
}
