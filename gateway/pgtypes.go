package gateway

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// PostgreSQL's types as the catalog describes them: the session's pg_type
// (gw_pg_type), the type of each column in pg_attribute
// (gw_pg_attribute: atttypid and atttypmod) and format_type
// (gw_format_type). DuckDB's own pg_attribute.atttypid holds DuckDB type
// ids (integer 13, varchar 25, decimal 21), its pg_type has 39 rows and
// no arrays, and its format_type knows only its own ids: JDBC's
// getColumns joined them and lost most columns, and SQLAlchemy mapped
// every column to NullType.
//
// The mapping from a DuckDB column type to a PostgreSQL oid is the one the
// wire uses (types.go, scalarOIDs and arrayOf), with two differences
// where PostgreSQL has the same type under its own name and the catalog
// already spoke of it (information_schema.columns' data_type): VARCHAR
// is character varying (1043) and JSON is json (114). Result columns
// keep going out as text (25), which every client reads the same way.
//
// A typmod is PostgreSQL's: numeric(p,s) is ((p << 16) | s) + 4, and
// every other column's is -1. DuckDB's pg_attribute says p*1000+s.

// pgType is one row of the session's pg_type.
type pgType struct {
	oid      uint32
	name     string // typname
	display  string // format_type's name with no typmod, when not typname
	length   int    // typlen
	byVal    bool
	category string // typcategory
	align    string // typalign
	elem     uint32 // typelem, for an array type
	array    uint32 // typarray
}

// pgTypes are the types of pg_type: those columns and results can have
// (types.go), the ones clients' metadata queries name (name, oid, the
// reg* types), and the array of each.
var pgTypes = func() []pgType {
	base := []pgType{
		{oid: oidBool, name: "bool", display: "boolean", length: 1, byVal: true, category: "B", align: "c", array: 1000},
		{oid: oidBytea, name: "bytea", length: -1, category: "U", align: "i", array: 1001},
		{oid: 18, name: "char", display: `"char"`, length: 1, byVal: true, category: "Z", align: "c", array: 1002},
		{oid: oidName, name: "name", length: 64, category: "S", align: "c", array: 1003},
		{oid: oidInt8, name: "int8", display: "bigint", length: 8, byVal: true, category: "N", align: "d", array: 1016},
		{oid: oidInt2, name: "int2", display: "smallint", length: 2, byVal: true, category: "N", align: "s", array: 1005},
		{oid: oidInt4, name: "int4", display: "integer", length: 4, byVal: true, category: "N", align: "i", array: 1007},
		{oid: 24, name: "regproc", length: 4, byVal: true, category: "N", align: "i", array: 1008},
		{oid: oidText, name: "text", length: -1, category: "S", align: "i", array: 1009},
		{oid: oidOID, name: "oid", length: 4, byVal: true, category: "N", align: "i", array: 1028},
		{oid: oidJSON, name: "json", length: -1, category: "U", align: "i", array: 199},
		{oid: oidFloat4, name: "float4", display: "real", length: 4, byVal: true, category: "N", align: "i", array: 1021},
		{oid: oidFloat8, name: "float8", display: "double precision", length: 8, byVal: true, category: "N", align: "d", array: 1022},
		{oid: oidUnknown, name: "unknown", length: -2, category: "X", align: "c"},
		{oid: oidBPChar, name: "bpchar", length: -1, category: "S", align: "i", array: 1014},
		{oid: oidVarchar, name: "varchar", display: "character varying", length: -1, category: "S", align: "i", array: 1015},
		{oid: oidDate, name: "date", length: 4, byVal: true, category: "D", align: "i", array: 1182},
		{oid: oidTime, name: "time", display: "time without time zone", length: 8, byVal: true, category: "D", align: "d", array: 1183},
		{oid: oidTimestamp, name: "timestamp", display: "timestamp without time zone", length: 8, byVal: true, category: "D", align: "d", array: 1115},
		{oid: oidTimestamptz, name: "timestamptz", display: "timestamp with time zone", length: 8, byVal: true, category: "D", align: "d", array: 1185},
		{oid: oidInterval, name: "interval", length: 16, category: "T", align: "d", array: 1187},
		{oid: oidTimetz, name: "timetz", display: "time with time zone", length: 12, category: "D", align: "d", array: 1270},
		{oid: 1560, name: "bit", length: -1, category: "V", align: "i", array: 1561},
		{oid: 1562, name: "varbit", display: "bit varying", length: -1, category: "V", align: "i", array: 1563},
		{oid: oidNumeric, name: "numeric", length: -1, category: "N", align: "i", array: 1231},
		{oid: 2205, name: "regclass", length: 4, byVal: true, category: "N", align: "i", array: 2210},
		{oid: 2206, name: "regtype", length: 4, byVal: true, category: "N", align: "i", array: 2211},
		{oid: oidUUID, name: "uuid", length: 16, category: "U", align: "c", array: 2951},
		{oid: oidJSONB, name: "jsonb", length: -1, category: "U", align: "i", array: 3807},
	}
	out := append([]pgType(nil), base...)
	for _, t := range base {
		if t.array != 0 {
			out = append(out, pgType{oid: t.array, name: "_" + t.name, length: -1, category: "A", align: t.align, elem: t.oid})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].oid < out[j].oid })
	return out
}()

