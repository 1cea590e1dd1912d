package gateway

import (
	"fmt"
	"math/big"
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
