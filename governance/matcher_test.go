package governance

import "testing"

func TestMatcherFindsAPersonInAnyPunctuation(t *testing.T) {
	m := newMatcher(map[string]string{"a": "+5511977771234", "b": "ana.q@example.org", "c": "wc-4F9a"})
	for s, want := range map[string]bool{
		`{"phone":"+55 (11) 97777-1234"}`:           true,
		`ligar para +55 11 97777.1234 urgente`:      true,
		`5511977771234@s.whatsapp.net`:              true,
		`{"email":"ANA.Q@Example.org"}`:             true,
		`{"ids":{"webchat":"WC-4f9A"}}`:             true,
		`{"phone":"+55 11 97777-1235"}`:             false,
		`ligue (11) 97777-1234`:                     true, // the national number
		`5511977771234:12@s.whatsapp.net`:           true,
		`{"phone":"+1 5511977771234"}`:              false, // another number: the + starts it
		`{"email":"ana.r@example.org","n":"97777"}`: false,
		``: false,
	} {
		if got := m.match([]byte(s)); got != want {
			t.Errorf("match(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestMentionFormsCoverTheNationalNumber(t *testing.T) {
	got := mentionForms("+5511977771234")
	want := []string{"+5511977771234", "+511977771234", "+11977771234", "+1977771234", "+977771234", "+77771234"}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%v, want %v", got, want)
		}
	}
}
