package gateway

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgtype"
)

// Decoding of Bind parameters into values duckdb-go binds. The type of a
// parameter is the one the client declared in Parse, else the one DuckDB
// inferred (sent back in ParameterDescription); pgx encodes each argument
// for that type, so the types must be real (declaring every parameter as
// text breaks pgx).

// paramTypes is the pgtype map used to decode parameters; pgtype.Map is not
// safe for concurrent use, so each session has its own.
func newTypeMap() *pgtype.Map { return pgtype.NewMap() }

// decodeParam decodes one parameter. A nil src is SQL NULL.
func decodeParam(m *pgtype.Map, oid uint32, format int16, src []byte) (any, error) {
	if src == nil {
		return nil, nil
	}
	if format == textFormat {
		switch oid {
		case oidText, oidVarchar, oidUnknown, 0, oidJSON, oidJSONB, oidName, oidBPChar:
			return string(src), nil
		}
	}
	scan := func(dst any) error {
		if err := m.Scan(oid, format, src, dst); err != nil {
			return fmt.Errorf("reading a parameter of type %s: %w", typeLabel(oid), err)
		}
		return nil
	}
	switch oid {
	case oidBool:
		var v bool
		return v, scan(&v)
	case oidInt2:
		var v int16
		return v, scan(&v)
	case oidInt4, oidOID:
		var v int32
		return v, scan(&v)
	case oidInt8:
		var v int64
		return v, scan(&v)
	case oidFloat4:
		var v float32
		return v, scan(&v)
	case oidFloat8:
		var v float64
		return v, scan(&v)
	case oidNumeric:
		var n pgtype.Numeric
		if err := scan(&n); err != nil {
			return nil, err
		}
		return numericArg(n)
	case oidDate, oidTimestamp, oidTimestamptz:
		if format == textFormat {
			return parseDateTime(string(src), oid)
		}
		var t pgtype.Timestamptz
		switch oid {
		case oidDate:
			var d pgtype.Date
			if err := scan(&d); err != nil {
				return nil, err
			}
			if d.InfinityModifier != pgtype.Finite {
				return nil, fmt.Errorf("infinite dates are not supported as parameters")
			}
			return d.Time, nil
		case oidTimestamp:
			var ts pgtype.Timestamp
			if err := scan(&ts); err != nil {
				return nil, err
			}
			t = pgtype.Timestamptz{Time: ts.Time, InfinityModifier: ts.InfinityModifier, Valid: ts.Valid}
		default:
			if err := scan(&t); err != nil {
				return nil, err
			}
		}
		if t.InfinityModifier != pgtype.Finite {
			return nil, fmt.Errorf("infinite timestamps are not supported as parameters")
		}
		return t.Time.UTC(), nil
	case oidTime:
		var t pgtype.Time
		if err := scan(&t); err != nil {
			return nil, err
		}
		return time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(t.Microseconds) * time.Microsecond), nil
	case oidInterval:
		var iv pgtype.Interval
		if err := scan(&iv); err != nil {
			return nil, err
		}
		return duckdb.Interval{Months: iv.Months, Days: iv.Days, Micros: iv.Microseconds}, nil
	case oidUUID:
		var u pgtype.UUID
		if err := scan(&u); err != nil {
			return nil, err
		}
		return string(appendUUID(nil, u.Bytes[:])), nil
	case oidBytea:
		var b []byte
		if err := scan(&b); err != nil {
			return nil, err
		}
		return b, nil
	}
	if elem, ok := elemOf[oid]; ok {
		return decodeArray(m, oid, elem, format, src)
	}
	if format == textFormat {
		return string(src), nil
	}
	var s string
	if err := scan(&s); err != nil {
		return nil, fmt.Errorf("parameters of type %s must be sent in text format", typeLabel(oid))
	}
	return s, nil
}

func decodeArray(m *pgtype.Map, oid, elem uint32, format int16, src []byte) (any, error) {
	scan := func(dst any) error {
		if err := m.Scan(oid, format, src, dst); err != nil {
			return fmt.Errorf("reading an array parameter of type %s: %w", typeLabel(oid), err)
		}
		return nil
	}
	switch elem {
	case oidBool:
		var v []bool
		return v, scan(&v)
	case oidInt2, oidInt4, oidInt8:
		var v []int64
		return v, scan(&v)
	case oidFloat4, oidFloat8:
		var v []float64
		return v, scan(&v)
	case oidTimestamptz, oidTimestamp, oidDate:
		var v []time.Time
		return v, scan(&v)
	}
	var v []string
	return v, scan(&v)
}

