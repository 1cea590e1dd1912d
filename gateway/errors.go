package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgproto3"
)

// SQLSTATE codes the gateway sends. Clients branch on them (pgx, JDBC), so
// they follow PostgreSQL's meaning.
const (
	codeSyntax           = "42601" // syntax_error
	codeUndefinedTable   = "42P01" // undefined_table
	codeUndefinedFunc    = "42883" // undefined_function
	codeInsufficientPriv = "42501" // insufficient_privilege
	codeFeature          = "0A000" // feature_not_supported
	codeReadOnly         = "25006" // read_only_sql_transaction
	codeInvalidPassword  = "28P01" // invalid_password
	codeInvalidAuth      = "28000" // invalid_authorization_specification
	codeNoDatabase       = "3D000" // invalid_catalog_name
	codeTooManyConns     = "53300" // too_many_connections
	codeProgramLimit     = "54000" // program_limit_exceeded
	codeOutOfMemory      = "53200" // out_of_memory
	codeDiskFull         = "53100" // disk_full
	codeCanceled         = "57014" // query_canceled
	codeAdminShutdown    = "57P01" // admin_shutdown
	codeProtocol         = "08P01" // protocol_violation
	codeInternal         = "XX000" // internal_error
	codeDataException    = "22000" // data_exception
	codeUndefinedObject  = "42704" // undefined_object
	codeInvalidParam     = "22023" // invalid_parameter_value
	codeSystemError      = "58000" // system_error
	codeInvalidStmtName  = "26000" // invalid_sql_statement_name
	codeInvalidCursor    = "34000" // invalid_cursor_name
	codeInvalidTxState   = "25000" // invalid_transaction_state
	codeInFailedTx       = "25P02" // in_failed_sql_transaction
	codeInvalidBinaryRep = "22P03" // invalid_binary_representation
)

// RefusedError means the gateway refused a statement before DuckDB ran it:
// a statement other than SELECT, a relation the role may not read, a
// function outside the sandbox. Its message names what was refused and the
// role, and holds no literal value of the query.
type RefusedError struct {
	Role   Role
	Code   string // SQLSTATE
	Reason string // what was refused and why, for the client
	Hint   string // what to do instead; may be empty
	// AuditReason is Reason for the audit when Reason quotes a name the
	// client typed that is not a relation of the warehouse (it could be
	// anything, a file path or personal data); empty means Reason.
	AuditReason string
	// Statement is the refused query with its constants masked, for the
	// audit; empty when it could not be parsed.
	Statement string
	// Relations are the relations of the warehouse the refused query
	// named ("main.events"), read or refused, for the audit. Names that are
	// no relation of the warehouse are never among them.
	Relations []string
}

func (e *RefusedError) Error() string { return e.Reason }

func (e *RefusedError) auditReason() string {
	if e.AuditReason != "" {
		return e.AuditReason
	}
	return e.Reason
}

// pgError is an error with a SQLSTATE, as sent to the client.
type pgError struct {
	Severity string // ERROR or FATAL
	Code     string
	Message  string
	Detail   string
	Hint     string
}

func (e *pgError) Error() string { return e.Message }

func (e *pgError) response() *pgproto3.ErrorResponse {
	sev := e.Severity
	if sev == "" {
		sev = "ERROR"
	}
	return &pgproto3.ErrorResponse{Severity: sev, SeverityUnlocalized: sev, Code: e.Code,
		Message: e.Message, Detail: e.Detail, Hint: e.Hint}
}

func fatal(code, format string, args ...any) *pgError {
	return &pgError{Severity: "FATAL", Code: code, Message: fmt.Sprintf(format, args...)}
}

