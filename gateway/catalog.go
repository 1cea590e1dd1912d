package gateway

import (
	"fmt"
	"strings"
)

// The catalog compatibility layer: enough of PostgreSQL's pg_catalog and
// information_schema for psql (\dt, \dv, \d name) and for Grafana's
// PostgreSQL query editor, on top of the catalog views DuckDB ships.
//
// It has three parts:
//   - Per-session temp objects (sessionSetup): role-filtered copies of the
//     catalog views that list relations (pg_class, pg_attribute, pg_tables,
//     information_schema.tables, ...), so each role lists only what it may
//     read; empty stand-ins for PostgreSQL catalogs DuckDB lacks
//     (pg_extension, pg_inherits, pg_policy, ...); and macros for
//     PostgreSQL functions DuckDB lacks (quote_ident, array_lower,
//     parse_ident, ...). They live in the session connection's temp schema
//     and vanish with it.
//   - Rewrites in the sandbox's walk (sandbox.go): references to those
//     catalogs point at the temp copies, pg_catalog-qualified functions
//     DuckDB has unqualified lose the qualifier, casts to reg* types become
//     lookups, current_setting of PostgreSQL-only settings becomes a constant.
//   - Token-level spellings DuckDB's parser rejects (lex.go, normalizeCatalogSyntax).

// compatRelations maps a catalog relation to the session's temp view that
// replaces it.
var compatRelations = map[string]string{
	"pg_catalog.pg_class":                        "gw_pg_class",
	"pg_catalog.pg_attribute":                    "gw_pg_attribute",
	"pg_catalog.pg_tables":                       "gw_pg_tables",
	"pg_catalog.pg_views":                        "gw_pg_views",
	"pg_catalog.pg_index":                        "gw_pg_index",
	"pg_catalog.pg_indexes":                      "gw_pg_indexes",
	"pg_catalog.pg_constraint":                   "gw_pg_constraint",
	"pg_catalog.pg_extension":                    "gw_pg_extension",
	"pg_catalog.pg_roles":                        "gw_pg_roles",
	"pg_catalog.pg_am":                           "gw_pg_am",
	"pg_catalog.pg_database":                     "gw_pg_database",
	"pg_catalog.pg_auth_members":                 "gw_pg_auth_members",
	"pg_catalog.pg_settings":                     "gw_pg_settings",
	"pg_catalog.pg_user":                         "gw_pg_user",
	"pg_catalog.pg_inherits":                     "gw_pg_inherits",
	"pg_catalog.pg_policy":                       "gw_pg_policy",
	"pg_catalog.pg_statistic_ext":                "gw_pg_statistic_ext",
	"pg_catalog.pg_publication":                  "gw_pg_publication",
	"pg_catalog.pg_publication_rel":              "gw_pg_publication_rel",
	"pg_catalog.pg_publication_namespace":        "gw_pg_publication_namespace",
	"pg_catalog.pg_trigger":                      "gw_pg_trigger",
	"pg_catalog.pg_foreign_table":                "gw_pg_foreign_table",
	"pg_catalog.pg_partitioned_table":            "gw_pg_partitioned_table",
	"pg_catalog.pg_attrdef":                      "gw_pg_attrdef",
	"pg_catalog.pg_description":                  "gw_pg_description",
	"pg_catalog.pg_depend":                       "gw_pg_depend",
	"pg_catalog.pg_sequence":                     "gw_pg_sequence",
	"pg_catalog.pg_namespace":                    "gw_pg_namespace",
	"pg_catalog.pg_type":                         "gw_pg_type",
	"information_schema.tables":                  "gw_information_schema_tables",
	"information_schema.columns":                 "gw_information_schema_columns",
	"information_schema.views":                   "gw_information_schema_views",
	"information_schema.table_constraints":       "gw_information_schema_table_constraints",
	"information_schema.key_column_usage":        "gw_information_schema_key_column_usage",
	"information_schema.constraint_column_usage": "gw_information_schema_constraint_column_usage",
}

// catalogRelations are DuckDB's own catalog views every role may read as
// they are: they describe types, schemas and functions, not the relations
// a role may not see. (pg_attrdef, pg_description and pg_depend name
// relations and columns: they are compatRelations, filtered by role.)
var catalogRelations = map[string]bool{
	"pg_catalog.pg_proc":      true,
	"pg_catalog.pg_collation": true, "pg_catalog.pg_enum": true, "pg_catalog.pg_tablespace": true,
	"information_schema.schemata": true, "information_schema.character_sets": true,
}

