package warehouse

import (
	"bytes"
	"crypto/cipher"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/cxlake/cxlake/privacy"
)

// The write path's sealing: seal makes a batch's data keys and seals its
// new identifiers, sealContents seals its events' content on all cores.
// What sealing is, and each value's sealing, are privacy's
// (privacy/sealing.go).

// personal is what the write path stores about one event's person.
type personal struct {
	identifierHashes
	subject string // hash of the primary identifier
	content []byte // sealed content, or nil
	// contentSum is the keyed hash of the event's canonical content
	// (events.content_hash, seen.go).
	contentSum uint64
	// conversation is the conversation id as stored: the producer's, or
	// its keyed form when it is not opaque (privacy.ConversationID)
	conversation string
	// actorKey is the pseudonymous key of the agent or bot that acted
	// (privacy.Hasher.ActorKey), "" for other actors and without an id
	actorKey string
	verdict  verdict
	// the data keys the content is sealed under (set by seal)
	subjectID, dayID privacy.KeyID
}

// identifierRow is a new row of the identifiers table.
type identifierRow struct {
	hash, kind string
	value      string // until sealed
	sealed     []byte
	firstSeen  time.Time
	id         privacy.KeyID
}

// knownIdentifiers is the set of identifier hashes in the identifiers
// table (xxh3 of the hash), so each value is sealed and stored once. A
// batch claims the identifiers it stores first (under Warehouse.mu); they
// are released if it does not commit.
type knownIdentifiers map[xxh3.Uint128]struct{}

// sealSlice is how many events are sealed and appended at a time.
const sealSlice = 8192

// seal makes sure the data keys exist (durably, before the batch commits),
// and returns the identifiers seen for the first time, sealed, and the keys
// the records' content is to be sealed under (sealContents).
func (w *Warehouse) seal(t *turn, recs []Record, ps []personal) ([]identifierRow, map[privacy.KeyID]privacy.DataKey, error) {
	var ids []privacy.KeyID
	var idents []identifierRow
	inBatch := map[string]bool{}
	dayIDs := map[int64]privacy.KeyID{}
	subjectIDs := map[string]privacy.KeyID{}
	for i := range recs {
		p := &ps[i]
		if len(p.all) > 0 {
			p.subject = p.all[0].Hash
		}
		if p.verdict == vPseudonymize || p.subject == "" {
			continue
		}
		if p.verdict == vStore {
			sid, ok := subjectIDs[p.subject]
			if !ok {
				sid = privacy.SubjectID(p.subject)
				subjectIDs[p.subject] = sid
				ids = append(ids, sid)
			}
			day := recs[i].Event.OccurredAt.Unix() / 86400
			did, ok := dayIDs[day]
			if !ok {
				did = privacy.DayID(privacy.ClassContent, privacy.DayOf(recs[i].Event.OccurredAt))
				dayIDs[day] = did
				ids = append(ids, did)
			}
			p.subjectID, p.dayID = sid, did
		}
		for _, n := range p.all {
			if inBatch[n.Hash] || !w.claimIdentifier(t, n.Hash) {
				continue
			}
			inBatch[n.Hash] = true
			sid, ok := subjectIDs[n.Hash]
			if !ok {
				sid = privacy.SubjectID(n.Hash)
				subjectIDs[n.Hash] = sid
				ids = append(ids, sid)
			}
			idents = append(idents, identifierRow{hash: n.Hash, kind: n.Kind, value: n.Value, firstSeen: recs[i].Event.OccurredAt, id: sid})
		}
	}
	got, err := w.keys.Ensure(ids)
	if err != nil {
		return nil, nil, fmt.Errorf("making data keys: %w", err)
	}
	keyOf := make(map[privacy.KeyID]privacy.DataKey, len(ids))
	for i, id := range ids {
		keyOf[id] = got[i]
	}
	var nonces privacy.Nonces
	for i := range idents {
		r := &idents[i]
		if r.sealed, err = privacy.SealIdentifier(keyOf[r.id], &nonces, r.hash, r.value); err != nil {
			return nil, nil, err
		}
	}
	return idents, keyOf, nil
}

// claimIdentifier claims hash for t when no stored or in-flight batch has it.
func (w *Warehouse) claimIdentifier(t *turn, hash string) bool {
	k := xxh3.HashString128(hash)
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.known[k]; ok {
		return false
	}
	w.known[k] = struct{}{}
	t.idents = append(t.idents, k)
	return true
}

// sealContents seals the content of every record whose verdict keeps it,
// on all cores for large batches.
func sealContents(recs []Record, ps []personal, keyOf map[privacy.KeyID]privacy.DataKey) error {
	workers := runtime.GOMAXPROCS(0)
	if len(recs) < 1024 {
		workers = 1
	}
	// Seal in (subject, day) order, so that each worker derives a key and
	// builds a cipher once per run of equal keys instead of for most records
	// (records arrive interleaved; measured 0.4 s a million events).
	order := make([]int32, len(recs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		pa, pb := &ps[a], &ps[b]
		if c := bytes.Compare(pa.subjectID[:], pb.subjectID[:]); c != 0 {
			return c
		}
		return bytes.Compare(pa.dayID[:], pb.dayID[:])
	})
	chunk := (len(recs) + workers - 1) / max(workers, 1)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for wi := 0; wi < workers; wi++ {
		lo, hi := wi*chunk, min((wi+1)*chunk, len(recs))
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func(wi, lo, hi int) {
			defer wg.Done()
			var nonces privacy.Nonces
			// Only the last cipher is kept: one per subject and day would
			// hold ~1 KiB of key schedule for most records of a batch at once.
			var last struct{ subject, day privacy.KeyID }
			var a cipher.AEAD
			buf := make([]byte, 0, 4096)
			for _, i := range order[lo:hi] {
				p, e := &ps[i], &recs[i].Event
				if p.verdict != vStore || p.subject == "" {
					continue
				}
				if a == nil || last.subject != p.subjectID || last.day != p.dayID {
					var err error
					a, err = privacy.AEAD(privacy.Derive(keyOf[p.subjectID], keyOf[p.dayID]))
					if err != nil {
						errs[wi] = err
						return
					}
					last.subject, last.day = p.subjectID, p.dayID
				}
				sealed, scratch, err := privacy.SealContent(a, &nonces, e, buf)
				buf = scratch
				if err != nil {
					errs[wi] = err
					return
				}
				p.content = sealed
			}
		}(wi, lo, hi)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("sealing event content: %w", err)
		}
	}
	return nil
}

// sealDeadLetter returns d's key and raw bytes (truncated to
// MaxDeadLetterBytes) sealed under the dead letter's own key.
func sealDeadLetter(d *DeadLetter, k privacy.DataKey, nonces *privacy.Nonces) (key, raw []byte, err error) {
	r := d.Raw
	if len(r) > MaxDeadLetterBytes {
		r = r[:MaxDeadLetterBytes]
	}
	return privacy.SealDeadLetter(k, nonces, d.Topic, d.Partition, d.Offset, r, d.Key)
}
