package warehouse

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cxlake/cxlake/privacy"
)

// Unsealing is the one way back to personal data: compliance reads (access
// export, contact_identities) decrypt here. A value whose key was destroyed
// opens as privacy.ErrUnreadable, which callers show as redacted.

// OpenContent returns the content of an event from its sealed column value
// and the event's id, subject hash and time.
func (w *Warehouse) OpenContent(eventID, subject string, occurredAt time.Time, sealed []byte) (Content, error) {
	sk, ok1 := w.keys.Get(privacy.SubjectID(subject))
	dk, ok2 := w.keys.Get(privacy.DayID(privacy.ClassContent, dayOf(occurredAt)))
	if !ok1 || !ok2 {
		return Content{}, privacy.ErrUnreadable
	}
	a, err := privacy.AEAD(privacy.Derive(sk, dk))
	if err != nil {
		return Content{}, err
	}
	pt, err := privacy.Open(a, sealed, contentAAD(eventID))
	if err != nil {
		return Content{}, err
	}
	return decodeContent(pt)
}

// OpenIdentifier returns the value of an identifier from its sealed_value.
func (w *Warehouse) OpenIdentifier(hash string, sealed []byte) (string, error) {
	k, ok := w.keys.Get(privacy.SubjectID(hash))
	if !ok {
		return "", privacy.ErrUnreadable
	}
	a, err := privacy.AEAD(k)
	if err != nil {
		return "", err
	}
	pt, err := privacy.Open(a, sealed, identifierAAD(hash))
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// OpenDeadLetter returns a dead letter's raw bytes and Kafka key from their
// sealed columns (sealedKey may be nil).
func (w *Warehouse) OpenDeadLetter(topic string, partition int, offset int64, sealedRaw, sealedKey []byte) (raw, key []byte, err error) {
	k, ok := w.keys.Get(privacy.DeadLetterID(topic, partition, offset))
	if !ok {
		return nil, nil, privacy.ErrUnreadable
	}
	a, err := privacy.AEAD(k)
	if err != nil {
		return nil, nil, err
	}
	d := &DeadLetter{Topic: topic, Partition: partition, Offset: offset}
	if raw, err = privacy.Open(a, sealedRaw, deadLetterAAD(d, "raw")); err != nil {
		return nil, nil, err
	}
	if len(sealedKey) > 0 {
		if key, err = privacy.Open(a, sealedKey, deadLetterAAD(d, "key")); err != nil {
			return nil, nil, err
		}
	}
	return raw, key, nil
}

// The SQL functions, for compliance queries inside a cxlake process (the
// key store is not in DuckDB; any other reader gets ciphertext only):
//
//	cx_identifier_value(identifier_hash, sealed_value) -> varchar
//	cx_content(event_id, subject_hash, occurred_at, content) -> json
//	cx_dead_letter_raw(topic, partition, offset, raw) -> blob
//
// Each returns null when the value is unreadable (key destroyed).
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
			s, err := w.OpenIdentifier(v[0].(string), v[1].([]byte))
			if err != nil {
				return nil, nil
			}
			return s, nil
		}}},
		{"cx_content", udf{in: []duckdb.TypeInfo{vc, vc, ts, blob}, out: vc, fn: func(v []driver.Value) (any, error) {
			c, err := w.OpenContent(v[0].(string), v[1].(string), v[2].(time.Time), v[3].([]byte))
			if err != nil {
				return nil, nil
			}
			b, err := json.Marshal(contentJSON(c))
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}}},
		{"cx_dead_letter_raw", udf{in: []duckdb.TypeInfo{vc, i32, i64, blob}, out: blob, fn: func(v []driver.Value) (any, error) {
			raw, _, err := w.OpenDeadLetter(v[0].(string), int(v[1].(int32)), v[2].(int64), v[3].([]byte), nil)
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

// ContentJSON is Content as a compliance reader sees it: the raw payload
// as text.
type ContentJSON struct {
	Content
	Raw string `json:"raw,omitempty"`
}

func contentJSON(c Content) ContentJSON { return ContentJSON{Content: c, Raw: string(c.Raw)} }

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