func errorf(code, format string, args ...any) *pgError {
	return &pgError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// errAuthFailed is the one message for every failed login: it never says
// whether the user or the password was wrong.
func errAuthFailed(user string) *pgError {
	return fatal(codeInvalidPassword, "password authentication failed for user %q", user)
}

// errTooManyRows is returned when a result exceeds Config.MaxResultRows.
type errTooManyRows struct{ limit int }

func (e errTooManyRows) Error() string {
	return fmt.Sprintf("the result has more than %d rows (gateway max_result_rows): add a LIMIT, filter or aggregate", e.limit)
}

// errStatementTimeout is the cause of a query context that ran out of time.
var errStatementTimeout = errors.New("statement timeout")

// errCanceledByClient is the cause of a query context canceled by a cancel request.
var errCanceledByClient = errors.New("canceled by client request")

// errSessionEnded means the session already told the client why it ends
// (e.g. the audit failed) and must close without another message.
var errSessionEnded = errors.New("session ended")

// errShutdown is the cause of contexts canceled because the server stops.
var errShutdown = errors.New("gateway shutting down")

// endedBy is why a statement's context ended: the cause of ctx when it is
// done, or a cause err carries (a check that ran under a context now
// gone, simple.go's checkQuery). nil: the statement was not ended.
func endedBy(ctx context.Context, err error) error {
	if ctx != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	for _, c := range []error{errStatementTimeout, errSleepLimit, errCanceledByClient, errShutdown} {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// toPG turns any error into what the client sees. DuckDB's own messages go
// to the client that sent the query (they may quote its literals, which is
// the client's own text); they never go to logs or the audit.
func toPG(ctx context.Context, err error) *pgError {
	var pe *pgError
	if errors.As(err, &pe) {
		return pe
	}
	var re *RefusedError
	if errors.As(err, &re) {
		return &pgError{Code: re.Code, Message: re.Reason, Hint: re.Hint}
	}
	var tm errTooManyRows
	if errors.As(err, &tm) {
		return &pgError{Code: codeProgramLimit, Message: tm.Error()}
	}
	if cause := endedBy(ctx, err); cause != nil {
		switch cause {
		case errStatementTimeout:
			return &pgError{Code: codeCanceled, Message: "canceling statement due to statement timeout",
				Hint: "the gateway's statement_timeout bounds every query; filter by time or use an aggregate view"}
		case errSleepLimit:
			return &pgError{Code: codeCanceled, Message: "canceling statement due to the sleep limit",
				Hint: "a statement that calls pg_sleep or sleep_ms runs at most twice gateway.limits.max_sleep"}
		case errCanceledByClient:
			return &pgError{Code: codeCanceled, Message: "canceling statement due to user request"}
		case errShutdown:
			return &pgError{Severity: "FATAL", Code: codeAdminShutdown, Message: "terminating connection: the gateway is shutting down"}
		}
		if pe, ok := cause.(*pgError); ok { // e.g. the memory watchdog's (limits.go)
			return pe
		}
	}
	var de *duckdb.Error
	if errors.As(err, &de) {
		return &pgError{Code: duckdbCode(de.Type), Message: strings.TrimSpace(de.Msg)}
	}
	return &pgError{Code: codeInternal, Message: err.Error()}
}

// duckdbCode maps DuckDB's error classes to the closest SQLSTATE.
func duckdbCode(t duckdb.ErrorType) string {
	switch t {
	case duckdb.ErrorTypeParser, duckdb.ErrorTypeSyntax:
		return codeSyntax
	case duckdb.ErrorTypeCatalog:
		return codeUndefinedTable
	case duckdb.ErrorTypeBinder:
		return "42703" // undefined_column, the usual binder error
	case duckdb.ErrorTypeConversion, duckdb.ErrorTypeInvalidInput:
		return "22P02" // invalid_text_representation
	case duckdb.ErrorTypeOutOfRange:
		return "22003" // numeric_value_out_of_range
	case duckdb.ErrorTypeDivideByZero:
		return "22012"
	case duckdb.ErrorTypeInterrupt:
		return codeCanceled
	case duckdb.ErrorTypeOutOfMemory:
		return "53200"
	case duckdb.ErrorTypePermission:
		return codeInsufficientPriv
	case duckdb.ErrorTypeNotImplemented:
		return codeFeature
	}
	return codeDataException
}

// errorClass is what the audit keeps of a DuckDB error: its class, such as
// "binder" or "conversion", never its message (which can quote literal
// values).
func errorClass(err error) string {
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return ""
	}
	// DuckDB's messages start with "<Type> Error: "; keep the type only when
	// it is made of letters, so nothing from the query can slip through.
	prefix, _, ok := strings.Cut(de.Msg, " Error: ")
	if !ok || prefix == "" || len(prefix) > 30 {
		return "duckdb"
	}
	for _, r := range prefix {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == ' ') {
			return "duckdb"
		}
	}
	return strings.ToLower(prefix)
}
