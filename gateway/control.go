package gateway

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Session commands that clients send around their queries (psql, JDBC,
// DBeaver, connection poolers). The gateway answers them itself; none of
// them reaches DuckDB, so none can change DuckDB's state:
//
//   - BEGIN / START TRANSACTION, COMMIT / END, ROLLBACK / ABORT, SAVEPOINT,
//     RELEASE: acknowledged. Every statement reads its own consistent
//     snapshot, as in PostgreSQL's default READ COMMITTED; there is nothing
//     to commit since nothing can be written.
//   - SET of a client-side parameter (application_name, extra_float_digits,
//     DateStyle, ...): remembered for SHOW, otherwise without effect. Any
//     other SET is refused by the sandbox.
//   - SHOW name: the session's parameter.
//   - DISCARD ALL, DEALLOCATE: forget prepared statements.

// controlKind says what a session command does.
type controlKind uint8

const (
	ctlNone controlKind = iota
	ctlEmpty
	ctlBegin
	ctlCommit
	ctlRollback
	ctlSavepoint
	ctlRelease
	ctlSet
	ctlShow
	ctlDiscard
	ctlDeallocate
)

// control is a recognized session command.
type control struct {
	kind  controlKind
	tag   string // CommandComplete tag
	name  string // SET/SHOW parameter, DEALLOCATE statement name ("" for ALL)
	value string // SET value
}

// settable lists the parameters SET may touch: they only matter to the
// client, and SHOW returns what was set. Keys are lower case.
var settable = map[string]bool{
	"application_name": true, "extra_float_digits": true, "datestyle": true, "client_encoding": true,
	"client_min_messages": true, "search_path": true, "timezone": true, "intervalstyle": true,
	"bytea_output": true, "lock_timeout": true, "idle_in_transaction_session_timeout": true,
	"statement_timeout": true, "standard_conforming_strings": true, "transaction_isolation": true,
	"default_transaction_isolation": true, "default_transaction_read_only": true, "jit": true,
	"geqo": true, "work_mem": true, "enable_seqscan": true, "synchronous_commit": true,
	"row_security": true, "escape_string_warning": true,
}

// parseControl recognizes a session command in sql, which must hold one
// statement only. It returns kind ctlNone for anything else (queries go to
// the sandbox), and ctlEmpty when sql holds no statement at all.
func parseControl(sql string) control {
	stmts := splitStatements(lex(sql))
	if len(stmts) == 0 {
		return control{kind: ctlEmpty}
	}
	if len(stmts) > 1 {
		return control{}
	}
	t := stmts[0]
	word := func(i int) string {
		if i < len(t) && t[i].kind == tIdent {
			return t[i].upper()
		}
		return ""
	}
	switch word(0) {
	case "BEGIN", "START":
		if word(0) == "START" && word(1) != "TRANSACTION" {
			return control{}
		}
		return control{kind: ctlBegin, tag: "BEGIN"}
	case "COMMIT", "END":
		if word(1) == "PREPARED" {
			return control{}
		}
		return control{kind: ctlCommit, tag: "COMMIT"}
	case "ROLLBACK", "ABORT":
		if word(1) == "PREPARED" {
			return control{}
		}
		for i := range t {
			if t[i].kind == tIdent && t[i].upper() == "TO" {
				return control{kind: ctlSavepoint, tag: "ROLLBACK"}
			}
		}
		return control{kind: ctlRollback, tag: "ROLLBACK"}
	case "SAVEPOINT":
		return control{kind: ctlSavepoint, tag: "SAVEPOINT"}
	case "RELEASE":
		return control{kind: ctlRelease, tag: "RELEASE"}
	case "DISCARD":
		return control{kind: ctlDiscard, tag: "DISCARD " + word(1)}
	case "DEALLOCATE":
		i := 1
		if word(1) == "PREPARE" {
			i = 2
		}
		if i >= len(t) {
			return control{}
		}
		name := identText(t[i])
		if word(i) == "ALL" {
			name = ""
		}
		return control{kind: ctlDeallocate, tag: "DEALLOCATE", name: name}
	case "SHOW":
		var parts []string
		for _, x := range t[1:] {
			parts = append(parts, strings.ToLower(identText(x)))
		}
		name := strings.Join(parts, " ")
		if name == "transaction isolation level" {
			name = "transaction_isolation"
		}
		if name == "" {
			return control{}
		}
		return control{kind: ctlShow, tag: "SHOW", name: name}
	case "SET":
		i := 1
		if w := word(1); w == "SESSION" || w == "LOCAL" {
			i = 2
		}
		switch {
		case word(i) == "TIME" && word(i+1) == "ZONE":
			return control{kind: ctlSet, tag: "SET", name: "timezone", value: valueText(t[i+2:])}
		case word(i) == "TRANSACTION" || word(i) == "CHARACTERISTICS" || word(i) == "SESSION" && word(i+1) == "CHARACTERISTICS":
			return control{kind: ctlSet, tag: "SET", name: "transaction_isolation", value: ""}
		case word(i) == "NAMES":
			return control{kind: ctlSet, tag: "SET", name: "client_encoding", value: valueText(t[i+1:])}
		}
		if i >= len(t) {
			return control{}
		}
		name := strings.ToLower(identText(t[i]))
		if !settable[name] {
			return control{} // the sandbox refuses it with the usual message
		}
		j := i + 1
		if j < len(t) && (t[j].kind == tOp && t[j].text == "=" || t[j].kind == tIdent && t[j].upper() == "TO") {
			j++
		}
		return control{kind: ctlSet, tag: "SET", name: name, value: valueText(t[j:])}
	}
	return control{}
}

// identText is a token as a name: quoted identifiers unquoted.
func identText(t token) string {
	if t.kind == tQuotedIdent && len(t.text) >= 2 && t.text[0] == '"' {
		return strings.ReplaceAll(t.text[1:len(t.text)-1], `""`, `"`)
	}
	return t.text
}

// valueText is a SET value as SHOW returns it: strings unquoted, lists
// joined with ", ".
func valueText(toks []token) string {
	var parts []string
	for _, t := range toks {
		switch t.kind {
		case tString:
			s := t.text
			if len(s) >= 2 && s[0] == '\'' {
				s = strings.ReplaceAll(s[1:len(s)-1], "''", "'")
			}
			parts = append(parts, s)
		case tPunct:
			if t.text == "," {
				continue
			}
			parts = append(parts, t.text)
		default:
			parts = append(parts, identText(t))
		}
	}
	return strings.Join(parts, ", ")
}

// serverParams are the parameters reported at start-up (ParameterStatus)
// and answered by SHOW. server_version says PostgreSQL 15 because that is
// the catalog dialect the gateway emulates; tools compare it to decide
// which catalog queries to send.
func serverParams(user, app string) map[string]string {
	return map[string]string{
		"server_version":                serverVersion(),
		"server_version_num":            pgVersionNum,
		"server_encoding":               "UTF8",
		"client_encoding":               "UTF8",
		"DateStyle":                     "ISO, MDY",
		"IntervalStyle":                 "postgres",
		"TimeZone":                      "UTC",
		"integer_datetimes":             "on",
		"standard_conforming_strings":   "on",
		"application_name":              app,
		"is_superuser":                  "off",
		"session_authorization":         user,
		"default_transaction_read_only": "on",
		"in_hot_standby":                "off",
	}
}

// startupParams are the serverParams sent in ParameterStatus at start-up, in order.
var startupParams = []string{"server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle",
	"TimeZone", "integer_datetimes", "standard_conforming_strings", "application_name", "is_superuser",
	"session_authorization", "default_transaction_read_only", "in_hot_standby"}

// showValue answers SHOW name from the session parameters.
func showValue(params map[string]string, name string) (string, error) {
	switch name {
	case "transaction_isolation", "default_transaction_isolation":
		return "read committed", nil
	case "search_path":
		return "main", nil
	case "max_identifier_length":
		return "63", nil
	case "transaction_read_only":
		return "on", nil
	}
	for k, v := range params {
		if strings.EqualFold(k, name) {
			return v, nil
		}
	}
	return "", errorf(codeUndefinedObject, "unrecognized configuration parameter %q", name)
}

// setParam records a SET for SHOW, under the start-up spelling of the name.
func setParam(params map[string]string, name, value string) error {
	if name == "standard_conforming_strings" && !strings.EqualFold(value, "on") && !strings.EqualFold(value, "true") {
		return errorf(codeFeature, "standard_conforming_strings is always on at the cxlake gateway")
	}
	if strings.EqualFold(name, "statement_timeout") {
		if _, err := parseStatementTimeout(value); err != nil {
			return err
		}
	}
	for k := range params {
		if strings.EqualFold(k, name) {
			params[k] = value
			return nil
		}
	}
	params[name] = value
	return nil
}

// String describes the command for the audit: the tag and, for SET and
// SHOW, the parameter name (never the value).
func (c control) String() string {
	switch c.kind {
	case ctlSet, ctlShow:
		name := c.name
		if !settable[name] && !shownParams[name] {
			name = "?" // SHOW takes any words; they could be anything
		}
		return fmt.Sprintf("%s %s", c.tag, name)
	}
	return c.tag
}

// shownParams are the parameters SHOW answers besides the settable ones:
// the start-up parameters the gateway reports and those showValue knows.
var shownParams = map[string]bool{
	"server_version": true, "server_encoding": true, "integer_datetimes": true, "is_superuser": true,
	"session_authorization": true, "max_identifier_length": true, "transaction_read_only": true, "all": true,
}

// timeoutUnits are the units PostgreSQL accepts for statement_timeout.
var timeoutUnits = map[string]time.Duration{
	"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "min": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
}

// parseStatementTimeout reads a statement_timeout value as PostgreSQL
// does: a number of milliseconds, or a number and a unit ("1s", "500 ms",
// "2min"); 0 and DEFAULT mean no session limit (the server's applies).
func parseStatementTimeout(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "default") {
		return 0, nil
	}
	num := strings.TrimRight(v, "abcdefghijklmnopqrstuvwxyz ")
	unit := strings.TrimSpace(v[len(num):])
	mul := time.Millisecond
	if unit != "" {
		m, ok := timeoutUnits[unit]
		if !ok {
			return 0, errorf(codeInvalidParam, "invalid value for parameter \"statement_timeout\": %q", v)
		}
		mul = m
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*float64(mul) > float64(math.MaxInt64) {
		return 0, errorf(codeInvalidParam, "invalid value for parameter \"statement_timeout\": %q", v)
	}
	return time.Duration(f * float64(mul)), nil
}

// statementTimeout is the limit of the session's next statement: its
// statement_timeout when set and shorter than the server's, which is the
// ceiling whatever the session sets.
func statementTimeout(params map[string]string, ceiling time.Duration) time.Duration {
	for k, v := range params {
		if strings.EqualFold(k, "statement_timeout") {
			if d, err := parseStatementTimeout(v); err == nil && d > 0 && d < ceiling {
				return d
			}
		}
	}
	return ceiling
}
