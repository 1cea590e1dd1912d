package gateway

import (
	"strings"
)

// A small PostgreSQL lexer. It never decides what a role may read: that is
// DuckDB's parser's job (sandbox.go). The gateway uses tokens for what the
// parser cannot tell it before DuckDB runs anything:
//   - whether a query is empty (only comments, e.g. pgx's "-- ping");
//   - the session commands clients send and the gateway answers itself
//     without DuckDB (BEGIN, COMMIT, SET application_name, SHOW, ...), see control.go;
//   - the first keyword of each statement, for the audit of refused statements;
//   - three catalog spellings of psql that DuckDB's parser rejects or misreads
//     (OPERATOR(pg_catalog.~), COLLATE pg_catalog.default, ::pg_catalog.text),
//     rewritten before parsing (normalizeCatalogSyntax).

type tokKind uint8

const (
	tIdent       tokKind = iota // keyword or identifier
	tQuotedIdent                // "name"
	tString                     // 'x', E'x', $$x$$, B'0', X'ff', U&'x'
	tNumber
	tParam // $1
	tOp    // operator characters, possibly several
	tPunct // ( ) [ ] , . : ::
	tSemicolon
)

type token struct {
	kind       tokKind
	start, end int // byte offsets in the source
	text       string
}

// upper returns the token as a keyword: upper-cased for identifiers.
func (t token) upper() string {
	if t.kind == tIdent {
		return strings.ToUpper(t.text)
	}
	return t.text
}

// lex splits sql into tokens, skipping whitespace and comments. An
// unterminated string or comment ends the token list; the parser reports
// such errors properly.
func lex(sql string) []token {
	var toks []token
	i := 0
	n := len(sql)
	add := func(k tokKind, start, end int) {
		toks = append(toks, token{kind: k, start: start, end: end, text: sql[start:end]})
	}
	for i < n {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < n && sql[i+1] == '-':
			for i < n && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && sql[i+1] == '*':
			depth := 0
			for i < n {
				if sql[i] == '/' && i+1 < n && sql[i+1] == '*' {
					depth++
					i += 2
				} else if sql[i] == '*' && i+1 < n && sql[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		case c == '\'':
			start := i
			i = skipQuoted(sql, i, '\'', false)
			add(tString, start, i)
		case (c == 'E' || c == 'e') && i+1 < n && sql[i+1] == '\'':
			start := i
			i = skipQuoted(sql, i+1, '\'', true)
			add(tString, start, i)
		case (c == 'B' || c == 'b' || c == 'X' || c == 'x' || c == 'N' || c == 'n') && i+1 < n && sql[i+1] == '\'':
			start := i
			i = skipQuoted(sql, i+1, '\'', false)
			add(tString, start, i)
		case (c == 'U' || c == 'u') && i+2 < n && sql[i+1] == '&' && (sql[i+2] == '\'' || sql[i+2] == '"'):
			start := i
			q := sql[i+2]
			i = skipQuoted(sql, i+2, q, false)
			if q == '"' {
				add(tQuotedIdent, start, i)
			} else {
				add(tString, start, i)
			}
		case c == '"':
			start := i
			i = skipQuoted(sql, i, '"', false)
			add(tQuotedIdent, start, i)
		case c == '$':
			start := i
			j := i + 1
			for j < n && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
			if j > i+1 {
				i = j
				add(tParam, start, i)
				continue
			}
			// dollar quote: $tag$ ... $tag$
			j = i + 1
			for j < n && (isIdentStart(sql[j]) || sql[j] >= '0' && sql[j] <= '9') {
				j++
			}
			if j < n && sql[j] == '$' {
				tag := sql[i : j+1]
				end := strings.Index(sql[j+1:], tag)
				if end < 0 {
					i = n
				} else {
					i = j + 1 + end + len(tag)
				}
				add(tString, start, i)
				continue
			}
			i++
			add(tOp, start, i)
		case c >= '0' && c <= '9' || c == '.' && i+1 < n && sql[i+1] >= '0' && sql[i+1] <= '9':
			start := i
			for i < n && (isIdentChar(sql[i]) || sql[i] == '.' ||
				(sql[i] == '+' || sql[i] == '-') && (sql[i-1] == 'e' || sql[i-1] == 'E')) {
				i++
			}
			add(tNumber, start, i)
		case isIdentStart(c):
			start := i
			for i < n && isIdentChar(sql[i]) {
				i++
			}
			add(tIdent, start, i)
		case c == ';':
			add(tSemicolon, i, i+1)
			i++
		case c == ':' && i+1 < n && sql[i+1] == ':':
			add(tPunct, i, i+2)
			i += 2
		case strings.IndexByte("()[],.:", c) >= 0:
			add(tPunct, i, i+1)
			i++
		case strings.IndexByte(opChars, c) >= 0:
			start := i
			for i < n && strings.IndexByte(opChars, sql[i]) >= 0 &&
				!(sql[i] == '-' && i+1 < n && sql[i+1] == '-') && !(sql[i] == '/' && i+1 < n && sql[i+1] == '*') {
				i++
			}
			add(tOp, start, i)
		default:
			i++ // a byte the lexer does not know; the parser will judge it
		}
	}
	return toks
}

const opChars = "+-*/<>=~!@#%^&|`?"

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '$' }

