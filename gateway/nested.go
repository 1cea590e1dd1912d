package gateway

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Nested values in DuckDB's order. duckdb-go returns a STRUCT as a Go
// map, which has no order, and a MAP as an OrderedMap. The text the
// client receives is JSON with the keys in DuckDB's order: a STRUCT's
// fields as its type declares them (date_part(['year', 'month'], ...)
// gives year, then month), a MAP's entries as DuckDB holds them
// (histogram's bins 5, 10, 15, ...). The STRUCT field order comes from
// the column's type name (typeShape), and orderNested turns each STRUCT
// value into an OrderedMap in that order before it is encoded.

// typeShape is what of a column type's structure orders its values: the
// fields of a STRUCT, the element of a LIST or ARRAY, the value of a MAP.
// A nil shape has nothing to order.
type typeShape struct {
	fields []string     // STRUCT field names, in order
	shapes []*typeShape // STRUCT field shapes
	elem   *typeShape   // LIST or ARRAY element; MAP value
	isList bool
	isMap  bool
}

// parseTypeShape reads a DuckDB type name ("STRUCT(\"year\" BIGINT,
// month BIGINT)[]", "MAP(INTEGER, STRUCT(a INTEGER))"); nil when the type
// holds no STRUCT, or when the name cannot be read (values are then sent
// with their keys sorted, as before).
func parseTypeShape(name string) *typeShape {
	p := &typeParser{s: name}
	sh, ok := p.parse()
	if !ok || p.i != len(p.s) || !sh.hasStruct() {
		return nil
	}
	return sh
}

func (t *typeShape) hasStruct() bool {
	if t == nil {
		return false
	}
	if t.fields != nil {
		return true
	}
	return t.elem.hasStruct()
}

type typeParser struct {
	s string
	i int
}

func (p *typeParser) skipSpace() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

// ident reads a bare or double-quoted identifier.
func (p *typeParser) ident() (string, bool) {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '"' {
		var b strings.Builder
		for p.i++; p.i < len(p.s); p.i++ {
			if p.s[p.i] == '"' {
				if p.i+1 < len(p.s) && p.s[p.i+1] == '"' {
					b.WriteByte('"')
					p.i++
					continue
				}
				p.i++
				return b.String(), true
			}
			b.WriteByte(p.s[p.i])
		}
		return "", false
	}
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(" (),[]", rune(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i], p.i > start
}

func (p *typeParser) expect(c byte) bool {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *typeParser) parse() (*typeShape, bool) {
	name, ok := p.ident()
	if !ok {
		return nil, false
	}
	var sh *typeShape
	switch strings.ToUpper(name) {
	case "STRUCT":
		if !p.expect('(') {
			return nil, false
		}
		sh = &typeShape{fields: []string{}}
		for {
			f, ok := p.ident()
			if !ok {
				return nil, false
			}
			fs, ok := p.parse()
			if !ok {
				return nil, false
			}
			sh.fields, sh.shapes = append(sh.fields, f), append(sh.shapes, fs)
			if p.expect(')') {
				break
			}
			if !p.expect(',') {
				return nil, false
			}
		}
	case "MAP":
		if !p.expect('(') {
			return nil, false
		}
		if _, ok := p.parse(); !ok || !p.expect(',') {
			return nil, false
		}
		val, ok := p.parse()
		if !ok || !p.expect(')') {
			return nil, false
		}
		sh = &typeShape{isMap: true, elem: val}
	default:
		// Arguments of other types (DECIMAL(18,3), UNION(...), ENUM(...)):
		// skipped, quotes and parentheses balanced.
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == '(' {
			depth := 0
			for ; p.i < len(p.s); p.i++ {
				switch p.s[p.i] {
				case '(':
					depth++
				case ')':
					depth--
				case '\'', '"':
					q := p.s[p.i]
					for p.i++; p.i < len(p.s) && p.s[p.i] != q; p.i++ {
					}
				}
				if depth == 0 {
					p.i++
					break
				}
			}
			if depth != 0 {
				return nil, false
			}
		}
	}
	for {
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != '[' {
			return sh, true
		}
		end := strings.IndexByte(p.s[p.i:], ']')
		if end < 0 {
			return nil, false
		}
		p.i += end + 1
		sh = &typeShape{isList: true, elem: sh}
	}
}

// orderedObject is a STRUCT value with its fields in DuckDB's order.
type orderedObject struct {
	keys []string
	vals []any
}

// orderNested returns v with every STRUCT value (a Go map) as an
// orderedObject in the order of its shape's fields.
func orderNested(v any, sh *typeShape) any {
	if sh == nil || v == nil {
		return v
	}
	switch {
	case sh.fields != nil:
		m, ok := v.(map[string]any)
		if !ok || len(m) != len(sh.fields) {
			return v
		}
		out := orderedObject{keys: sh.fields, vals: make([]any, len(sh.fields))}
		for i, f := range sh.fields {
			e, ok := m[f]
			if !ok {
				return v
			}
			out.vals[i] = orderNested(e, sh.shapes[i])
		}
		return out
	case sh.isList:
		list, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = orderNested(e, sh.elem)
		}
		return out
	case sh.isMap:
		om, ok := v.(duckdb.OrderedMap)
		if !ok {
			return v
		}
		out := duckdb.OrderedMap{}
		keys, vals := om.Keys(), om.Values()
		for i := range keys {
			out.Set(keys[i], orderNested(vals[i], sh.elem))
		}
		return out
	}
	return v
}

// appendJSON writes a nested value as JSON: OrderedMaps in their order,
// Go maps (a STRUCT without a known shape, a duckdb.Map) with sorted keys,
// scalars as jsonable makes them.
func appendJSON(buf []byte, v any) ([]byte, error) {
	object := func(keys []string, vals []any) ([]byte, error) {
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			kb, _ := json.Marshal(k)
			buf = append(append(buf, kb...), ':')
			var err error
			if buf, err = appendJSON(buf, vals[i]); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	}
	switch x := v.(type) {
	case []any:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendJSON(buf, e); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case orderedObject:
		return object(x.keys, x.vals)
	case duckdb.OrderedMap:
		keys, vals := x.Keys(), x.Values()
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = fmt.Sprint(k)
		}
		return object(names, vals)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		vals := make([]any, len(keys))
		for i, k := range keys {
			vals[i] = x[k]
		}
		return object(keys, vals)
	case duckdb.Map:
		keys := make([]string, 0, len(x))
		byName := map[string]any{}
		for k, e := range x {
			n := fmt.Sprint(k)
			keys = append(keys, n)
			byName[n] = e
		}
		sort.Strings(keys)
		vals := make([]any, len(keys))
		for i, k := range keys {
			vals[i] = byName[k]
		}
		return object(keys, vals)
	case duckdb.Union:
		return object([]string{x.Tag}, []any{x.Value})
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}
