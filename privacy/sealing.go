package privacy

import (
	"crypto/cipher"
	"fmt"
	"time"

	"github.com/cxlake/cxlake/event"
)

// Sealing is how cxlake keeps personal data erasable in O(person): nothing
// personal reaches DuckDB or the lake in clear. Each event's content (every
// producer free text, name, unknown fields, raw payload; content.go) is
// sealed with AES-256-GCM under a key derived from its subject's key (the
// primary identifier's) and the day's content key; each identifier value is
// sealed once, in the identifiers table, under its own key; each dead
// letter under its own key. Destroying a subject's keys (erasure, consent
// withdrawal) or a day's key (retention) makes every copy unreadable,
// wherever DuckDB left the bytes. The functions here seal one value; the
// warehouse's write path (warehouse/sealing.go) makes the keys of a batch
// and stores what they return. docs/governance.md has the measurements
// behind the choice.

// DayOf is the UTC day ("2026-11-21") a content key covers.
func DayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// contentAAD binds a sealed content to its event.
func contentAAD(eventID string) []byte { return []byte("cxlake/content/v1\x00" + eventID) }

// identifierAAD binds a sealed identifier value to its hash.
func identifierAAD(hash string) []byte { return []byte("cxlake/identifier/v1\x00" + hash) }

// deadLetterAAD binds a sealed dead letter part ("raw", "key") to its coordinates.
func deadLetterAAD(topic string, partition int, offset int64, part string) []byte {
	return fmt.Appendf(nil, "cxlake/dead_letter/v1\x00%s\x00%d\x00%d\x00%s", topic, partition, offset, part)
}

// SealContent seals the content of e under a (ContentAEAD's cipher, or
// AEAD(Derive(subject key, day key)) on the write path). buf is scratch
// space for the encoded content, returned for reuse.
func SealContent(a cipher.AEAD, nonces *Nonces, e *event.Event, buf []byte) (sealed, scratch []byte, err error) {
	buf = encodeContent(e, buf[:0])
	sealed, err = Seal(a, nonces, make([]byte, 0, len(buf)+Overhead), buf, contentAAD(e.EventID))
	return sealed, buf, err
}

// SealContentOf seals c, in the current layout, as the content of the
// event eventID: for content opened and sealed again (an upgrade of its
// layout, a revised message).
func SealContentOf(a cipher.AEAD, nonces *Nonces, eventID string, c Content) ([]byte, error) {
	return Seal(a, nonces, nil, encodeContentOf(c, nil), contentAAD(eventID))
}

// SealEncodedContent seals content already encoded (in any layout, its
// first byte) as the content of the event eventID. The warehouse's tests
// use it to write the layouts of older versions.
func SealEncodedContent(a cipher.AEAD, nonces *Nonces, eventID string, encoded []byte) ([]byte, error) {
	return Seal(a, nonces, nil, encoded, contentAAD(eventID))
}

// SealIdentifier seals the value of the identifier whose keyed hash is
// hash, under its subject key k.
func SealIdentifier(k DataKey, nonces *Nonces, hash, value string) ([]byte, error) {
	a, err := AEAD(k)
	if err != nil {
		return nil, err
	}
	return Seal(a, nonces, nil, []byte(value), identifierAAD(hash))
}

// SealDeadLetter returns a dead letter's Kafka key (nil when it has none)
// and raw bytes sealed under the dead letter's own key k
// (DeadLetterID of its coordinates).
func SealDeadLetter(k DataKey, nonces *Nonces, topic string, partition int, offset int64, raw, key []byte) (sealedKey, sealedRaw []byte, err error) {
	a, err := AEAD(k)
	if err != nil {
		return nil, nil, err
	}
	if sealedRaw, err = Seal(a, nonces, nil, raw, deadLetterAAD(topic, partition, offset, "raw")); err != nil {
		return nil, nil, err
	}
	if len(key) > 0 {
		if sealedKey, err = Seal(a, nonces, nil, key, deadLetterAAD(topic, partition, offset, "key")); err != nil {
			return nil, nil, err
		}
	}
	return sealedKey, sealedRaw, nil
}
