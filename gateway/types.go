package gateway

import (
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// PostgreSQL type OIDs the gateway sends and accepts.
const (
	oidBool        uint32 = 16
	oidBytea       uint32 = 17
	oidName        uint32 = 19
	oidInt8        uint32 = 20
	oidInt2        uint32 = 21
	oidInt4        uint32 = 23
	oidText        uint32 = 25
	oidOID         uint32 = 26
	oidJSON        uint32 = 114
	oidFloat4      uint32 = 700
	oidFloat8      uint32 = 701
	oidUnknown     uint32 = 705
	oidBPChar      uint32 = 1042
	oidVarchar     uint32 = 1043
	oidDate        uint32 = 1082
	oidTime        uint32 = 1083
	oidTimestamp   uint32 = 1114
	oidTimestamptz uint32 = 1184
	oidInterval    uint32 = 1186
	oidTimetz      uint32 = 1266
	oidNumeric     uint32 = 1700
	oidUUID        uint32 = 2950
	oidJSONB       uint32 = 3802
)

// arrayOf maps an element type to its array type.
var arrayOf = map[uint32]uint32{
	oidBool: 1000, oidBytea: 1001, oidInt2: 1005, oidInt4: 1007, oidText: 1009, oidVarchar: 1015,
	oidInt8: 1016, oidFloat4: 1021, oidFloat8: 1022, oidTimestamp: 1115, oidDate: 1182, oidTime: 1183,
	oidTimestamptz: 1185, oidInterval: 1187, oidNumeric: 1231, oidUUID: 2951, oidJSON: 199,
}

// elemOf maps an array type to its element type.
var elemOf = func() map[uint32]uint32 {
	m := map[uint32]uint32{}
	for e, a := range arrayOf {
		m[a] = e
	}
	return m
}()

// typeSize is the typlen PostgreSQL reports in RowDescription (-1: variable).
func typeSize(oid uint32) int16 {
	switch oid {
	case oidBool:
		return 1
	case oidInt2:
		return 2
	case oidInt4, oidFloat4, oidDate, oidOID:
		return 4
	case oidInt8, oidFloat8, oidTime, oidTimestamp, oidTimestamptz:
		return 8
	case oidInterval, oidUUID:
		return 16
	case oidTimetz:
		return 12
	}
	return -1
}

// scalarOIDs maps DuckDB type names (as duckdb-go's DatabaseTypeName
// spells them) to PostgreSQL types. Unsigned types widen to the next
// signed type; HUGEINT and UBIGINT become numeric; ENUM, BIT, JSON and
// nested types without an array equivalent are sent as text.
var scalarOIDs = map[string]uint32{
	"BOOLEAN": oidBool, "TINYINT": oidInt2, "SMALLINT": oidInt2, "INTEGER": oidInt4, "BIGINT": oidInt8,
	"UTINYINT": oidInt2, "USMALLINT": oidInt4, "UINTEGER": oidInt8, "UBIGINT": oidNumeric,
	"HUGEINT": oidNumeric, "UHUGEINT": oidNumeric, "BIGNUM": oidNumeric, "DECIMAL": oidNumeric,
	"FLOAT": oidFloat4, "DOUBLE": oidFloat8,
	"DATE": oidDate, "TIME": oidTime, "TIMETZ": oidTimetz, "TIMESTAMP": oidTimestamp, "TIMESTAMP_S": oidTimestamp,
	"TIMESTAMP_MS": oidTimestamp, "TIMESTAMP_NS": oidTimestamp, "TIMESTAMPTZ": oidTimestamptz,
	"INTERVAL": oidInterval, "VARCHAR": oidText, "BLOB": oidBytea, "UUID": oidUUID,
	"ENUM": oidText, "BIT": oidText, "JSON": oidText, "SQLNULL": oidText, "GEOMETRY": oidBytea, "VARIANT": oidText,
}

// typeNames maps duckdb-go's type codes to the names above.
var typeNames = map[duckdb.Type]string{
	duckdb.TYPE_BOOLEAN: "BOOLEAN", duckdb.TYPE_TINYINT: "TINYINT", duckdb.TYPE_SMALLINT: "SMALLINT",
	duckdb.TYPE_INTEGER: "INTEGER", duckdb.TYPE_BIGINT: "BIGINT", duckdb.TYPE_UTINYINT: "UTINYINT",
	duckdb.TYPE_USMALLINT: "USMALLINT", duckdb.TYPE_UINTEGER: "UINTEGER", duckdb.TYPE_UBIGINT: "UBIGINT",
	duckdb.TYPE_FLOAT: "FLOAT", duckdb.TYPE_DOUBLE: "DOUBLE", duckdb.TYPE_TIMESTAMP: "TIMESTAMP",
	duckdb.TYPE_DATE: "DATE", duckdb.TYPE_TIME: "TIME", duckdb.TYPE_INTERVAL: "INTERVAL",
	duckdb.TYPE_HUGEINT: "HUGEINT", duckdb.TYPE_UHUGEINT: "UHUGEINT", duckdb.TYPE_VARCHAR: "VARCHAR",
	duckdb.TYPE_BLOB: "BLOB", duckdb.TYPE_DECIMAL: "DECIMAL", duckdb.TYPE_TIMESTAMP_S: "TIMESTAMP_S",
	duckdb.TYPE_TIMESTAMP_MS: "TIMESTAMP_MS", duckdb.TYPE_TIMESTAMP_NS: "TIMESTAMP_NS", duckdb.TYPE_ENUM: "ENUM",
	duckdb.TYPE_UUID: "UUID", duckdb.TYPE_BIT: "BIT", duckdb.TYPE_TIME_TZ: "TIMETZ",
	duckdb.TYPE_TIMESTAMP_TZ: "TIMESTAMPTZ", duckdb.TYPE_BIGNUM: "BIGNUM", duckdb.TYPE_SQLNULL: "SQLNULL",
}

// oidOfName maps a DuckDB type name, as duckdb-go's DatabaseTypeName
// returns it ("BIGINT", "DECIMAL(18,3)", "VARCHAR[]", "STRUCT(a INTEGER)"), to a type OID.
func oidOfName(name string) uint32 {
	switch {
	case strings.HasSuffix(name, "]"):
		i := strings.LastIndex(name, "[")
		if i <= 0 {
			return oidText
		}
		elem := oidOfName(name[:i])
		if a, ok := arrayOf[elem]; ok && !strings.HasSuffix(name[:i], "]") {
			return a
		}
		return oidText
	case strings.HasPrefix(name, "DECIMAL"):
		return oidNumeric
	}
	if o, ok := scalarOIDs[name]; ok {
		return o
	}
	return oidText // STRUCT, MAP, UNION and anything new: sent as text
}

// oidOfInfo maps a prepared statement's column type to a type OID, the same
// way oidOfName does for a result's type name.
func oidOfInfo(info duckdb.TypeInfo) uint32 {
	if info == nil {
		return oidText
	}
	switch info.InternalType() {
	case duckdb.TYPE_LIST, duckdb.TYPE_ARRAY:
		var child duckdb.TypeInfo
		switch d := info.Details().(type) {
		case *duckdb.ListDetails:
			child = d.Child
		case *duckdb.ArrayDetails:
			child = d.Child
		}
		if child == nil {
			return oidText
		}
		ct := child.InternalType()
		if ct == duckdb.TYPE_LIST || ct == duckdb.TYPE_ARRAY {
			return oidText
		}
		if a, ok := arrayOf[oidOfInfo(child)]; ok {
			return a
		}
		return oidText
	}
	return oidOfType(info.InternalType())
}

// oidOfType maps a scalar DuckDB type code to a type OID.
func oidOfType(t duckdb.Type) uint32 {
	if n, ok := typeNames[t]; ok {
		return scalarOIDs[n]
	}
	return oidText
}
