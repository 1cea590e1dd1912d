package event_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
)

func TestNormalizePhone(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"+5511987654321", "+5511987654321", true},
		{"+55 (11) 98765-4321", "+5511987654321", true},
		{"  +55 11 98765.4321  ", "+5511987654321", true},
		{"005511987654321", "+5511987654321", true},
		{"5511987654321", "+5511987654321", true},
		{"5511987654321@s.whatsapp.net", "+5511987654321", true},
		{"5511987654321@S.WhatsApp.Net", "+5511987654321", true},
		{"5511987654321:12@s.whatsapp.net", "+5511987654321", true},
		{"5511987654321@c.us", "+5511987654321", true},
		{"+1 415 555 2671", "+14155552671", true},
		{"12345678", "+12345678", true},               // 8 digits: shortest accepted
		{"123456789012345", "+123456789012345", true}, // 15 digits: E.164 maximum

		{"", "", false},
		{"+", "", false},
		{"1234567", "", false},          // too short
		{"+55 11", "", false},           // too short
		{"1234567890123456", "", false}, // 16 digits: too long
		{"+55 11 98765 4321 0000", "", false},
		{"+55 11 9876A-4321", "", false}, // letters
		{"tel:+5511987654321", "", false},
		{"ana@example.com", "", false},
		{"120363025246125486@g.us", "", false},                        // group JID
		{"5511987654321-1600000000@g.us", "", false},                  // old-style group JID
		{"5511987654321@broadcast", "", false},                        // broadcast list
		{"@s.whatsapp.net", "", false},                                // no number
		{"5511987654321:12", "", false},                               // device suffix outside a JID
		{"+55+11987654321", "", false},                                // second plus
		{"000511987654321", "", false},                                // "00" prefix, then a country code starting with 0
		{"+0511987654321", "", false},                                 // country codes never start with 0
		{"+55 11 98765\u20134321", "", false},                         // en dash is not accepted punctuation
		{"+55 11 ９８７６５-4321", "", false},                              // full-width digits
		{"5511987654321@s.whatsapp.net@c.us", "", false},              // two @
		{"55119876543210000@s.whatsapp.net", "", false},               // JID with too many digits
		{"5511987654321:12:3@s.whatsapp.net", "+5511987654321", true}, // everything after the first colon is the device
	} {
		got, ok := event.NormalizePhone(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok {
			// Normalizing a normalized phone changes nothing.
			if again, ok2 := event.NormalizePhone(got); again != got || !ok2 {
				t.Errorf("NormalizePhone(%q) = %q, %v; want it unchanged", got, again, ok2)
			}
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"ana@example.com", "ana@example.com", true},
		{" Ana@Example.COM ", "ana@example.com", true},
		{"\tANA.SOUZA+promo@Example.com.BR\n", "ana.souza+promo@example.com.br", true},
		{"a@b", "a@b", true},

		{"", "", false},
		{"   ", "", false},
		{"ana.example.com", "", false}, // no @
		{"ana@@example.com", "", false},
		{"ana@souza@example.com", "", false}, // two @
		{"ana@", "", false},                  // trailing @
		{"@example.com", "", false},          // leading @
		{"@", "", false},
		{"ana souza@example.com", "", false}, // inner space
		{"ana@exa\tmple.com", "", false},
	} {
		got, ok := event.NormalizeEmail(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestDecodeNormalizesContact checks that Decode applies NormalizePhone and
// NormalizeEmail to the contact and to the link.
func TestDecodeNormalizesContact(t *testing.T) {
	for _, phone := range []string{
		"+55 (11) 98765-4321",
		"005511987654321",
		"5511987654321@s.whatsapp.net",
		"5511987654321:12@s.whatsapp.net",
		"5511987654321@c.us",
	} {
		ev := decode(t, build(t, event.TypeMessage, set("contact.phone", phone), set("contact.email", " Ana@Example.COM ")))
		if ev.Contact.Phone != "+5511987654321" {
			t.Errorf("contact.phone %q: Phone = %q, want +5511987654321", phone, ev.Contact.Phone)
		}
		if ev.Contact.Email != "ana@example.com" {
			t.Errorf("Email = %q, want ana@example.com", ev.Contact.Email)
		}
	}
	ev := decode(t, build(t, event.TypeIdentityLink, set("link", map[string]any{"phone": "5511912345678@c.us", "email": " Souza@Example.ORG"})))
	if want := (&event.Identity{Phone: "+5511912345678", Email: "souza@example.org"}); !reflect.DeepEqual(ev.Link, want) {
		t.Errorf("Link = %+v, want %+v", ev.Link, want)
	}
	for _, phone := range []string{"120363025246125486@g.us", "+55 11", "+55 11 98765 4321 0000", "+55 11 9876A-4321"} {
		_, err := event.Decoder{}.Decode(build(t, event.TypeMessage, set("contact.phone", phone)))
		var rej *event.RejectError
		if !errors.As(err, &rej) || rej.Code != event.CodeInvalidValue || rej.Field != "contact.phone" {
			t.Errorf("contact.phone %q: got %v, want an invalid_value rejection of contact.phone", phone, err)
		}
	}
}

func TestDecodeOccurredAtUTC(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-11-21T14:03:05-03:00", time.Date(2026, 11, 21, 17, 3, 5, 0, time.UTC)},
		{"2026-11-21T14:03:05.123-03:00", time.Date(2026, 11, 21, 17, 3, 5, 123_000_000, time.UTC)},
		{"2026-11-21T23:30:00.5-03:00", time.Date(2026, 11, 22, 2, 30, 0, 500_000_000, time.UTC)}, // next day in UTC
		{"2026-11-21T14:03:05.123456789Z", time.Date(2026, 11, 21, 14, 3, 5, 123_456_789, time.UTC)},
		{"2026-11-21T14:03:05+05:30", time.Date(2026, 11, 21, 8, 33, 5, 0, time.UTC)},
		{"2026-11-21T14:03:05+00:00", time.Date(2026, 11, 21, 14, 3, 5, 0, time.UTC)},
	} {
		ev := decode(t, build(t, event.TypeMessage, set("occurred_at", tc.in)))
		if !ev.OccurredAt.Equal(tc.want) || ev.OccurredAt.Nanosecond() != tc.want.Nanosecond() {
			t.Errorf("occurred_at %q: OccurredAt = %v, want %v", tc.in, ev.OccurredAt, tc.want)
		}
		if ev.OccurredAt.Location() != time.UTC {
			t.Errorf("occurred_at %q: location %v, want UTC", tc.in, ev.OccurredAt.Location())
		}
		if ev.OccurredAt != tc.want {
			t.Errorf("occurred_at %q: OccurredAt %#v is not == %#v", tc.in, ev.OccurredAt, tc.want)
		}
	}
}

func TestDecodeNormalizesChannelAndIDs(t *testing.T) {
	ev := decode(t, build(t, event.TypeMessage,
		set("channel", "WhatsApp"),
		set("contact.ids", map[string]any{"Instagram": "Ana.S", "WEBCHAT": "c0ffee-42", "telegram": "", "messenger": nil}),
	))
	if ev.Channel != "whatsapp" {
		t.Errorf("Channel = %q, want whatsapp", ev.Channel)
	}
	// Keys lower-cased, an Instagram handle case-folded, a webchat id kept
	// as sent, empty and null ids dropped.
	if want := map[string]string{"instagram": "ana.s", "webchat": "c0ffee-42"}; !reflect.DeepEqual(ev.Contact.IDs, want) {
		t.Errorf("IDs = %v, want %v", ev.Contact.IDs, want)
	}

	ev = decode(t, build(t, event.TypeMessage, set("contact.ids", map[string]any{"webchat": "", "sms": nil})))
	if ev.Contact.IDs != nil {
		t.Errorf("IDs = %v, want nil when every id is empty", ev.Contact.IDs)
	}
	ev = decode(t, build(t, event.TypeMessage, del("contact.phone"), del("contact.email"), set("contact.ids", map[string]any{"WebChat": "c0ffee-42", "sms": ""})))
	if want := (event.Identity{IDs: map[string]string{"webchat": "c0ffee-42"}}); !reflect.DeepEqual(ev.Contact, want) {
		t.Errorf("Contact = %+v, want %+v (an id alone is an identifier)", ev.Contact, want)
	}
}

// Keys that differ only in case name one channel; the lower-case key wins,
// the same way on every decode.
func TestDecodeIDsCaseCollision(t *testing.T) {
	raw := build(t, event.TypeMessage, set("contact.ids", map[string]any{"Instagram": "upper", "instagram": "lower", "INSTAGRAM": "shout"}))
	for range 50 {
		if got := decode(t, raw).Contact.IDs["instagram"]; got != "lower" {
			t.Fatalf(`IDs["instagram"] = %q, want "lower"`, got)
		}
	}
	// An empty lower-case value does not erase a non-empty one.
	raw = build(t, event.TypeMessage, set("contact.ids", map[string]any{"Instagram": "upper", "instagram": ""}))
	if got := decode(t, raw).Contact.IDs["instagram"]; got != "upper" {
		t.Errorf(`IDs["instagram"] = %q, want "upper"`, got)
	}
}

func TestIdentityEmpty(t *testing.T) {
	for _, tc := range []struct {
		id   event.Identity
		want bool
	}{
		{event.Identity{}, true},
		{event.Identity{IDs: map[string]string{}}, true},
		{event.Identity{IDs: map[string]string{"webchat": ""}}, true},
		{event.Identity{Phone: "+5511987654321"}, false},
		{event.Identity{Email: "ana@example.com"}, false},
		{event.Identity{IDs: map[string]string{"webchat": "", "instagram": "ana.s"}}, false},
	} {
		if got := tc.id.Empty(); got != tc.want {
			t.Errorf("%+v.Empty() = %v, want %v", tc.id, got, tc.want)
		}
	}
}
