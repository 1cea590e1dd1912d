package event

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small JSON scanner, written for Decode so that a message
// is checked and split into members in one pass, without building maps or
// decoding values nobody asks for. It accepts and rejects exactly what
// encoding/json accepts and rejects, and reports a syntax error at the same
// byte offset, so a producer sees the same reason as before.

// maxDepth is how deeply arrays and objects may nest: encoding/json's limit.
const maxDepth = 10000

// syntaxError is a JSON syntax error. Offset counts bytes as encoding/json's
// SyntaxError does: up to and including the offending byte, or the length of
// the input when it ends too early. It says where, never what, so it is safe
// to show.
type syntaxError struct{ Offset int }

func (e *syntaxError) Error() string { return fmt.Sprintf("syntax error at byte %d", e.Offset) }

// The scanning functions below take the text and the index of the next byte
// to read, and return the index after what they read. An error is a
// *syntaxError at the first byte that cannot continue valid JSON.

// fail returns a syntax error at data[i], or at the end of data.
func fail(data []byte, i int) error {
	if i >= len(data) {
		return &syntaxError{Offset: len(data)}
	}
	return &syntaxError{Offset: i + 1}
}

// at reports whether data[i] is c.
func at(data []byte, i int, c byte) bool { return i < len(data) && data[i] == c }

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// walkObject checks that data is exactly one JSON object, with optional
// whitespace around it, and calls fn for each of its members in order: key
// with its escapes decoded, v the member's JSON text as it appears in data.
// If inner is not nil, a member whose value is an object is read in the same
// pass: inner is called for each member of that object, before fn is called
// for the member that holds it. Calls may come before a syntax error further
// on is found.
func walkObject(data []byte, fn, inner func(key []byte, v value)) error {
	i, err := readObject(data, skipSpace(data, 0), 0, fn, inner)
	if err != nil {
		return err
	}
	if i = skipSpace(data, i); i < len(data) {
		return fail(data, i)
	}
	return nil
}

// readObject reads the object at data[i], which has depth arrays and objects
// around it, and calls fn and inner as walkObject does.
func readObject(data []byte, i, depth int, fn, inner func(key []byte, v value)) (int, error) {
	if !at(data, i, '{') || depth >= maxDepth {
		return i, fail(data, i)
	}
	if i = skipSpace(data, i+1); at(data, i, '}') {
		return i + 1, nil
	}
	for {
		k, escaped, j, err := scanKey(data, i)
		if err != nil {
			return j, err
		}
		start := skipSpace(data, j)
		switch {
		case at(data, start, '"'): // the most common value, read directly
			i, _, err = scanString(data, start)
		case inner != nil && at(data, start, '{'):
			i, err = readObject(data, start, depth+1, inner, nil)
		default:
			i, err = skipValue(data, start, depth+1)
		}
		if err != nil {
			return i, err
		}
		if escaped {
			k = unquote(k)
		}
		fn(k, value(data[start:i:i]))
		switch i = skipSpace(data, i); {
		case at(data, i, ','):
			i++
		case at(data, i, '}'):
			return i + 1, nil
		default:
			return i, fail(data, i)
		}
	}
}

// validJSON reports whether data is one JSON value, with optional whitespace
// around it.
func validJSON(data []byte) bool {
	i, err := skipValue(data, 0, 0)
	return err == nil && skipSpace(data, i) == len(data)
}

// scanKey reads an object key, after optional whitespace, and the colon after
// it. It returns the key's contents, with escapes not yet decoded, and
// whether it has any.
func scanKey(data []byte, i int) (key []byte, escaped bool, next int, err error) {
	i = skipSpace(data, i)
	if !at(data, i, '"') {
		return nil, false, i, fail(data, i)
	}
	start := i + 1
	if i, escaped, err = scanString(data, i); err != nil {
		return nil, false, i, err
	}
	key = data[start : i-1]
	if i = skipSpace(data, i); !at(data, i, ':') {
		return nil, false, i, fail(data, i)
	}
	return key, escaped, i + 1, nil
}

// skipValue reads the value at data[i], after optional whitespace, checking
// its syntax but decoding nothing. depth is the number of arrays and objects
// already open around the value. Nested containers are tracked on a small
// stack rather than by recursion, so deep nesting costs no call depth.
func skipValue(data []byte, i, depth int) (int, error) {
	var stack [32]byte
	open := stack[:0] // the arrays and objects opened so far, innermost last: '[' or '{'
	var err error
value:
	for {
		if i = skipSpace(data, i); i >= len(data) {
			return i, fail(data, i)
		}
		switch c := data[i]; c {
		case '{', '[':
			if depth+len(open)+1 > maxDepth {
				return i, fail(data, i)
			}
			i = skipSpace(data, i+1)
			if (c == '{' && at(data, i, '}')) || (c == '[' && at(data, i, ']')) {
				i++ // empty: a complete value
				break
			}
			open = append(open, c)
			if c == '{' {
				if _, _, i, err = scanKey(data, i); err != nil {
					return i, err
				}
			}
			continue value // the first member's value, or the first element
		case '"':
			i, _, err = scanString(data, i)
		case 't':
			i, err = scanLiteral(data, i, "true")
		case 'f':
			i, err = scanLiteral(data, i, "false")
		case 'n':
			i, err = scanLiteral(data, i, "null")
		default:
			i, err = scanNumber(data, i)
		}
		if err != nil {
			return i, err
		}
		// A value is complete: close the containers it ends, or move on to
		// the next member or element.
		for len(open) > 0 {
			i = skipSpace(data, i)
			inner := open[len(open)-1]
			switch {
			case at(data, i, ','):
				if inner == '{' {
					if _, _, i, err = scanKey(data, i+1); err != nil {
						return i, err
					}
				} else {
					i++
				}
				continue value
			case inner == '{' && at(data, i, '}'), inner == '[' && at(data, i, ']'):
				i++
				open = open[:len(open)-1]
			default:
				return i, fail(data, i)
			}
		}
		return i, nil
	}
}