// numericArg turns a numeric parameter into something DuckDB binds without
// losing digits: an integer when it is one, else a decimal string that
// DuckDB casts to the parameter's DECIMAL or DOUBLE type.
func numericArg(n pgtype.Numeric) (any, error) {
	if !n.Valid {
		return nil, nil
	}
	if n.NaN || n.InfinityModifier != pgtype.Finite {
		f, err := n.Float64Value()
		if err != nil {
			return nil, err
		}
		return f.Float64, nil
	}
	if n.Exp >= 0 {
		v := new(big.Int).Mul(n.Int, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n.Exp)), nil))
		if v.IsInt64() {
			return v.Int64(), nil
		}
		return v.String(), nil
	}
	return decimalString(n.Int, int(-n.Exp)), nil
}

// typeLabel names a type OID for error messages.
func typeLabel(oid uint32) string {
	names := map[uint32]string{oidBool: "boolean", oidInt2: "smallint", oidInt4: "integer", oidInt8: "bigint",
		oidFloat4: "real", oidFloat8: "double precision", oidNumeric: "numeric", oidText: "text", oidVarchar: "varchar",
		oidDate: "date", oidTime: "time", oidTimestamp: "timestamp", oidTimestamptz: "timestamptz",
		oidInterval: "interval", oidUUID: "uuid", oidBytea: "bytea", oidJSON: "json"}
	if n, ok := names[oid]; ok {
		return n
	}
	return strings.TrimSpace(fmt.Sprintf("oid %d", oid))
}

