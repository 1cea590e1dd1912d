package privacy

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/cxlake/cxlake/event"
)

// Identifier is one identifier an event names, with its kind (KindPhone,
// KindEmail, KindIDPrefix and the channel) and keyed hash.
type Identifier struct {
	Kind, Value, Hash string
}

// HashIdentity returns the keyed hashes of id's phone and e-mail ("" when
// absent) and its per-channel ids as a JSON object of channel to hash (nil
// when none), and appends each identifier it names to all: what the
// events table stores in its *_hash columns, and what the governance gate
// checks. b is scratch space.
func HashIdentity(h *Hasher, b *strings.Builder, id event.Identity, all *[]Identifier) (phone, email string, ids json.RawMessage) {
	if id.Phone != "" {
		phone = h.Identifier(KindPhone, id.Phone)
		*all = append(*all, Identifier{KindPhone, id.Phone, phone})
	}
	if id.Email != "" {
		email = h.Identifier(KindEmail, id.Email)
		*all = append(*all, Identifier{KindEmail, id.Email, email})
	}
	if len(id.IDs) == 0 {
		return phone, email, nil
	}
	// A small JSON object, written by hand in sorted key order (the same
	// ids give the same bytes); hashes are hex and need no escaping.
	chans := make([]string, 0, len(id.IDs))
	for ch, v := range id.IDs {
		if v != "" {
			chans = append(chans, ch)
		}
	}
	if len(chans) == 0 {
		return phone, email, nil
	}
	slices.Sort(chans)
	b.Reset()
	b.WriteByte('{')
	for i, ch := range chans {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(ch)
		b.Write(k)
		b.WriteByte(':')
		b.WriteByte('"')
		kind := KindIDPrefix + ch
		hash := h.Identifier(kind, id.IDs[ch])
		*all = append(*all, Identifier{kind, id.IDs[ch], hash})
		b.WriteString(hash)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return phone, email, json.RawMessage(b.String())
}

// ActorKeyOf returns the events.actor_key of an actor: the key of an agent's or a
// bot's id (the per-agent figures group by it), "" for a customer or the
// system, whose ids are not stored in any form but sealed, and without an id.
func ActorKeyOf(h *Hasher, source, kind, id string) string {
	if id == "" || (kind != "agent" && kind != "bot") {
		return ""
	}
	return h.ActorKey(source, id)
}

// HasherPool keeps Hashers, and their memo of identifier hashes, across
// batches. (A sync.Pool would drop them, memo included, at every GC.)
type HasherPool struct {
	key  []byte
	free chan *Hasher
}

// NewHasherPool returns a pool of Hashers under key.
func NewHasherPool(key []byte) HasherPool {
	return HasherPool{key: key, free: make(chan *Hasher, 16)}
}

// Get returns a kept Hasher, or a new one.
func (p HasherPool) Get() *Hasher {
	select {
	case h := <-p.free:
		return h
	default:
		return NewHasher(p.key)
	}
}

// Put keeps h for a later Get, unless enough are kept.
func (p HasherPool) Put(h *Hasher) {
	select {
	case p.free <- h:
	default: // enough kept
	}
}
