package gateway

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Encoding of DuckDB values (as duckdb-go returns them) in PostgreSQL's
// text and binary formats. Clients choose the format per column in Bind
// (pgx asks for binary for the types it knows); the simple protocol is
// always text.

const (
	textFormat   int16 = 0
	binaryFormat int16 = 1
)

// pgEpoch is PostgreSQL's epoch for dates and timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const usPerDay = 86_400_000_000

// appendValue appends v encoded as oid in format to buf. v is never nil
// (NULLs are written by the caller).
func appendValue(buf []byte, oid uint32, format int16, v any) ([]byte, error) {
	if format == binaryFormat {
		return appendBinary(buf, oid, v)
	}
	return appendText(buf, oid, v)
}

// appendText appends the text format of v.
func appendText(buf []byte, oid uint32, v any) ([]byte, error) {
	if elem, ok := elemOf[oid]; ok {
		return appendTextArray(buf, elem, v)
	}
	switch oid {
	case oidBool:
		if b, ok := v.(bool); ok {
			if b {
				return append(buf, 't'), nil
			}
			return append(buf, 'f'), nil
		}
	case oidFloat4, oidFloat8:
		if f, ok := toFloat(v); ok {
			bits := 64
			if oid == oidFloat4 {
				bits = 32
			}
			return appendFloatText(buf, f, bits), nil
		}
	case oidNumeric:
		return appendNumericText(buf, v)
	case oidDate:
		if t, ok := v.(time.Time); ok {
			return t.UTC().AppendFormat(buf, "2006-01-02"), nil
		}
	case oidTime:
		if t, ok := v.(time.Time); ok {
			return t.UTC().AppendFormat(buf, "15:04:05.999999"), nil
		}
	case oidTimetz:
		if t, ok := v.(time.Time); ok {
			return t.AppendFormat(buf, "15:04:05.999999-07"), nil
		}
	case oidTimestamp:
		if t, ok := v.(time.Time); ok {
			return t.UTC().AppendFormat(buf, "2006-01-02 15:04:05.999999"), nil
		}
	case oidTimestamptz:
		if t, ok := v.(time.Time); ok {
			return t.UTC().AppendFormat(buf, "2006-01-02 15:04:05.999999-07"), nil
		}
	case oidInterval:
		if iv, ok := v.(duckdb.Interval); ok {
			return appendIntervalText(buf, iv), nil
		}
	case oidBytea:
		if b, ok := v.([]byte); ok {
			buf = append(buf, `\x`...)
			return hex.AppendEncode(buf, b), nil
		}
	case oidUUID:
		if b, ok := v.([]byte); ok && len(b) == 16 {
			return appendUUID(buf, b), nil
		}
	}
	return appendAnyText(buf, v), nil
}

// appendAnyText is the text of any value, used for text columns and as the
// fallback: strings as they are, nested values as JSON.
func appendAnyText(buf []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return append(buf, x...)
	case []byte:
		return append(buf, x...)
	case bool:
		return strconv.AppendBool(buf, x)
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		i, _ := toInt(v)
		if u, ok := v.(uint64); ok {
			return strconv.AppendUint(buf, u, 10)
		}
		return strconv.AppendInt(buf, i, 10)
	case float32:
		return appendFloatText(buf, float64(x), 32)
	case float64:
		return appendFloatText(buf, x, 64)
	case *big.Int:
		return x.Append(buf, 10)
	case duckdb.Decimal:
		b, _ := appendNumericText(buf, x)
		return b
	case time.Time:
		return x.UTC().AppendFormat(buf, "2006-01-02 15:04:05.999999-07")
	case duckdb.Interval:
		return appendIntervalText(buf, x)
	case []any, map[string]any, duckdb.OrderedMap, duckdb.Map, duckdb.Union, orderedObject:
		b, err := appendJSON(buf, x) // keys in DuckDB's order (nested.go)
		if err != nil {
			return fmt.Appendf(buf, "%v", x)
		}
		return b
	}
	return fmt.Appendf(buf, "%v", v)
}

// jsonable makes nested DuckDB values marshalable (maps with non-string keys).
func jsonable(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case duckdb.Map:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case duckdb.OrderedMap:
		out := make(map[string]any, x.Len())
		keys, vals := x.Keys(), x.Values()
		for i := range keys {
			out[fmt.Sprint(keys[i])] = jsonable(vals[i])
		}
		return out
	case duckdb.Union:
		return map[string]any{x.Tag: jsonable(x.Value)}
	case []byte:
		return string(x)
	case *big.Int:
		return json.Number(x.String())
	case duckdb.Decimal:
		b, _ := appendNumericText(nil, x)
		return json.Number(b)
	case duckdb.Interval:
		return string(appendIntervalText(nil, x))
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return string(appendFloatText(nil, x, 64))
		}
	}
	return v
}

