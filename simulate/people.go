package simulate

import (
	"strconv"
)

// A person is one customer with identities on several channels. Every
// identifier embeds a bijection of the person's serial number, so two people
// never share one; the rest of each identifier is drawn from the seeded source.
type person struct {
	serial    uint64
	name      string
	lang      uint8
	country   uint8
	phone     string // E.164, or ""
	email     string // normalized, or ""
	instagram string
	telegram  string
	messenger string
	webchat   string // visitor id of the person's browser
	app       string
	linked    bool // the helpdesk merged this person's contacts: events carry several identifiers
	consented bool // consent was asked already
	key       string
}

type name struct{ display, ascii string }

var (
	firstPT = []name{{"Ana", "ana"}, {"Maria", "maria"}, {"João", "joao"}, {"José", "jose"}, {"Antônio", "antonio"},
		{"Francisca", "francisca"}, {"Carlos", "carlos"}, {"Paulo", "paulo"}, {"Lucas", "lucas"}, {"Luiz", "luiz"},
		{"Gabriel", "gabriel"}, {"Rafael", "rafael"}, {"Fernanda", "fernanda"}, {"Juliana", "juliana"}, {"Beatriz", "beatriz"},
		{"Letícia", "leticia"}, {"Camila", "camila"}, {"Bruno", "bruno"}, {"Marcos", "marcos"}, {"Patrícia", "patricia"},
		{"Aline", "aline"}, {"Sandra", "sandra"}, {"Thiago", "thiago"}, {"Felipe", "felipe"}, {"Larissa", "larissa"},
		{"Vitória", "vitoria"}, {"Conceição", "conceicao"}, {"Raimundo", "raimundo"}, {"Sebastião", "sebastiao"}, {"Gustavo", "gustavo"}}
	lastPT = []name{{"Silva", "silva"}, {"Santos", "santos"}, {"Oliveira", "oliveira"}, {"Souza", "souza"}, {"Rodrigues", "rodrigues"},
		{"Ferreira", "ferreira"}, {"Alves", "alves"}, {"Pereira", "pereira"}, {"Lima", "lima"}, {"Gomes", "gomes"},
		{"Costa", "costa"}, {"Ribeiro", "ribeiro"}, {"Martins", "martins"}, {"Carvalho", "carvalho"}, {"Araújo", "araujo"},
		{"Melo", "melo"}, {"Barbosa", "barbosa"}, {"Rocha", "rocha"}, {"Dias", "dias"}, {"Nascimento", "nascimento"},
		{"da Conceição", "conceicao"}, {"Moreira", "moreira"}, {"Cardoso", "cardoso"}, {"Teixeira", "teixeira"}, {"Correia", "correia"},
		{"Mendes", "mendes"}, {"Nunes", "nunes"}, {"Sá", "sa"}, {"Brandão", "brandao"}, {"Gonçalves", "goncalves"}}
	firstEN = []name{{"James", "james"}, {"Mary", "mary"}, {"John", "john"}, {"Patricia", "patricia"}, {"Robert", "robert"},
		{"Jennifer", "jennifer"}, {"Michael", "michael"}, {"Linda", "linda"}, {"David", "david"}, {"Elizabeth", "elizabeth"},
		{"Sarah", "sarah"}, {"Emily", "emily"}, {"Daniel", "daniel"}, {"Olivia", "olivia"}, {"Chris", "chris"}}
	lastEN = []name{{"Smith", "smith"}, {"Johnson", "johnson"}, {"Williams", "williams"}, {"Brown", "brown"}, {"Jones", "jones"},
		{"Miller", "miller"}, {"Davis", "davis"}, {"Wilson", "wilson"}, {"Taylor", "taylor"}, {"Clark", "clark"},
		{"O'Brien", "obrien"}, {"Walker", "walker"}, {"Hall", "hall"}}
	// Area codes of Brazilian capitals, São Paulo first and most common.
	brDDD     = []string{"11", "11", "11", "21", "21", "31", "41", "51", "61", "71", "81", "85", "91", "48", "62", "27", "19", "13"}
	emailHost = []string{"example.com", "example.com.br", "example.net", "mail.example.org", "example.com.br"}
)

// Countries of a person's phone number.
const (
	countryBR uint8 = iota
	countryPT
	countryUS
)

// bijection maps n < m one-to-one onto [0, m): a must be coprime to m.
func bijection(n, a, c, m uint64) uint64 { return (n%m*a + c) % m }

