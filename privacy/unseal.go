package privacy

import (
	"crypto/cipher"
	"time"
)

// Unsealing is the one way back to personal data: compliance reads (access
// export, contact_identities, the warehouse's cx_* SQL functions) decrypt
// here. A value whose key was destroyed opens as ErrUnreadable, which
// callers show as redacted.

// OpenContent returns the content of an event from its sealed column value
// and the event's id, subject hash and time, under the keys in ks.
func OpenContent(ks *KeyStore, eventID, subject string, occurredAt time.Time, sealed []byte) (Content, error) {
	a, err := ContentAEAD(ks, subject, occurredAt)
	if err != nil {
		return Content{}, err
	}
	pt, err := Open(a, sealed, contentAAD(eventID))
	if err != nil {
		return Content{}, err
	}
	return decodeContent(pt)
}

// ContentAEAD is the cipher the content of an event of subject (its
// primary identifier's hash) at occurredAt is sealed under: its subject
// key and its day's content key, derived. ErrUnreadable when either is
// destroyed.
func ContentAEAD(ks *KeyStore, subject string, occurredAt time.Time) (cipher.AEAD, error) {
	sk, ok1 := ks.Get(SubjectID(subject))
	dk, ok2 := ks.Get(DayID(ClassContent, DayOf(occurredAt)))
	if !ok1 || !ok2 {
		return nil, ErrUnreadable
	}
	return AEAD(Derive(sk, dk))
}

// OpenIdentifier returns the value of an identifier from its sealed_value.
func OpenIdentifier(ks *KeyStore, hash string, sealed []byte) (string, error) {
	k, ok := ks.Get(SubjectID(hash))
	if !ok {
		return "", ErrUnreadable
	}
	a, err := AEAD(k)
	if err != nil {
		return "", err
	}
	pt, err := Open(a, sealed, identifierAAD(hash))
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// OpenDeadLetter returns a dead letter's raw bytes and Kafka key from their
// sealed columns (sealedKey may be nil).
func OpenDeadLetter(ks *KeyStore, topic string, partition int, offset int64, sealedRaw, sealedKey []byte) (raw, key []byte, err error) {
	k, ok := ks.Get(DeadLetterID(topic, partition, offset))
	if !ok {
		return nil, nil, ErrUnreadable
	}
	a, err := AEAD(k)
	if err != nil {
		return nil, nil, err
	}
	if raw, err = Open(a, sealedRaw, deadLetterAAD(topic, partition, offset, "raw")); err != nil {
		return nil, nil, err
	}
	if len(sealedKey) > 0 {
		if key, err = Open(a, sealedKey, deadLetterAAD(topic, partition, offset, "key")); err != nil {
			return nil, nil, err
		}
	}
	return raw, key, nil
}