// plain marks the bytes that may appear in a string as they are: all but the
// quote, the backslash and the control characters.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString reads the string literal whose opening quote is at data[i], and
// reports whether it has escapes.
func scanString(data []byte, i int) (next int, escaped bool, err error) {
	i++
	for {
		i += plainRun(data[i:])
		if i >= len(data) {
			return i, false, fail(data, i)
		}
		switch data[i] {
		case '"':
			return i + 1, escaped, nil
		case '\\':
			escaped = true
			if i, err = scanEscape(data, i+1); err != nil {
				return i, false, err
			}
		default: // a control character
			return i, false, fail(data, i)
		}
	}
}

// plainRun returns how many bytes at the start of s may stand in a string as
// they are.
func plainRun(s []byte) int {
	for i, c := range s {
		if !plain[c] {
			return i
		}
	}
	return len(s)
}

// scanEscape reads an escape sequence after its backslash.
func scanEscape(data []byte, i int) (int, error) {
	if i >= len(data) {
		return i, fail(data, i)
	}
	switch data[i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 1, nil
	case 'u':
		for range 4 {
			if i++; i >= len(data) || hexValue(data[i]) < 0 {
				return i, fail(data, i)
			}
		}
		return i + 1, nil
	}
	return i, fail(data, i)
}

// scanLiteral reads word (true, false or null).
func scanLiteral(data []byte, i int, word string) (int, error) {
	for j := range len(word) {
		if !at(data, i, word[j]) {
			return i, fail(data, i)
		}
		i++
	}
	return i, nil
}

// scanNumber reads a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(data []byte, i int) (int, error) {
	if at(data, i, '-') {
		i++
	}
	switch {
	case at(data, i, '0'):
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = skipDigits(data, i)
	default:
		return i, fail(data, i)
	}
	if at(data, i, '.') {
		j := skipDigits(data, i+1)
		if j == i+1 {
			return j, fail(data, j)
		}
		i = j
	}
	if at(data, i, 'e') || at(data, i, 'E') {
		i++
		if at(data, i, '+') || at(data, i, '-') {
			i++
		}
		j := skipDigits(data, i)
		if j == i {
			return j, fail(data, j)
		}
		i = j
	}
	return i, nil
}

func skipDigits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}

func hexValue(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// unquote decodes the escapes in the contents of a string literal that the
// scanner has checked, exactly as encoding/json does: a \u escape of a lone
// UTF-16 surrogate becomes U+FFFD. Without escapes it returns s itself, so
// the common case neither copies nor allocates; callers copy before keeping.
func unquote(s []byte) []byte {
	b, _ := unquoteLone(s)
	return b
}

// unquoteLone is unquote, and reports whether s escapes a lone surrogate
// (which unquote turns into U+FFFD, so that two distinct strings may come
// out equal).
func unquoteLone(s []byte) (_ []byte, lone bool) {
	i := bytes.IndexByte(s, '\\')
	if i < 0 {
		return s, false
	}
	b := make([]byte, i, len(s))
	copy(b, s)
	for i < len(s) {
		if s[i] != '\\' {
			b = append(b, s[i])
			i++
			continue
		}
		e := s[i+1]
		i += 2
		switch e {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(s[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				// Only a high surrogate followed by an escaped low one is a
				// pair; anything else stands for U+FFFD, and whatever follows
				// is read on its own.
				next := rune(-1)
				if len(s) >= i+6 && s[i] == '\\' && s[i+1] == 'u' {
					next = hex4(s[i+2:])
				}
				if pair := utf16.DecodeRune(r, next); pair != utf8.RuneError {
					b = utf8.AppendRune(b, pair)
					i += 6
					continue
				}
				r = utf8.RuneError
				lone = true
			}
			b = utf8.AppendRune(b, r)
		default: // '"', '\\' or '/'
			b = append(b, e)
		}
	}
	return b, lone
}

// hex4 returns the value of the four hex digits at the start of s, which the
// scanner has checked, or -1 when they are not hex digits.
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		v := hexValue(c)
		if v < 0 {
			return -1
		}
		r = r<<4 | v
	}
	return r
}