// compatFunctions are the macros sessionSetup defines.
var compatFunctions = map[string]bool{
	"quote_ident": true, "array_lower": true, "array_upper": true, "parse_ident": true,
	"pg_get_userbyid": true, "pg_encoding_to_char": true, "pg_backend_pid": true,
	"pg_is_in_recovery": true, "pg_relation_is_publishable": true, "pg_relation_size": true, "pg_total_relation_size": true,
	"pg_table_size": true, "pg_indexes_size": true, "session_user": true, "current_user": true,
	"gw_regclass": true, "gw_regtype": true, "gw_regnamespace": true, "gw_regproc": true,
	"pg_get_indexdef": true, "pg_get_statisticsobjdef_columns": true, "pg_get_partkeydef": true,
	"gw_pg_get_viewdef": true, "gw_pg_get_constraintdef": true, "pg_get_serial_sequence": true,
	"gw_format_type": true, "array_remove": true, "pg_get_function_result": true, "pg_get_function_arguments": true,
	"pg_get_function_identity_arguments": true, "_pg_expandarray": true, "pg_database_size": true,
}

// infoSchemaFunctions are PostgreSQL's information_schema functions
// clients call, answered by compat macros of the same name (pgjdbc's
// getPrimaryKeys calls information_schema._pg_expandarray).
var infoSchemaFunctions = map[string]bool{"_pg_expandarray": true}

// maxArgs trims PostgreSQL's optional trailing arguments DuckDB's
// catalog macros do not take.
var maxArgs = map[string]int{"pg_get_expr": 2, "pg_get_viewdef": 1, "pg_get_constraintdef": 1}

// regCasts maps a cast to a PostgreSQL reg* type to the macro that does the lookup.
var regCasts = map[string]string{
	"regclass": "gw_regclass", "regtype": "gw_regtype", "regnamespace": "gw_regnamespace",
	"regproc": "gw_regproc", "regprocedure": "gw_regproc", "regrole": "gw_regproc", "regoper": "gw_regproc",
}

// pgSettings answers current_setting for PostgreSQL settings DuckDB lacks
// (Grafana asks for server_version_num, and splits search_path).
var pgSettings = map[string]string{
	"server_version_num": pgVersionNum, "search_path": "main",
	"standard_conforming_strings": "on", "integer_datetimes": "on", "max_identifier_length": "63",
	"server_encoding": "UTF8", "client_encoding": "UTF8", "datestyle": "ISO, MDY", "intervalstyle": "postgres",
	"timezone": "UTC", "transaction_isolation": "read committed", "default_transaction_read_only": "on",
	"transaction_read_only": "on", "is_superuser": "off", "lc_collate": "C", "lc_ctype": "C", "block_size": "8192",
	// pgjdbc's getImportedKeys/getExportedKeys read it from pg_settings
	// (PostgreSQL's compile-time default).
	"max_index_keys": "32",
}

// pgSetting is current_setting(name) for the settings the gateway reports:
// pgSettings and server_version.
func pgSetting(name string) (string, bool) {
	if name == "server_version" {
		return serverVersion(), true
	}
	v, ok := pgSettings[name]
	return v, ok
}