// dateTimeInput is the subset of PostgreSQL's date/time input syntax
// clients send as text parameters: an ISO date, optionally a time (after a
// space or a T) with fractional seconds, optionally a zone (Z, +hh,
// +hhmm, +hh:mm, +hh:mm:ss). JDBC's setDate sends "2026-11-01 +00",
// setTimestamp "2026-11-10 00:00:00+00", node-pg a Date as
// "2026-11-20T00:00:00.000+00:00".
var dateTimeInput = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})` +
	`(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?` +
	`\s*(Z|z|[+-]\d{1,2}(?::?\d{2}){0,2})?$`)

// parseDateTime reads a text date, timestamp or timestamptz parameter as
// PostgreSQL's input functions do: a date ignores a time and zone; a
// timestamp (without time zone) ignores the zone; a timestamptz without a
// zone is in the session's time zone, UTC.
func parseDateTime(s string, oid uint32) (time.Time, error) {
	m := dateTimeInput.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return time.Time{}, fmt.Errorf("invalid input syntax for type %s: %q", typeLabel(oid), s)
	}
	num := func(i int) int {
		n, _ := strconv.Atoi(m[i]) // the pattern admits digits only; empty is 0
		return n
	}
	nanos := 0
	if f := m[7]; f != "" {
		nanos, _ = strconv.Atoi((f + "000000000")[:9])
	}
	y, mo, d, h, mi, sec := num(1), num(2), num(3), num(4), num(5), num(6)
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi > 0 || sec > 0 || nanos > 0)) {
		return time.Time{}, fmt.Errorf("date/time field value out of range for type %s: %q", typeLabel(oid), s)
	}
	if oid == oidDate {
		t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
		if t.Day() != d {
			return time.Time{}, fmt.Errorf("date/time field value out of range for type date: %q", s)
		}
		return t, nil
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" && z != "z" && oid == oidTimestamptz {
		digits := strings.ReplaceAll(z[1:], ":", "")
		if len(digits)%2 == 1 {
			digits = "0" + digits
		}
		secs := 0
		for i, mul := 0, 3600; i+2 <= len(digits); i, mul = i+2, mul/60 {
			n, _ := strconv.Atoi(digits[i : i+2])
			secs += n * mul
		}
		if secs > 15*3600+59*60+59 {
			return time.Time{}, fmt.Errorf("time zone displacement out of range: %q", s)
		}
		if z[0] == '-' {
			secs = -secs
		}
		loc = time.FixedZone("", secs)
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, nanos, loc)
	if t.Day() != d && h != 24 {
		return time.Time{}, fmt.Errorf("date/time field value out of range for type %s: %q", typeLabel(oid), s)
	}
	return t.UTC(), nil
}

// declaredCasts are the DuckDB types of parameter types a client may
// declare in Parse. A declared parameter is cast to its type in the query
// text, so that DuckDB types the expressions around it as PostgreSQL would
// ("select $1 * 2 as x" with a numeric $1 is a numeric named x; left
// untyped, DuckDB cannot bind it and names its result "unknown"). Text
// types are not cast: DuckDB does not compare a VARCHAR with a DATE
// without an explicit cast, and PostgreSQL clients declare text for
// strings they expect the server to coerce. numeric becomes
// DECIMAL(38,10), DuckDB's widest with room for fractions: a parameter
// with more than 10 fractional digits is rounded there.
var declaredCasts = map[uint32]string{
	oidBool: "BOOLEAN", oidInt2: "SMALLINT", oidInt4: "INTEGER", oidInt8: "BIGINT",
	oidFloat4: "FLOAT", oidFloat8: "DOUBLE", oidNumeric: "DECIMAL(38,10)",
	oidDate: "DATE", oidTime: "TIME", oidTimestamp: "TIMESTAMP", oidTimestamptz: "TIMESTAMPTZ",
	oidInterval: "INTERVAL", oidUUID: "UUID", oidBytea: "BLOB",
	// Arrays: "c = any($1)" with a list (psycopg, createArrayOf) needs
	// DuckDB to know $1 is a LIST.
	arrayOf[oidBool]: "BOOLEAN[]", arrayOf[oidInt2]: "SMALLINT[]", arrayOf[oidInt4]: "INTEGER[]",
	arrayOf[oidInt8]: "BIGINT[]", arrayOf[oidFloat4]: "FLOAT[]", arrayOf[oidFloat8]: "DOUBLE[]",
	arrayOf[oidText]: "VARCHAR[]", arrayOf[oidVarchar]: "VARCHAR[]", arrayOf[oidDate]: "DATE[]",
	arrayOf[oidTimestamp]: "TIMESTAMP[]", arrayOf[oidTimestamptz]: "TIMESTAMPTZ[]",
}

// listParamTypes returns the parameter types the statement is prepared
// with: the ones the client declared, except that an undeclared parameter
// (no type, or unknown) that is the whole operand of ANY, ALL or SOME is a
// text array. PostgreSQL resolves such a parameter from the comparison
// around it; psycopg 3 and node-pg send lists that way, as the text form
// '{"email","sms"}' with no type. DuckDB cannot bind ANY over a parameter
// of unknown type ("UNNEST not supported here"), so the gateway declares
// it: the value is decoded as a text array and cast to VARCHAR[]. A list
// compared with a non-text column then fails with DuckDB's "explicit cast
// is required" (an error, never a wrong answer); "$1::int[]" says the type.
// maxParams is the protocol's bound on a statement's parameters (Bind
// counts them in 16 bits).
const maxParams = 65535

func listParamTypes(query string, declared []uint32) []uint32 {
	toks := lex(query)
	var types []uint32
	for i := 0; i+3 < len(toks); i++ {
		switch toks[i].upper() {
		case "ANY", "ALL", "SOME":
		default:
			continue
		}
		if toks[i+1].text != "(" || toks[i+2].kind != tParam || toks[i+3].text != ")" {
			continue
		}
		n, err := strconv.Atoi(toks[i+2].text[1:])
		if err != nil || n < 1 || n > maxParams {
			continue
		}
		if n <= len(declared) && declared[n-1] != 0 && declared[n-1] != oidUnknown {
			continue
		}
		if types == nil {
			types = append([]uint32(nil), declared...)
		}
		for len(types) < n {
			types = append(types, 0)
		}
		types[n-1] = arrayOf[oidText]
	}
	if types == nil {
		return declared
	}
	return types
}

// castDeclaredParams rewrites each $n whose type the client declared (and
// declaredCasts knows) into CAST($n AS type). It runs before the sandbox
// checks the query, so the check sees the text that runs; it only adds
// casts to fixed type names around parameters.
func castDeclaredParams(query string, declared []uint32) string {
	if len(declared) == 0 {
		return query
	}
	var b strings.Builder
	last := 0
	for _, t := range lex(query) {
		if t.kind != tParam {
			continue
		}
		n, err := strconv.Atoi(t.text[1:])
		if err != nil || n < 1 || n > len(declared) {
			continue
		}
		typ, ok := declaredCasts[declared[n-1]]
		if !ok {
			continue
		}
		b.WriteString(query[last:t.start])
		b.WriteString("CAST(" + t.text + " AS " + typ + ")")
		last = t.end
	}
	if last == 0 {
		return query
	}
	b.WriteString(query[last:])
	return b.String()
}
