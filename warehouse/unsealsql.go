package warehouse

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cxlake/cxlake/privacy"
)

// The SQL functions, for compliance queries inside a cxlake process (the
// key store is not in DuckDB; any other reader gets ciphertext only):
//
//	cx_identifier_value(identifier_hash, sealed_value) -> varchar
//	cx_content(event_id, subject_hash, occurred_at, content) -> json
//	cx_dead_letter_raw(topic, partition, offset, raw) -> blob
//	cx_text_tokens(event_id, subject_hash, occurred_at, content) -> varchar
//
// Each returns null when the value is unreadable (key destroyed).
// cx_text_tokens is the one the models call (int_conversations_repeated):
// the keyed hashes (privacy.Hasher.TextToken) of the informative tokens
// of the event's message text (InformativeTokens), sorted, space-separated,
// "" for a text without any; never a token or the text.
func (w *Warehouse) registerUnseal(ctx context.Context) error {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("registering unseal functions: %w", err)
	}
	defer conn.Close()
	t := func(typ duckdb.Type) duckdb.TypeInfo {
		ti, _ := duckdb.NewTypeInfo(typ)
		return ti
	}
	vc, blob, ts, i32, i64 := t(duckdb.TYPE_VARCHAR), t(duckdb.TYPE_BLOB), t(duckdb.TYPE_TIMESTAMP_TZ), t(duckdb.TYPE_INTEGER), t(duckdb.TYPE_BIGINT)
	fns := []struct {
		name string
		f    udf
	}{
		{"cx_identifier_value", udf{in: []duckdb.TypeInfo{vc, blob}, out: vc, fn: func(v []driver.Value) (any, error) {
			s, err := privacy.OpenIdentifier(w.keys, v[0].(string), v[1].([]byte))
			if err != nil {
				return nil, nil
			}
			return s, nil
		}}},
		{"cx_content", udf{in: []duckdb.TypeInfo{vc, vc, ts, blob}, out: vc, fn: func(v []driver.Value) (any, error) {
			c, err := privacy.OpenContent(w.keys, v[0].(string), v[1].(string), v[2].(time.Time), v[3].([]byte))
			if err != nil {
				return nil, nil
			}
			b, err := json.Marshal(c.JSON())
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}}},
		{"cx_text_tokens", udf{in: []duckdb.TypeInfo{vc, vc, ts, blob}, out: vc, fn: func(v []driver.Value) (any, error) {
			if len(w.hashKey) == 0 {
				return nil, nil
			}
			c, err := privacy.OpenContent(w.keys, v[0].(string), v[1].(string), v[2].(time.Time), v[3].([]byte))
			if err != nil {
				return nil, nil
			}
			return w.textTokenHashes(c.MessageText), nil
		}}},
		{"cx_dead_letter_raw", udf{in: []duckdb.TypeInfo{vc, i32, i64, blob}, out: blob, fn: func(v []driver.Value) (any, error) {
			raw, _, err := privacy.OpenDeadLetter(w.keys, v[0].(string), int(v[1].(int32)), v[2].(int64), v[3].([]byte), nil)
			if err != nil {
				return nil, nil
			}
			return raw, nil
		}}},
	}
	for _, f := range fns {
		if err := duckdb.RegisterScalarUDF(conn, f.name, f.f); err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return ctx.Err()
			}
			return fmt.Errorf("registering %s: %w", f.name, err)
		}
	}
	return nil
}

// textTokenHashes is cx_text_tokens' value for a message text.
func (w *Warehouse) textTokenHashes(text string) string {
	toks := InformativeTokens(text)
	if len(toks) == 0 {
		return ""
	}
	h := w.hashers.Get()
	defer w.hashers.Put(h)
	hs := make([]string, len(toks))
	for i, t := range toks {
		hs[i] = h.TextToken(t)
	}
	slices.Sort(hs)
	return strings.Join(hs, " ")
}

type udf struct {
	in  []duckdb.TypeInfo
	out duckdb.TypeInfo
	fn  duckdb.RowExecutorFn
}

func (u udf) Config() duckdb.ScalarFuncConfig {
	return duckdb.ScalarFuncConfig{InputTypeInfos: u.in, ResultTypeInfo: u.out}
}

func (u udf) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: u.fn}
}