// catalogOIDs maps a column's DuckDB type, as duckdb_columns() spells it,
// to its PostgreSQL type: the wire's mapping (scalarOIDs) under DuckDB's
// SQL spellings, with VARCHAR and JSON as PostgreSQL names them.
var catalogOIDs = func() map[string]uint32 {
	m := map[string]uint32{}
	for k, v := range scalarOIDs {
		m[k] = v
	}
	m["TIMESTAMP WITH TIME ZONE"] = scalarOIDs["TIMESTAMPTZ"]
	m["TIME WITH TIME ZONE"] = scalarOIDs["TIMETZ"]
	m["TIME_NS"] = oidTime
	m["VARCHAR"] = oidVarchar
	m["JSON"] = oidJSON
	return m
}()

// pgTypeSetup returns the statements that define the session's pg_type,
// the column type mapping and format_type. They read nothing of the
// warehouse: every role sees the same types.
func pgTypeSetup() string {
	rows := make([]string, len(pgTypes))
	for i, t := range pgTypes {
		in, out := t.name+"in", t.name+"out"
		if t.elem != 0 {
			in, out = "array_in", "array_out"
		}
		storage := "p"
		if t.length == -1 {
			storage = "x"
		}
		rows[i] = fmt.Sprintf("(%d, '%s', %d, %t, '%s', %d, %d, '%s', '%s', '%s', '%s')",
			t.oid, t.name, t.length, t.byVal, t.category, t.elem, t.array, in, out, t.align, storage)
	}
	var scalar, arrays, display strings.Builder
	keys := make([]string, 0, len(catalogOIDs))
	for k := range catalogOIDs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&scalar, " when '%s' then %d", k, catalogOIDs[k])
	}
	for _, t := range pgTypes {
		if t.array != 0 {
			fmt.Fprintf(&arrays, " when %d then %d", t.oid, t.array)
		}
		if t.display != "" {
			fmt.Fprintf(&display, " when %d then %s", t.oid, sqlString(t.display))
		}
	}
	return strings.Join([]string{
		`create or replace temp view gw_pg_type as select oid::bigint as oid, typname,
			(select oid from temp.main.gw_pg_namespace where nspname = 'pg_catalog') as typnamespace,
			10::bigint as typowner, typlen::smallint as typlen, typbyval, 'b' as typtype,
			typcategory, false as typispreferred, true as typisdefined, ',' as typdelim, 0::bigint as typrelid,
			case when typelem <> 0 then 'array_subscript_handler' else '-' end as typsubscript,
			typelem::bigint as typelem, typarray::bigint as typarray, typinput, typoutput,
			replace(typinput, 'in', 'recv') as typreceive, replace(typoutput, 'out', 'send') as typsend,
			'-' as typmodin, '-' as typmodout, '-' as typanalyze, typalign, typstorage, false as typnotnull,
			0::bigint as typbasetype, -1 as typtypmod, 0 as typndims,
			case when typcategory = 'S' then 100 else 0 end::bigint as typcollation,
			null::varchar as typdefaultbin, null::varchar as typdefault, null::varchar[] as typacl
			from (values ` + strings.Join(rows, ", ") + `) t(oid, typname, typlen, typbyval, typcategory, typelem, typarray,
				typinput, typoutput, typalign, typstorage)`,
		// A DuckDB type name to PostgreSQL's oid, as oidOfName does for
		// the wire: a list of a scalar is that scalar's array; a list of
		// lists, a struct, a map or an unknown name is text.
		`create or replace temp macro gw_pg_scalar_typid(t) as case when t like 'DECIMAL(%' then ` + strconv.Itoa(int(oidNumeric)) +
			` else case t` + scalar.String() + ` else ` + strconv.Itoa(int(oidText)) + ` end end`,
		`create or replace temp macro gw_pg_array_typid(e) as case e` + arrays.String() + ` else ` + strconv.Itoa(int(arrayOf[oidText])) + ` end`,
		`create or replace temp macro gw_pg_typid(t) as case
			when t not like '%]' then gw_pg_scalar_typid(t)
			when regexp_replace(t, '\[[0-9]*\]$', '') like '%]' then ` + strconv.Itoa(int(oidText)) + `
			else gw_pg_array_typid(gw_pg_scalar_typid(regexp_replace(t, '\[[0-9]*\]$', ''))) end`,
		// PostgreSQL's typmod: numeric(p,s) (and an array of them) is
		// ((p << 16) | s) + 4; anything else -1.
		`create or replace temp macro gw_pg_typmod(t) as case
			when regexp_full_match(t, 'DECIMAL\([0-9]+,[0-9]+\)(\[[0-9]*\])?')
			then cast(regexp_extract(t, 'DECIMAL\(([0-9]+),', 1) as integer) * 65536
				+ cast(regexp_extract(t, 'DECIMAL\([0-9]+,([0-9]+)\)', 1) as integer) + 4
			else -1 end`,
		`create or replace temp macro gw_format_scalar_name(o) as case o` + display.String() + `
			else (select typname from temp.main.gw_pg_type where oid = o) end`,
		// format_type(oid, typmod) for one non-array type.
		`create or replace temp macro gw_format_scalar(o, m) as case
			when o = ` + strconv.Itoa(int(oidNumeric)) + ` and m >= 4 then 'numeric(' || ((m - 4) // 65536) || ',' || ((m - 4) % 65536) || ')'
			when o = ` + strconv.Itoa(int(oidVarchar)) + ` and m >= 4 then 'character varying(' || (m - 4) || ')'
			when o = ` + strconv.Itoa(int(oidBPChar)) + ` and m >= 4 then 'character(' || (m - 4) || ')'
			when o in (` + strconv.Itoa(int(oidTimestamp)) + `, ` + strconv.Itoa(int(oidTimestamptz)) + `, ` +
			strconv.Itoa(int(oidTime)) + `, ` + strconv.Itoa(int(oidTimetz)) + `) and m >= 0
				then regexp_replace(gw_format_scalar_name(o), '^(time(stamp)?)', '\1(' || m || ')')
			else gw_format_scalar_name(o) end`,
		// PostgreSQL's format_type: an array is its element's name and
		// "[]"; an oid no type has is "???"; a NULL oid is NULL.
		`create or replace temp macro gw_format_type(o, m) as case when o is null then null
			else coalesce((select gw_format_scalar(case when t.typelem <> 0 then t.typelem else t.oid end, coalesce(m, -1))
				|| case when t.typelem <> 0 then '[]' else '' end
				from temp.main.gw_pg_type t where t.oid = o), '???') end`,
	}, ";\n")
}

var decimalName = regexp.MustCompile(`^DECIMAL\((\d+),(\d+)\)$`)

// typmodOfName is the PostgreSQL typmod of a result column of DuckDB type
// name (duckdb-go's DatabaseTypeName): ((p << 16) | s) + 4 for
// DECIMAL(p,s), else -1.
func typmodOfName(name string) int32 {
	m := decimalName.FindStringSubmatch(name)
	if m == nil {
		return -1
	}
	p, _ := strconv.Atoi(m[1])
	s, _ := strconv.Atoi(m[2])
	return numericTypmod(p, s)
}

// typmodOfInfo is typmodOfName for a prepared statement's column type.
func typmodOfInfo(info duckdb.TypeInfo) int32 {
	if info == nil || info.InternalType() != duckdb.TYPE_DECIMAL {
		return -1
	}
	d, ok := info.Details().(*duckdb.DecimalDetails)
	if !ok {
		return -1
	}
	return numericTypmod(int(d.Width), int(d.Scale))
}

func numericTypmod(precision, scale int) int32 {
	return int32(precision<<16|scale) + 4
}
