package warehouse

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Informative tokens: what the repetition measures (models
// int_conversations_repeated, docs/models.md "Repetition") compare between
// a customer's messages. The definition, word for word from issue 20:
//
//   - the text lower-cased, accents folded, split on anything that is not a
//     letter or a digit;
//   - kept: tokens of 3 or more characters that contain a digit (order
//     numbers, document numbers, dates, amounts), email addresses and phone
//     numbers taken whole, and alphabetic tokens of 4 or more letters that
//     are not stop words;
//   - stop words: a shipped list for Portuguese, Spanish and English,
//     including greetings and politeness.
//
// "Taken whole": an e-mail address is kept as written (folded), a phone
// number as its digits; a phone number is a run of 8 or more digits across
// at most two separators between digits (' ', '.', '-', '(', ')', '/'),
// the rule privacy.ConversationOpaque uses, so "(11) 98765-4321" is one
// token, 11987654321. Both are taken out of the text before it is split,
// so their parts are not tokens too.
//
// Tokens are never stored: the SQL function cx_text_tokens (unseal.go)
// opens a message's sealed content during a build, and returns only the
// keyed hashes of its tokens (privacy.Hasher.TextToken).

var (
	emailRE = regexp.MustCompile(`[\pL\pN._%+-]+@[\pL\pN-]+(?:\.[\pL\pN-]+)*\.\pL{2,}`)
	phoneRE = regexp.MustCompile(`[0-9](?:[ .()/-]{0,2}[0-9]){7,}`)
)

// InformativeTokens returns the informative tokens of text, each once, sorted.
func InformativeTokens(text string) []string {
	s := foldText(text)
	var out []string
	s = emailRE.ReplaceAllStringFunc(s, func(m string) string {
		out = append(out, m)
		return " "
	})
	s = phoneRE.ReplaceAllStringFunc(s, func(m string) string {
		out = append(out, strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, m))
		return " "
	})
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if informative(tok) {
			out = append(out, tok)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// informative reports whether a token of the split text is kept.
func informative(tok string) bool {
	n, digit := 0, false
	for _, r := range tok {
		n++
		if unicode.IsDigit(r) {
			digit = true
		}
	}
	if digit {
		return n >= 3
	}
	return n >= 4 && !stopWords[tok]
}

// foldText lower-cases text and folds its accents: each letter is
// decomposed (NFD) and its combining marks dropped, so "Não" is "nao" and
// "PEDIDO" is "pedido".
func foldText(text string) string {
	d := norm.NFD.String(strings.ToLower(text))
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, d)
}

// stopWords are the shipped stop words (folded, 4 letters or more: shorter
// alphabetic tokens are never kept): Portuguese, Spanish and English
// function words, and the greetings and politeness a customer repeats in
// every message without repeating any information.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, list := range []string{
		// Portuguese
		`obrigado obrigada obrigados obrigadas brigado brigada valeu favor tarde tardes noite noites
		bom-dia boa dias ola alo oiii tchau abraco abracos atenciosamente grato grata agradeco agradecido
		desculpa desculpe licenca beleza certo certinho tudo nada algo isso isto esse essa esses essas
		este esta estes estas aquele aquela aquilo para pelo pela pelos pelas como mais menos muito muita
		muitos muitas pouco porque quando onde ainda tambem sobre entre depois antes agora aqui ali
		minha minhas meus nosso nossa nossos nossas voce voces dele dela deles delas qual quais quem
		quero queria gostaria estou estava estamos esteve tenho tinha temos seria sera pode podem poderia
		fazer feito fiz fala falar dizer disse ver vou vai vamos favor entao mesmo mesma cada outro outra
		sim nao ok okay blz tambem ja so ate apos desde sem com sua suas seu seus numa num uma umas uns
		assim sendo sido ser estar ter havia houve fica ficou`,
		// Spanish
		`gracias hola buenos buenas saludos adios vale bien todo toda todos todas nada algo esto esta este
		estos estas eso esos esas aquel aquella para pero como porque cuando donde tambien mucho mucha
		muchos muchas poco sobre entre despues antes ahora aqui alli tengo tiene tenemos quiero queria
		quisiera puede pueden podria hacer hecho usted ustedes estoy estaba estamos senor senora favor
		disculpe perdon entonces mismo misma cada otro otra tambien desde hasta segun sino nuestro nuestra
		ellos ellas suyo suya cual cuales quien`,
		// English
		`this that these those with have has had from they them their there here what when where which who
		whom would could should about your yours just been were will into than then also some more most
		very please thanks thank thx hello good morning afternoon evening night okay sure dear regards
		sorry kind best cheers greetings welcome bye goodbye does did doing done being over only same such
		other each again still even much many want wanted need needs like know just said tell told yes`,
	} {
		for _, w := range strings.Fields(list) {
			m[w] = true
		}
	}
	return m
}()