func appendFloatText(buf []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(f, -1):
		return append(buf, "-Infinity"...)
	}
	// PostgreSQL prints the shortest exact digits, in positional notation
	// unless the exponent is below -4 or at least 15 (6 for real).
	e := strconv.AppendFloat(nil, f, 'e', -1, bits)
	exp, _ := strconv.Atoi(string(e[strings.IndexByte(string(e), 'e')+1:]))
	limit := 15
	if bits == 32 {
		limit = 6
	}
	if exp < -4 || exp >= limit {
		return append(buf, e...)
	}
	return strconv.AppendFloat(buf, f, 'f', -1, bits)
}

// appendIntervalText writes PostgreSQL's "postgres" interval style:
// "1 year 2 mons 3 days 04:05:06.7".
func appendIntervalText(buf []byte, iv duckdb.Interval) []byte {
	start := len(buf)
	sep := func() {
		if len(buf) > start {
			buf = append(buf, ' ')
		}
	}
	years, months := iv.Months/12, iv.Months%12
	plural := func(n int64, one, many string) {
		sep()
		buf = strconv.AppendInt(buf, n, 10)
		if n == 1 {
			buf = append(buf, one...)
		} else {
			buf = append(buf, many...)
		}
	}
	if years != 0 {
		plural(int64(years), " year", " years")
	}
	if months != 0 {
		plural(int64(months), " mon", " mons")
	}
	if iv.Days != 0 {
		plural(int64(iv.Days), " day", " days")
	}
	if iv.Micros != 0 || len(buf) == start {
		sep()
		us := iv.Micros
		if us < 0 {
			buf = append(buf, '-')
			us = -us
		}
		h, m, s, frac := us/3_600_000_000, us/60_000_000%60, us/1_000_000%60, us%1_000_000
		buf = fmt.Appendf(buf, "%02d:%02d:%02d", h, m, s)
		if frac != 0 {
			buf = append(buf, strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")...)
		}
	}
	return buf
}

func appendUUID(buf []byte, b []byte) []byte {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:16])
	return append(buf, s[:]...)
}

// appendTextArray writes a one-dimensional array literal: {a,"b c",NULL}.
func appendTextArray(buf []byte, elem uint32, v any) ([]byte, error) {
	list, ok := v.([]any)
	if !ok {
		return appendAnyText(buf, v), nil
	}
	buf = append(buf, '{')
	for i, e := range list {
		if i > 0 {
			buf = append(buf, ',')
		}
		if e == nil {
			buf = append(buf, "NULL"...)
			continue
		}
		s, err := appendText(nil, elem, e)
		if err != nil {
			return nil, err
		}
		if needsQuotes(s) {
			buf = append(buf, '"')
			for _, c := range s {
				if c == '"' || c == '\\' {
					buf = append(buf, '\\')
				}
				buf = append(buf, c)
			}
			buf = append(buf, '"')
		} else {
			buf = append(buf, s...)
		}
	}
	return append(buf, '}'), nil
}

func needsQuotes(s []byte) bool {
	if len(s) == 0 || strings.EqualFold(string(s), "NULL") {
		return true
	}
	for _, c := range s {
		switch c {
		case '{', '}', ',', '"', '\\', ' ', '\t', '\n', '\r', '\v', '\f':
			return true
		}
	}
	return false
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case uint:
		return int64(x), true
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), true
		}
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case duckdb.Decimal:
		f, _ := new(big.Float).SetInt(x.Value).Float64()
		return f / math.Pow10(int(x.Scale)), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	}
	if i, ok := toInt(v); ok {
		return float64(i), true
	}
	return 0, false
}

// numericParts returns v as mantissa × 10^-scale.
func numericParts(v any) (*big.Int, int, bool) {
	switch x := v.(type) {
	case *big.Int:
		return x, 0, true
	case duckdb.Decimal:
		return x.Value, int(x.Scale), true
	case uint64:
		return new(big.Int).SetUint64(x), 0, true
	case float64, float32:
		f, _ := toFloat(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, 0, false
		}
		s := strconv.FormatFloat(f, 'f', -1, 64)
		return parseDecimal(s)
	}
	if i, ok := toInt(v); ok {
		return big.NewInt(i), 0, true
	}
	return nil, 0, false
}

func parseDecimal(s string) (*big.Int, int, bool) {
	intPart, frac, _ := strings.Cut(s, ".")
	m, ok := new(big.Int).SetString(intPart+frac, 10)
	return m, len(frac), ok
}

func appendNumericText(buf []byte, v any) ([]byte, error) {
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return appendFloatText(buf, f, 64), nil
	}
	mant, scale, ok := numericParts(v)
	if !ok {
		return appendAnyText(buf, v), nil
	}
	return append(buf, decimalString(mant, scale)...), nil
}

// decimalString formats mant × 10^-scale.
func decimalString(mant *big.Int, scale int) string {
	s := new(big.Int).Abs(mant).String()
	neg := mant.Sign() < 0
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