// settingsView is pg_settings with the PostgreSQL settings the gateway
// reports (pgSettings), not DuckDB's own (which name paths and limits of
// the process).
func settingsView() string {
	keys := settingNames()
	rows := make([]string, len(keys))
	for i, k := range keys {
		v, _ := pgSetting(k)
		rows[i] = fmt.Sprintf("(%s, %s)", sqlString(k), sqlString(v))
	}
	return `create or replace temp view gw_pg_settings as select name, setting, null::varchar as unit,
		'cxlake gateway' as category, '' as short_desc, '' as extra_desc, 'internal' as context,
		'string' as vartype, 'default' as source, null::varchar as min_val, null::varchar as max_val,
		null::varchar[] as enumvals, setting as boot_val, setting as reset_val, null::varchar as sourcefile,
		null::integer as sourceline, false as pending_restart
		from (values ` + strings.Join(rows, ", ") + `) s(name, setting)`
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sessionSetup returns the statements that prepare a session's DuckDB
// connection: UTC, and the temp catalog objects filtered for the role.
func sessionSetup(p *Policy, role Role, dbName, user string, pid uint32) string {
	db := sqlString(dbName)
	visible := func(nameCol string) string {
		if p.allowsAll(role) {
			return fmt.Sprintf("database_name = %s and not temporary and not internal", db)
		}
		names := []string{"''"}
		for _, r := range p.Relations(role) {
			names = append(names, sqlString(r))
		}
		return fmt.Sprintf("database_name = %s and schema_name = 'main' and not temporary and %s in (%s)",
			db, nameCol, strings.Join(names, ", "))
	}
	u := sqlString(user)
	viewSQL := func(col string) string {
		if p.allowsAll(role) {
			return col
		}
		return "null::varchar"
	}
	empty := func(name, cols string) string {
		return fmt.Sprintf("create or replace temp view %s as select * from (select %s) where false", name, cols)
	}
	byTable := func(view, src, catCol, schemaCol, nameCol string) string {
		cond := fmt.Sprintf("v.schema_name = t.%s and v.name = t.%s", schemaCol, nameCol)
		if catCol != "" {
			cond += fmt.Sprintf(" and v.database_name = t.%s", catCol)
		}
		return fmt.Sprintf("create or replace temp view %s as select t.* from %s t where exists (select 1 from temp.main.gw_visible v where %s)",
			view, src, cond)
	}
	stmts := []string{
		"set TimeZone = 'UTC'",
		fmt.Sprintf(`create or replace temp view gw_visible as
			select table_oid as oid, database_name, schema_name, table_name as name from duckdb_tables() where %s
			union all
			select view_oid, database_name, schema_name, view_name from duckdb_views() where %s`,
			visible("table_name"), visible("view_name")),
		`create or replace temp view gw_pg_class as select * replace (case relkind when 'r' then 2 else 0 end as relam,
				null::varchar[] as reloptions, null::varchar[] as relacl, 'd' as relreplident),
			false as relforcerowsecurity
			from pg_catalog.pg_class where oid in (select oid from temp.main.gw_visible)`,
		"create or replace temp view gw_pg_am as select 2::bigint as oid, 'heap' as amname, null as amhandler, 't' as amtype",
		fmt.Sprintf(`create or replace temp view gw_pg_database as select oid, datname, 10::bigint as datdba, 6 as encoding,
			'c' as datlocprovider, datistemplate, datallowconn, -1 as datconnlimit, 0::bigint as datfrozenxid,
			0::bigint as datminmxid, 0::bigint as dattablespace, 'C' as datcollate, 'C' as datctype,
			null::varchar as daticulocale, null::varchar as datcollversion, null::varchar[] as datacl
			from pg_catalog.pg_database where datname = %s`, db),
		settingsView(),
		empty("gw_pg_auth_members", "0::bigint as oid, 0::bigint as roleid, 0::bigint as member, 0::bigint as grantor, false as admin_option, true as inherit_option, true as set_option"),
		"create or replace temp view gw_pg_index as select * from pg_catalog.pg_index where indrelid in (select oid from temp.main.gw_visible)",
		"create or replace temp view gw_pg_constraint as select * from pg_catalog.pg_constraint where conrelid in (select oid from temp.main.gw_visible)",
		byTable("gw_pg_tables", "pg_catalog.pg_tables", "", "schemaname", "tablename"),
		// A view's SQL names the relations it reads and can hold literal
		// values: only a role that reads every relation sees it.
		fmt.Sprintf(`create or replace temp view gw_pg_views as select t.* replace (%s as definition)
			from pg_catalog.pg_views t where exists (select 1 from temp.main.gw_visible v
			where v.schema_name = t.schemaname and v.name = t.viewname)`, viewSQL("t.definition")),
		// PostgreSQL's pg_get_viewdef is the query alone; DuckDB keeps
		// the whole CREATE VIEW statement (psql's \sv printed it twice).
		`create or replace temp macro gw_view_query(q) as regexp_replace(q,
			'^\s*create\s+(or\s+replace\s+)?(temp(orary)?\s+)?view\s+("([^"]|"")*"|[^\s(]+)(\s*\([^)]*\))?\s+as\s+', '', 'i')`,
		fmt.Sprintf(`create or replace temp macro gw_pg_get_viewdef(gw_oid) as
			(select %s from duckdb_views() v where v.view_oid = gw_oid
			and v.view_oid in (select oid from temp.main.gw_visible))`, viewSQL("gw_view_query(v.sql)")),
		`create or replace temp macro gw_pg_get_constraintdef(gw_oid) as
			(select constraint_text from duckdb_constraints() d where d.table_oid = gw_oid // 1000000
			and d.constraint_index = gw_oid % 1000000 and d.table_oid in (select oid from temp.main.gw_visible))`,
		"create or replace temp view gw_pg_attrdef as select * from pg_catalog.pg_attrdef where adrelid in (select oid from temp.main.gw_visible)",
		"create or replace temp view gw_pg_description as select * from pg_catalog.pg_description where objoid in (select oid from temp.main.gw_visible)",
		`create or replace temp view gw_pg_depend as select * from pg_catalog.pg_depend
			where objid in (select oid from temp.main.gw_visible) and refobjid in (select oid from temp.main.gw_visible)`,
		byTable("gw_pg_indexes", "pg_catalog.pg_indexes", "", "schemaname", "tablename"),
		byTable("gw_information_schema_tables", "information_schema.tables", "table_catalog", "table_schema", "table_name"),
		`create or replace temp macro gw_pg_data_type(t) as case t
			when 'BIGINT' then 'bigint' when 'INTEGER' then 'integer' when 'SMALLINT' then 'smallint' when 'TINYINT' then 'smallint'
			when 'UTINYINT' then 'smallint' when 'USMALLINT' then 'integer' when 'UINTEGER' then 'bigint'
			when 'DOUBLE' then 'double precision' when 'FLOAT' then 'real' when 'VARCHAR' then 'character varying'
			when 'BOOLEAN' then 'boolean' when 'DATE' then 'date' when 'TIME' then 'time without time zone'
			when 'TIMESTAMP' then 'timestamp without time zone' when 'TIMESTAMP WITH TIME ZONE' then 'timestamp with time zone'
			when 'INTERVAL' then 'interval' when 'UUID' then 'uuid' when 'BLOB' then 'bytea' when 'JSON' then 'json'
			else case when t like '%[]' then 'ARRAY' when t like 'DECIMAL%' or t in ('HUGEINT', 'UHUGEINT', 'UBIGINT') then 'numeric'
			else 'text' end end`,
		`create or replace temp macro gw_pg_udt(pgtype) as case pgtype
			when 'bigint' then 'int8' when 'integer' then 'int4' when 'smallint' then 'int2' when 'double precision' then 'float8'
			when 'real' then 'float4' when 'character varying' then 'varchar' when 'boolean' then 'bool'
			when 'time without time zone' then 'time' when 'timestamp without time zone' then 'timestamp'
			when 'timestamp with time zone' then 'timestamptz' else pgtype end`,
		`create or replace temp macro gw_pg_udt_name(t) as case when t like '%[]'
			then '_' || gw_pg_udt(gw_pg_data_type(t[:-3])) else gw_pg_udt(gw_pg_data_type(t)) end`,
		`create or replace temp view gw_information_schema_columns as
			select t.* replace (gw_pg_data_type(t.data_type) as data_type, gw_pg_udt_name(t.data_type) as udt_name)
			from information_schema.columns t where exists (select 1 from temp.main.gw_visible v
			where v.schema_name = t.table_schema and v.name = t.table_name and v.database_name = t.table_catalog)`,
		fmt.Sprintf(`create or replace temp view gw_information_schema_views as select t.* replace (%s as view_definition)
			from information_schema.views t where exists (select 1 from temp.main.gw_visible v
			where v.schema_name = t.table_schema and v.name = t.table_name and v.database_name = t.table_catalog)`,
			viewSQL("t.view_definition")),
		byTable("gw_information_schema_table_constraints", "information_schema.table_constraints", "table_catalog", "table_schema", "table_name"),
		byTable("gw_information_schema_key_column_usage", "information_schema.key_column_usage", "table_catalog", "table_schema", "table_name"),
		byTable("gw_information_schema_constraint_column_usage", "information_schema.constraint_column_usage", "table_catalog", "table_schema", "table_name"),
		empty("gw_pg_extension", "0::bigint as oid, ''::varchar as extname, 0::bigint as extowner, 0::bigint as extnamespace, false as extrelocatable, ''::varchar as extversion, null::bigint[] as extconfig, null::varchar[] as extcondition"),
		fmt.Sprintf(`create or replace temp view gw_pg_roles as select 10::bigint as oid, %s as rolname, false as rolsuper, true as rolinherit,
			false as rolcreaterole, false as rolcreatedb, true as rolcanlogin, false as rolreplication, -1 as rolconnlimit,
			'********' as rolpassword, null::timestamptz as rolvaliduntil, false as rolbypassrls, null::varchar[] as rolconfig`, u),
		fmt.Sprintf(`create or replace temp view gw_pg_user as select %s as usename, 10::bigint as usesysid, false as usecreatedb,
			false as usesuper, false as userepl, false as usebypassrls, '********' as passwd, null::timestamptz as valuntil, null::varchar[] as useconfig`, u),
		empty("gw_pg_inherits", "0::bigint as inhrelid, 0::bigint as inhparent, 0 as inhseqno, false as inhdetachpending"),
		empty("gw_pg_policy", "0::bigint as oid, ''::varchar as polname, 0::bigint as polrelid, ''::varchar as polcmd, true as polpermissive, null::bigint[] as polroles, ''::varchar as polqual, ''::varchar as polwithcheck"),
		empty("gw_pg_statistic_ext", "0::bigint as oid, 0::bigint as stxrelid, ''::varchar as stxname, 0::bigint as stxnamespace, 0::bigint as stxowner, 0 as stxstattarget, null::integer[] as stxkeys, null::varchar[] as stxkind, ''::varchar as stxexprs"),
		empty("gw_pg_publication", "0::bigint as oid, ''::varchar as pubname, 0::bigint as pubowner, false as puballtables, false as pubinsert, false as pubupdate, false as pubdelete, false as pubtruncate, false as pubviaroot"),
		empty("gw_pg_publication_rel", "0::bigint as oid, 0::bigint as prpubid, 0::bigint as prrelid, ''::varchar as prqual, null::integer[] as prattrs"),
		empty("gw_pg_publication_namespace", "0::bigint as oid, 0::bigint as pnpubid, 0::bigint as pnnspid"),
		empty("gw_pg_trigger", "0::bigint as oid, 0::bigint as tgrelid, 0::bigint as tgparentid, ''::varchar as tgname, 0::bigint as tgfoid, 0 as tgtype, ''::varchar as tgenabled, false as tgisinternal, 0::bigint as tgconstrrelid, 0::bigint as tgconstrindid, 0::bigint as tgconstraint, false as tgdeferrable, false as tginitdeferred, 0 as tgnargs, ''::varchar as tgattr, ''::varchar as tgargs, ''::varchar as tgqual, ''::varchar as tgoldtable, ''::varchar as tgnewtable"),
		// DuckDB's lists main only; psql's table-name completion excludes
		// relations in "(SELECT oid FROM pg_namespace WHERE nspname =
		// 'pg_catalog')", which must not be NULL. 11 is PostgreSQL's oid.
		`create or replace temp view gw_pg_namespace as select * from pg_catalog.pg_namespace
			union all select 11, 'pg_catalog', 10, null from (select 1)
			where not exists (select 1 from pg_catalog.pg_namespace where nspname = 'pg_catalog')`,
		pgTypeSetup(),
		// DuckDB's pg_attribute holds DuckDB's type ids and typmods
		// (pgtypes.go): the columns of the relations the role reads, with
		// PostgreSQL's.
		`create or replace temp view gw_pg_attribute as select c.table_oid as attrelid, c.column_name as attname,
			gw_pg_typid(c.data_type) as atttypid, -1 as attstattarget, t.typlen as attlen, c.column_index as attnum,
			case when c.data_type like '%]' then 1 else 0 end as attndims, -1 as attcacheoff,
			gw_pg_typmod(c.data_type) as atttypmod, t.typbyval as attbyval, t.typstorage as attstorage, t.typalign as attalign,
			not c.is_nullable as attnotnull, c.column_default is not null as atthasdef, false as atthasmissing,
			'' as attidentity, '' as attgenerated, false as attisdropped, true as attislocal, 0 as attinhcount,
			t.typcollation as attcollation, '' as attcompression, null::varchar[] as attacl, null::varchar[] as attoptions,
			null::varchar[] as attfdwoptions, null::varchar as attmissingval
			from duckdb_columns() c join temp.main.gw_pg_type t on t.oid = gw_pg_typid(c.data_type)
			where c.table_oid in (select oid from temp.main.gw_visible)`,
		empty("gw_pg_sequence", "0::bigint as seqrelid, 0::bigint as seqtypid, 0::bigint as seqstart, 0::bigint as seqincrement, 0::bigint as seqmax, 0::bigint as seqmin, 0::bigint as seqcache, false as seqcycle"),
		empty("gw_pg_foreign_table", "0::bigint as ftrelid, 0::bigint as ftserver, null::varchar[] as ftoptions"),
		empty("gw_pg_partitioned_table", "0::bigint as partrelid, ''::varchar as partstrat, 0 as partnatts, 0::bigint as partdefid, null::integer[] as partattrs"),

		`create or replace temp macro quote_ident(x) as case
			when regexp_full_match(x, '[a-z_][a-z0-9_$]*')
			 and x not in (select keyword_name from duckdb_keywords() where keyword_category = 'reserved') then x
			else '"' || replace(x, '"', '""') || '"' end`,
		`create or replace temp macro parse_ident(x) as
			list_transform(string_split(x, '.'), lambda p: case when p[1] = '"' then replace(p[2:-2], '""', '"') else lower(trim(p)) end),
			(x, strict) as
			list_transform(string_split(x, '.'), lambda p: case when p[1] = '"' then replace(p[2:-2], '""', '"') else lower(trim(p)) end)`,
		// PostgreSQL removes every element equal to e (NULL removes NULLs).
		"create or replace temp macro array_remove(a, e) as list_filter(a, lambda x: x is distinct from e)",
		// The warehouse defines no function: pg_proc lists DuckDB's
		// built-ins, outside every schema pg_namespace lists, so psql's
		// \df lists nothing. Their result and arguments are not described.
		"create or replace temp macro pg_get_function_result(o) as null::varchar",
		"create or replace temp macro pg_get_function_arguments(o) as null::varchar",
		"create or replace temp macro pg_get_function_identity_arguments(o) as null::varchar",
		// psql's \l+: a database's size on disk is not told to clients
		// (it is the data directory's business), so the size is null.
		"create or replace temp macro pg_database_size(d) as null::bigint",
		// information_schema._pg_expandarray: a row (x, n) per element,
		// n counting from 1.
		"create or replace temp macro _pg_expandarray(a) as unnest(list_transform(a, lambda x, i: {'x': x, 'n': i}))",
		"create or replace temp macro array_lower(a, d) as case when d = 1 and len(a) > 0 then 1 end",
		"create or replace temp macro array_upper(a, d) as case when d = 1 and len(a) > 0 then len(a) end",
		fmt.Sprintf("create or replace temp macro pg_get_userbyid(id) as %s", u),
		fmt.Sprintf("create or replace temp macro current_user() as %s", u),
		fmt.Sprintf("create or replace temp macro session_user() as %s", u),
		fmt.Sprintf("create or replace temp macro pg_backend_pid() as %d", pid),
		"create or replace temp macro pg_encoding_to_char(e) as 'UTF8'",
		"create or replace temp macro pg_is_in_recovery() as false",
		"create or replace temp macro pg_relation_is_publishable(r) as false",
		"create or replace temp macro pg_relation_size(r) as 0::bigint, (r, fork) as 0::bigint",
		"create or replace temp macro pg_total_relation_size(r) as 0::bigint",
		"create or replace temp macro pg_table_size(r) as 0::bigint",
		"create or replace temp macro pg_indexes_size(r) as 0::bigint",
		"create or replace temp macro pg_get_indexdef(i) as '', (i, c, p) as ''",
		"create or replace temp macro pg_get_statisticsobjdef_columns(o) as ''",
		"create or replace temp macro pg_get_partkeydef(o) as ''",
		// No relation has a sequence (pg_sequence is empty).
		"create or replace temp macro pg_get_serial_sequence(t, c) as null::varchar",
		`create or replace temp macro gw_regclass(x) as coalesce(
			(select relname from temp.main.gw_pg_class where oid = try_cast(x as bigint)), cast(x as varchar))`,
		"create or replace temp macro gw_regtype(x) as coalesce(gw_format_type(try_cast(x as bigint), null), cast(x as varchar))",
		`create or replace temp macro gw_regnamespace(x) as coalesce(
			(select nspname from pg_catalog.pg_namespace where oid = try_cast(x as bigint)), cast(x as varchar))`,
		"create or replace temp macro gw_regproc(x) as cast(x as varchar)",
	}
	return strings.Join(stmts, ";\n")
}
