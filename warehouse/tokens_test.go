package warehouse

import (
	"slices"
	"testing"
)

// The tokens below are worked out by hand from the definition
// (tokens.go), not by running the tokenizer.
func TestInformativeTokens(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		// An order number and words; "meu" and "nao" are short, "pedido"
		// and "chegou" are kept; accents folded.
		{"Meu pedido 1234 NÃO chegou", []string{"1234", "chegou", "pedido"}},
		// Greetings and politeness only: nothing.
		{"ok obrigado", nil},
		{"Boa tarde! Muito obrigada, por favor.", nil},
		{"Hola, buenos días, gracias", nil},
		{"Hello, thanks, please", nil},
		// Digits: 3 characters or more; "12" is too short, "a12" is kept.
		{"12 a12 R$ 49,90", []string{"a12"}},
		// An e-mail address whole (and its parts are not tokens too).
		{"meu email é Ana.Souza@Example.COM.br ok", []string{"ana.souza@example.com.br", "email"}},
		// A phone number whole, as its digits, in any punctuation.
		{"liga no (11) 98765-4321", []string{"11987654321", "liga"}},
		{"+55 11 98765 4321", []string{"5511987654321"}},
		// Accents folded, split on anything not a letter or a digit.
		{"cartão-de-crédito/ação", []string{"acao", "cartao", "credito"}},
		// Each once.
		{"pedido PEDIDO pedido", []string{"pedido"}},
		{"", nil},
	} {
		if got := InformativeTokens(c.text); !slices.Equal(got, c.want) {
			t.Errorf("InformativeTokens(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}
