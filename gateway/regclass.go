package gateway

import (
	"fmt"
	"strings"
)

// Casts to PostgreSQL's regclass and regtype, as JDBC, SQLAlchemy and
// DBeaver write them in their metadata queries:
//
//	'kpi_daily'::regclass            the relation's oid
//	'kpi_daily'::regclass::oid       the same oid
//	'kpi_daily'::regclass::text      the relation's name
//	c.oid::regclass                  the name (psql's \d output), as before
//	'int4'::regtype::oid             the type's oid
//
// The oids are those the session's pg_class and pg_type report
// (catalog.go, pgtypes.go): a relation is looked up in the role-filtered pg_class, so
// a relation the role cannot read gives the same error as one that does
// not exist. The walker rewrites the casts into calls of the macros
// below, which regclassSetup defines in each session.
//
// PostgreSQL prints a regclass value as the relation's name; DuckDB has
// no such type, so a string cast to regclass becomes its oid, which is
// what comparisons with oid columns (attrelid = 'x'::regclass) need.

// regFunctions are the macros regclassSetup defines.
var regFunctions = map[string]bool{"gw_regclass_oid": true, "gw_regclass_name": true, "gw_regtype_oid": true,
	"gw_regproc_oid": true}

// regclassSetup returns the statements that define the lookups; they run
// after sessionSetup, whose gw_pg_class they read.
func regclassSetup() string {
	return strings.Join([]string{
		// PostgreSQL's input rules: [schema.]name, folded to lower case
		// unless double-quoted; a number is an oid as it is.
		`create or replace temp macro gw_relname(x) as case
			when x like '"%"' then replace(x[2:-2], '""', '"')
			when x like 'main.%' or x like 'public.%' then lower(trim(x[strpos(x, '.') + 1:]))
			else lower(trim(x)) end`,
		`create or replace temp macro gw_regclass_oid(x) as case
			when try_cast(x as bigint) is not null then try_cast(x as bigint)
			` + systemCatalogOids + `
			when (select count(*) from temp.main.gw_pg_class where relname = gw_relname(cast(x as varchar))) = 1
				then (select oid from temp.main.gw_pg_class where relname = gw_relname(cast(x as varchar)))
			else error('relation "' || cast(x as varchar) || '" does not exist') end`,
		`create or replace temp macro gw_regclass_name(x) as case
			when (select count(*) from temp.main.gw_pg_class where oid = gw_regclass_oid(x)) = 1
				then (select relname from temp.main.gw_pg_class where oid = gw_regclass_oid(x))
			else error('relation with oid ' || cast(x as varchar) || ' does not exist') end`,
		// The warehouse defines no function (psql's \sf asks
		// 'name'::regprocedure::oid): a number is an oid as it is, a name
		// is refused as PostgreSQL refuses an unknown function.
		`create or replace temp macro gw_regproc_oid(x) as case
			when try_cast(x as bigint) is not null then try_cast(x as bigint)
			else error('function "' || cast(x as varchar) || '" does not exist') end`,
		`create or replace temp macro gw_regtype_oid(x) as case
			when try_cast(x as bigint) is not null then try_cast(x as bigint)
			else coalesce((select oid from temp.main.gw_pg_type where typname = (case lower(trim(cast(x as varchar)))
					when 'integer' then 'int4' when 'int' then 'int4' when 'bigint' then 'int8' when 'smallint' then 'int2'
					when 'boolean' then 'bool' when 'double precision' then 'float8' when 'real' then 'float4'
					when 'character varying' then 'varchar' when 'decimal' then 'numeric'
					when 'timestamp with time zone' then 'timestamptz' when 'timestamp without time zone' then 'timestamp'
					else lower(trim(cast(x as varchar))) end) limit 1),
				error('type "' || cast(x as varchar) || '" does not exist')) end`,
	}, ";\n")
}

// systemCatalogOids are PostgreSQL's own oids of the system catalogs
// clients name with regclass ("d.classoid = 'pg_class'::regclass" in
// pgjdbc's getTables): every role reads those catalogs, so their oids tell
// nothing about the warehouse.
var systemCatalogOids = func() string {
	var b strings.Builder
	for _, c := range []struct {
		name string
		oid  int
	}{{"pg_class", 1259}, {"pg_proc", 1255}, {"pg_type", 1247}, {"pg_attribute", 1249},
		{"pg_namespace", 2615}, {"pg_constraint", 2606}, {"pg_description", 2609}, {"pg_database", 1262}} {
		fmt.Fprintf(&b, "when lower(trim(cast(x as varchar))) in ('%s', 'pg_catalog.%s') then %d\n\t\t\t", c.name, c.name, c.oid)
	}
	return b.String()
}()

// castName is the lower-case name of a cast's target type: the name as
// written for a type DuckDB's parser left unbound (regclass, oid), else
// DuckDB's type id (varchar, bigint).
func castName(ct map[string]any) string {
	if str(ct, "id") == "UNBOUND" {
		info, _ := ct["type_info"].(map[string]any)
		return lowerASCII(str(info, "name"))
	}
	return lowerASCII(str(ct, "id"))
}

var (
	oidTargets  = map[string]bool{"oid": true, "int4": true, "int8": true, "integer": true, "bigint": true, "int": true}
	textTargets = map[string]bool{"text": true, "varchar": true, "name": true, "string": true}
)

// regCast rewrites a cast to or through regclass or regtype (above). It
// returns false when m is no such cast and is left as it is.
func (w *walker) regCast(m map[string]any) bool {
	ct, _ := m["cast_type"].(map[string]any)
	target := castName(ct)
	child, _ := m["child"].(map[string]any)
	alias := str(m, "alias")
	if str(child, "class") == "CAST" && !isTrue(child["try_cast"]) {
		inner := castName(mapOf(child["cast_type"]))
		arg := child["child"]
		switch {
		case inner == "regclass" && oidTargets[target]:
			replaceMap(m, call("gw_regclass_oid", alias, arg))
		case inner == "regclass" && textTargets[target]:
			replaceMap(m, call("gw_regclass_name", alias, arg))
		case inner == "regtype" && oidTargets[target]:
			replaceMap(m, call("gw_regtype_oid", alias, arg))
		case (inner == "regproc" || inner == "regprocedure") && oidTargets[target]:
			replaceMap(m, call("gw_regproc_oid", alias, arg))
		default:
			return false
		}
		w.changed = true
		return true
	}
	// A string constant cast to regclass or regtype: its oid.
	if str(child, "class") == "CONSTANT" && (target == "regclass" || target == "regtype") {
		val, _ := child["value"].(map[string]any)
		if _, isString := val["value"].(string); isString {
			fn := "gw_regclass_oid"
			if target == "regtype" {
				fn = "gw_regtype_oid"
			}
			replaceMap(m, call(fn, alias, child))
			w.changed = true
			return true
		}
	}
	return false
}

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }
