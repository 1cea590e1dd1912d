package gateway

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// PostgreSQL's binary formats.

// appendBinary appends the binary format of v.
func appendBinary(buf []byte, oid uint32, v any) ([]byte, error) {
	if elem, ok := elemOf[oid]; ok {
		return appendBinaryArray(buf, elem, v)
	}
	bad := func() ([]byte, error) {
		return nil, fmt.Errorf("cannot send a %T as type %d in binary", v, oid)
	}
	switch oid {
	case oidBool:
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		if b {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case oidInt2, oidInt4, oidInt8, oidOID:
		i, ok := toInt(v)
		if !ok {
			return bad()
		}
		switch oid {
		case oidInt2:
			if i < math.MinInt16 || i > math.MaxInt16 {
				return nil, fmt.Errorf("value %d out of range for smallint", i)
			}
			return binary.BigEndian.AppendUint16(buf, uint16(int16(i))), nil
		case oidInt4, oidOID:
			if i < math.MinInt32 || i > math.MaxInt32 {
				return nil, fmt.Errorf("value %d out of range for integer", i)
			}
			return binary.BigEndian.AppendUint32(buf, uint32(int32(i))), nil
		}
		return binary.BigEndian.AppendUint64(buf, uint64(i)), nil
	case oidFloat4:
		f, ok := toFloat(v)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint32(buf, math.Float32bits(float32(f))), nil
	case oidFloat8:
		f, ok := toFloat(v)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(f)), nil
	case oidNumeric:
		mant, scale, ok := numericParts(v)
		if !ok {
			return bad()
		}
		return appendNumericBinary(buf, mant, scale), nil
	case oidDate:
		t, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint32(buf, uint32(daysSinceEpoch(t))), nil
	case oidTime:
		t, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		t = t.UTC()
		us := int64(t.Hour())*3_600_000_000 + int64(t.Minute())*60_000_000 + int64(t.Second())*1_000_000 + int64(t.Nanosecond()/1000)
		return binary.BigEndian.AppendUint64(buf, uint64(us)), nil
	case oidTimestamp, oidTimestamptz:
		t, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		return binary.BigEndian.AppendUint64(buf, uint64(microsSinceEpoch(t))), nil
	case oidInterval:
		iv, ok := v.(duckdb.Interval)
		if !ok {
			return bad()
		}
		buf = binary.BigEndian.AppendUint64(buf, uint64(iv.Micros))
		buf = binary.BigEndian.AppendUint32(buf, uint32(iv.Days))
		return binary.BigEndian.AppendUint32(buf, uint32(iv.Months)), nil
	case oidUUID:
		if b, ok := v.([]byte); ok && len(b) == 16 {
			return append(buf, b...), nil
		}
		return bad()
	case oidBytea:
		if b, ok := v.([]byte); ok {
			return append(buf, b...), nil
		}
		return appendAnyText(buf, v), nil
	case oidTimetz:
		t, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		_, off := t.Zone()
		us := int64(t.Hour())*3_600_000_000 + int64(t.Minute())*60_000_000 + int64(t.Second())*1_000_000 + int64(t.Nanosecond()/1000)
		buf = binary.BigEndian.AppendUint64(buf, uint64(us))
		return binary.BigEndian.AppendUint32(buf, uint32(int32(-off))), nil
	}
	// text, varchar, json, name, unknown and nested values: the text form.
	return appendAnyText(buf, v), nil
}

func daysSinceEpoch(t time.Time) int32 {
	y, m, d := t.UTC().Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return int32(day.Sub(pgEpoch) / (24 * time.Hour))
}

func microsSinceEpoch(t time.Time) int64 {
	s := t.Unix() - pgEpoch.Unix()
	return s*1_000_000 + int64(t.Nanosecond()/1000)
}

// appendBinaryArray writes a one-dimensional array in binary.
func appendBinaryArray(buf []byte, elem uint32, v any) ([]byte, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("cannot send a %T as an array", v)
	}
	hasNull := int32(0)
	for _, e := range list {
		if e == nil {
			hasNull = 1
		}
	}
	if len(list) == 0 {
		buf = binary.BigEndian.AppendUint32(buf, 0)
		buf = binary.BigEndian.AppendUint32(buf, 0)
		return binary.BigEndian.AppendUint32(buf, elem), nil
	}
	buf = binary.BigEndian.AppendUint32(buf, 1)
	buf = binary.BigEndian.AppendUint32(buf, uint32(hasNull))
	buf = binary.BigEndian.AppendUint32(buf, elem)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(list)))
	buf = binary.BigEndian.AppendUint32(buf, 1) // lower bound
	for _, e := range list {
		if e == nil {
			buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32) // -1
			continue
		}
		at := len(buf)
		buf = append(buf, 0, 0, 0, 0)
		var err error
		if buf, err = appendBinary(buf, elem, e); err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
	}
	return buf, nil
}

// appendNumericBinary writes PostgreSQL's numeric: base-10000 digits with
// a weight, a sign and the display scale.
func appendNumericBinary(buf []byte, mant *big.Int, scale int) []byte {
	digits := new(big.Int).Abs(mant).String()
	if mant.Sign() == 0 {
		buf = binary.BigEndian.AppendUint16(buf, 0)
		buf = binary.BigEndian.AppendUint16(buf, 0)
		buf = binary.BigEndian.AppendUint16(buf, 0)
		return binary.BigEndian.AppendUint16(buf, uint16(scale))
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	intPart, frac := digits[:len(digits)-scale], digits[len(digits)-scale:]
	if pad := (4 - len(intPart)%4) % 4; pad > 0 {
		intPart = strings.Repeat("0", pad) + intPart
	}
	if pad := (4 - len(frac)%4) % 4; pad > 0 {
		frac += strings.Repeat("0", pad)
	}
	all := intPart + frac
	groups := make([]uint16, 0, len(all)/4)
	for i := 0; i < len(all); i += 4 {
		g, _ := strconv.Atoi(all[i : i+4])
		groups = append(groups, uint16(g))
	}
	weight := len(intPart)/4 - 1
	for len(groups) > 0 && groups[0] == 0 { // leading zero groups
		groups = groups[1:]
		weight--
	}
	for len(groups) > 0 && groups[len(groups)-1] == 0 { // trailing zero groups
		groups = groups[:len(groups)-1]
	}
	sign := uint16(0)
	if mant.Sign() < 0 {
		sign = 0x4000
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(groups)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(scale))
	for _, g := range groups {
		buf = binary.BigEndian.AppendUint16(buf, g)
	}
	return buf
}