// skipQuoted returns the offset after the quoted text starting at sql[i]
// (the opening quote). Doubled quotes escape; backslashes too when escapes.
func skipQuoted(sql string, i int, q byte, escapes bool) int {
	i++
	for i < len(sql) {
		switch {
		case escapes && sql[i] == '\\':
			i += 2
		case sql[i] == q && i+1 < len(sql) && sql[i+1] == q:
			i += 2
		case sql[i] == q:
			return i + 1
		default:
			i++
		}
	}
	return len(sql)
}

// splitStatements groups tokens into statements at top-level semicolons,
// dropping empty statements.
func splitStatements(toks []token) [][]token {
	var out [][]token
	start := 0
	for i, t := range toks {
		if t.kind == tSemicolon {
			if i > start {
				out = append(out, toks[start:i])
			}
			start = i + 1
		}
	}
	if start < len(toks) {
		out = append(out, toks[start:])
	}
	return out
}

// statementKinds returns the first keyword of each statement, upper-cased,
// joined with ";": "SELECT", "COPY", "SELECT;ATTACH". Only keywords are kept
// (never literals), so it is safe for the audit.
func statementKinds(sql string) string {
	var kinds []string
	for _, st := range splitStatements(lex(sql)) {
		k := "?"
		if st[0].kind == tIdent {
			k = st[0].upper()
			if k == "WITH" || k == "(" {
				k = "SELECT"
			}
		} else if st[0].kind == tPunct && st[0].text == "(" {
			k = "SELECT"
		}
		kinds = append(kinds, k)
	}
	return strings.Join(kinds, ";")
}

// normalizeCatalogSyntax rewrites four spellings psql uses in its catalog
// queries that DuckDB's parser rejects or misreads:
//
//	OPERATOR(pg_catalog.~)      ->  ~
//	COLLATE pg_catalog.default  ->  (removed)
//	::pg_catalog.text           ->  ::text
//	CAST(x AS pg_catalog.text)  ->  CAST(x AS text)
//
// Everything else is copied byte for byte. The result is parsed and checked
// like any query; this only makes more queries parse.
func normalizeCatalogSyntax(sql string) string {
	toks := lex(sql)
	var b strings.Builder
	last := 0
	emit := func(from, to int, repl string) {
		b.WriteString(sql[last:from])
		b.WriteString(repl)
		last = to
	}
	is := func(i int, k tokKind, upperText string) bool {
		return i < len(toks) && toks[i].kind == k && toks[i].upper() == upperText
	}
	isCatalog := func(i int) bool {
		return i < len(toks) && (toks[i].kind == tIdent && strings.EqualFold(toks[i].text, "pg_catalog") ||
			toks[i].kind == tQuotedIdent && toks[i].text == `"pg_catalog"`)
	}
	for i := 0; i < len(toks); i++ {
		switch {
		case is(i, tIdent, "OPERATOR") && is(i+1, tPunct, "(") && isCatalog(i+2) && is(i+3, tPunct, ".") &&
			i+5 < len(toks) && toks[i+4].kind == tOp && is(i+5, tPunct, ")"):
			emit(toks[i].start, toks[i+5].end, toks[i+4].text)
			i += 5
		case is(i, tIdent, "COLLATE") && isCatalog(i+1) && is(i+2, tPunct, ".") && i+3 < len(toks) &&
			(toks[i+3].kind == tIdent || toks[i+3].kind == tQuotedIdent):
			emit(toks[i].start, toks[i+3].end, "")
			i += 3
		case is(i, tPunct, "::") && isCatalog(i+1) && is(i+2, tPunct, "."):
			emit(toks[i].start, toks[i+2].end, "::")
			i += 2
		case is(i, tIdent, "AS") && isCatalog(i+1) && is(i+2, tPunct, ".") && i+3 < len(toks) && toks[i+3].kind == tIdent:
			// A qualified name after AS is a type (an alias cannot be
			// qualified): CAST(x AS pg_catalog.text), psql's \dd.
			emit(toks[i].start, toks[i+2].end, toks[i].text+" ")
			i += 2
		}
	}
	if last == 0 {
		return sql
	}
	b.WriteString(sql[last:])
	return b.String()
}