func appendPadded(b []byte, v uint64, width int, base int) []byte {
	var tmp [24]byte
	s := strconv.AppendUint(tmp[:0], v, base)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// tag is a short base-36 string unique per serial, used in handles and emails.
func tag(n, salt uint64) string {
	const m = 2176782336 // 36^6
	return string(appendPadded(nil, bijection(n+salt, 1000003, 7919, m), 6, 36))
}

// newPerson creates a person whose identities include what channel ch needs.
func (g *Generator) newPerson(ch channel) *person {
	r := g.rng
	n := g.personSerial
	g.personSerial++
	g.stats.people++
	p := &person{serial: n}
	switch u := r.Float64(); {
	case u < 0.84:
		p.country = countryBR
	case u < 0.89:
		p.country = countryPT
	default:
		p.country, p.lang = countryUS, langEN
	}
	var first, last name
	if p.lang == langEN {
		first, last = firstEN[r.IntN(len(firstEN))], lastEN[r.IntN(len(lastEN))]
	} else {
		first, last = firstPT[r.IntN(len(firstPT))], lastPT[r.IntN(len(lastPT))]
	}
	p.name = first.display + " " + last.display

	hasPhone := r.Float64() < 0.9 || ch == chWhatsApp || ch == chSMS || ch == chVoice
	hasEmail := r.Float64() < 0.78 || ch == chEmail || ch == chApp
	if hasPhone {
		sub := bijection(n, 73939133, 12345678, 1e8)
		b := make([]byte, 0, 16)
		switch p.country {
		case countryBR:
			b = append(b, "+55"...)
			b = append(b, brDDD[r.IntN(len(brDDD))]...)
			b = append(b, '9')
		case countryPT:
			b = append(b, "+3519"...)
		default:
			b = append(b, "+1"...)
			b = append(b, byte('2'+r.IntN(8)), byte('0'+r.IntN(10)))
		}
		p.phone = string(appendPadded(b, sub, 8, 10))
	}
	if hasEmail {
		host := emailHost[r.IntN(len(emailHost))]
		if p.country == countryUS {
			host = "example.com"
		}
		switch r.IntN(3) {
		case 0:
			p.email = first.ascii + "." + last.ascii + "." + tag(n, 1) + "@" + host
		case 1:
			p.email = first.ascii + last.ascii + tag(n, 1) + "@" + host
		default:
			p.email = first.ascii[:1] + last.ascii + "_" + tag(n, 1) + "@" + host
		}
	}
	if r.Float64() < 0.35 || ch == chInstagram {
		p.instagram = first.ascii + "." + last.ascii + "_" + tag(n, 2)
	}
	if r.Float64() < 0.14 || ch == chTelegram {
		p.telegram = strconv.FormatUint(5_000_000_000+bijection(n, 387420489, 1234567, 1e9), 10)
	}
	if r.Float64() < 0.2 || ch == chMessenger {
		b := append(make([]byte, 0, 16), '2')
		b = appendPadded(b, bijection(n, 387420489, 7654321, 1e9), 9, 10)
		p.messenger = string(appendPadded(b, uint64(r.IntN(1e6)), 6, 10))
	}
	p.webchat = "v_" + string(appendPadded(nil, mix64(n^0x5ca1ab1e), 16, 16))
	if p.email != "" {
		p.app = "u-" + string(appendPadded(nil, mix64(n^0xa99)&(1<<40-1), 8, 36))
	}
	p.linked = r.Float64() < 0.65
	switch {
	case p.phone != "":
		p.key = p.phone
	case p.email != "":
		p.key = p.email
	case p.instagram != "":
		p.key = p.instagram
	case p.telegram != "":
		p.key = p.telegram
	case p.messenger != "":
		p.key = p.messenger
	default:
		p.key = p.webchat
	}
	return p
}

// reaches reports whether the person can be on channel ch.
func (p *person) reaches(ch channel) bool {
	switch ch {
	case chWhatsApp, chSMS, chVoice:
		return p.phone != ""
	case chEmail, chApp:
		return p.email != ""
	case chInstagram:
		return p.instagram != ""
	case chTelegram:
		return p.telegram != ""
	case chMessenger:
		return p.messenger != ""
	}
	return true // webchat: anyone with a browser
}

// pickChannel chooses a channel the person reaches, weighted like all traffic;
// not, when it is a real channel, excludes one (the channel they used last).
func (g *Generator) pickChannel(p *person, not channel) channel {
	var total float64
	for c := range numChannels {
		if c != not && p.reaches(c) {
			total += profiles[c].weight
		}
	}
	if total == 0 {
		return not
	}
	u := g.rng.Float64() * total
	for c := range numChannels {
		if c == not || !p.reaches(c) {
			continue
		}
		if u < profiles[c].weight {
			return c
		}
		u -= profiles[c].weight
	}
	return chWebchat
}

// remember puts a person in the bounded pool of recent customers that new
// conversations sometimes come from.
func (g *Generator) remember(p *person) {
	if len(g.pool) < poolSize {
		g.pool = append(g.pool, p)
		return
	}
	g.pool[g.poolNext] = p
	g.poolNext = (g.poolNext + 1) % poolSize
}

const poolSize = 4096
