package warehouse

import "github.com/zeebo/xxh3"

// After erasure or retention deletes events, the in-memory sets the writer
// keeps still hold them until restart. Forget makes them agree with the
// tables at once, so that a running process and a restarted one treat a
// replay the same way:
//
//   - a replayed event of an erased person is dropped by the gate
//     (identifier_rules, counted as suppressed), not as a duplicate;
//   - a replayed event older than the raw-events retention is dropped by
//     the gate (counted as expired);
//   - any other replayed event whose row was deleted is stored again.
//
// Forgotten identifiers are sealed and stored again if an event names them
// later (never for suppressed ones).

// ForgetEvents removes event ids from the set of stored ids. Call it inside
// Exclusive, after the deletion committed.
func (w *Warehouse) ForgetEvents(ids []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		delete(w.seen, xxh3.HashString128(id))
	}
}

// ForgetIdentifiers removes identifier hashes from the set of stored
// identifiers. Call it only inside Exclusive, after the deletion committed.
func (w *Warehouse) ForgetIdentifiers(hashes []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, h := range hashes {
		delete(w.known, xxh3.HashString128(h))
	}
}
