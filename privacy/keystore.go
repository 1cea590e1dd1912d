package privacy

// The key store holds the data keys behind cxlake's crypto-shredding:
// personal data is stored only as AES-256-GCM ciphertext under keys kept
// here, so destroying a key makes every copy of the data unreadable — in
// DuckDB's free blocks, its WAL, old row groups — without rewriting the
// store.
//
// A key is named by a KeyID, a domain-separated hash (SubjectID, DayID,
// DeadLetterID), never by a raw identifier. The store is a folder under the
// data directory (DATA/data_keys): new keys are appended to a journal and
// fsynced before the data they seal is committed; the journal is merged
// into 64 shard files (by the id's first byte) once it passes 4 MiB.
// Destroying keys rewrites only the journal and the shards that held them
// (new file, fsync, rename), so destroyed keys physically leave the
// directory at a cost of a few shards, not of the whole store. It is the
// only place data keys live.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Dir is the key store's folder inside a data directory: a journal of new
// keys and shard files by the first byte of the key id.
const KeyStoreDir = "data_keys"

// magic starts every file of the store; records of recordSize bytes follow.
const (
	magic      = "CXKEYS1\n"
	recordSize = 2 * 32
)

// shards is how many files hold the keys: destroying keys rewrites only
// the shards (and the journal) that held them.
const shards = 64

// journalLimit is the journal size past which Ensure merges it into the
// shards.
const journalLimit = 4 << 20

// ID names a key. It is a hash: knowing an ID reveals nothing about whom
// or what the key seals.
type KeyID [32]byte

// Key is a 256-bit data key.
type DataKey [32]byte

func id(domain string, parts ...[]byte) KeyID {
	h := sha256.New()
	h.Write([]byte(domain))
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	var out KeyID
	h.Sum(out[:0])
	return out
}

// SubjectID names the key of one identifier, given its keyed hash (the hex
// identifier hash stored beside events).
func SubjectID(identifierHash string) KeyID {
	return id("cxlake/keys/subject/v1", []byte(identifierHash))
}

// Data classes sealed under day keys; retention destroys a class's day keys
// older than its policy.
const (
	ClassIdentifiers = "identifiers" // contact and link identifiers, names
	ClassContent     = "content"     // message texts, summaries, comments, raw payloads
)

// DayID names the key of one UTC day ("2026-11-21") of one data class.
func DayID(class, day string) KeyID {
	return id("cxlake/keys/day/v1", []byte(class), []byte(day))
}

// DeadLetterID names the key of one dead letter, by its coordinates.
func DeadLetterID(topic string, partition int, offset int64) KeyID {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(partition))
	binary.BigEndian.PutUint64(b[8:], uint64(offset))
	return id("cxlake/keys/dead_letter/v1", []byte(topic), b[:])
}

type entry struct {
	id  KeyID
	key DataKey
}

func shardOf(id KeyID) int { return int(id[0]) % shards }

func cmpEntry(a, b entry) int { return bytes.Compare(a.id[:], b.id[:]) }

// Store holds the data keys of a data directory. It is safe for concurrent use.
type KeyStore struct {
	dir string

	mu      sync.RWMutex
	shard   [shards][]entry   // merged keys, sorted by id
	journal map[KeyID]DataKey // keys appended since the last merge
	jf      *os.File          // the journal, open for appending
	jsize   int64
	closed  bool
}

func (s *KeyStore) shardPath(i int) string {
	return filepath.Join(s.dir, fmt.Sprintf("shard-%02d.bin", i))
}
func (s *KeyStore) journalPath() string { return filepath.Join(s.dir, "journal.bin") }

// readRecords reads a store file; a torn last record (a crash while
// appending keys whose data was never committed) is dropped.
func readRecords(path string) ([]entry, int64, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading the key store: %w", err)
	}
	if !bytes.HasPrefix(raw, []byte(magic)) {
		return nil, 0, &KeyStoreCorruptError{Path: path, Reason: "it does not start with " + magic[:7]}
	}
	body := raw[len(magic):]
	body = body[:len(body)-len(body)%recordSize]
	out := make([]entry, 0, len(body)/recordSize)
	for off := 0; off < len(body); off += recordSize {
		var e entry
		copy(e.id[:], body[off:off+32])
		copy(e.key[:], body[off+32:off+64])
		out = append(out, e)
	}
	return out, int64(len(magic) + len(body)), nil
}

// OpenStore opens (or creates) the key store of dataDir.
func OpenKeyStore(dataDir string) (*KeyStore, error) {
	s := &KeyStore{dir: filepath.Join(dataDir, KeyStoreDir), journal: map[KeyID]DataKey{}}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the key store: %w", err)
	}
	for i := 0; i < shards; i++ {
		es, _, err := readRecords(s.shardPath(i))
		if err != nil {
			return nil, err
		}
		slices.SortFunc(es, cmpEntry)
		s.shard[i] = slices.CompactFunc(es, func(a, b entry) bool { return a.id == b.id })
	}
	js, size, err := readRecords(s.journalPath())
	if err != nil {
		return nil, err
	}
	for _, e := range js {
		if _, ok := s.inShard(e.id); !ok { // a merge that crashed before emptying the journal
			s.journal[e.id] = e.key
		}
	}
	if size == 0 {
		if err := writeAtomic(s.journalPath(), nil); err != nil {
			return nil, err
		}
		size = int64(len(magic))
	} else if err := os.Truncate(s.journalPath(), size); err != nil {
		return nil, fmt.Errorf("dropping a torn key record: %w", err)
	}
	if s.jf, err = os.OpenFile(s.journalPath(), os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return nil, fmt.Errorf("opening the key store: %w", err)
	}
	s.jsize = size
	return s, nil
}

// Close closes the store's journal.
func (s *KeyStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.jf.Close()
}

// Len is the number of keys held.
func (s *KeyStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := len(s.journal)
	for i := range s.shard {
		n += len(s.shard[i])
	}
	return n
}

// Get returns the key named id; ok is false when there is none (never
// made, or destroyed).
func (s *KeyStore) Get(id KeyID) (DataKey, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.get(id)
}

func (s *KeyStore) get(id KeyID) (DataKey, bool) {
	if k, ok := s.journal[id]; ok {
		return k, true
	}
	return s.inShard(id)
}

func (s *KeyStore) inShard(id KeyID) (DataKey, bool) {
	sh := s.shard[shardOf(id)]
	i, ok := slices.BinarySearchFunc(sh, id, func(e entry, t KeyID) int { return bytes.Compare(e.id[:], t[:]) })
	if !ok {
		return DataKey{}, false
	}
	return sh[i].key, true
}

// Ensure makes a fresh random key for every id that has none, and makes
// them durable (one append and fsync of the journal) before it returns:
// call it before committing data sealed under them. It returns the keys of
// all ids, in order. Now and then it merges the journal into the shards.
func (s *KeyStore) Ensure(ids []KeyID) ([]DataKey, error) {
	out := make([]DataKey, len(ids))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrKeyStoreClosed
	}
	var buf []byte
	var made []KeyID
	for i, id := range ids {
		if k, ok := s.get(id); ok {
			out[i] = k
			continue
		}
		var k DataKey
		if _, err := rand.Read(k[:]); err != nil {
			return nil, fmt.Errorf("making a data key: %w", err)
		}
		s.journal[id] = k // also dedupes repeated ids within ids
		out[i] = k
		made = append(made, id)
		buf = append(buf, id[:]...)
		buf = append(buf, k[:]...)
	}
	if len(buf) == 0 {
		return out, nil
	}
	undo := func() {
		for _, id := range made {
			delete(s.journal, id)
		}
	}
	if _, err := s.jf.Write(buf); err != nil {
		undo()
		return nil, fmt.Errorf("appending data keys: %w", err)
	}
	if err := s.jf.Sync(); err != nil {
		undo()
		return nil, fmt.Errorf("syncing data keys: %w", err)
	}
	s.jsize += int64(len(buf))
	if s.jsize > journalLimit {
		if err := s.merge(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// merge moves the journal's keys into the shards: the shards they fall in
// are rewritten, then the journal is emptied.
func (s *KeyStore) merge() error {
	touched := map[int]bool{}
	for id, k := range s.journal {
		i := shardOf(id)
		s.shard[i] = append(s.shard[i], entry{id, k})
		touched[i] = true
	}
	for i := range touched {
		slices.SortFunc(s.shard[i], cmpEntry)
		if err := writeAtomic(s.shardPath(i), encodeEntries(s.shard[i])); err != nil {
			return err
		}
	}
	if err := s.rewriteJournal(nil); err != nil {
		return err
	}
	s.journal = map[KeyID]DataKey{}
	return nil
}

func encodeEntries(es []entry) []byte {
	body := make([]byte, 0, len(es)*recordSize)
	for _, e := range es {
		body = append(body, e.id[:]...)
		body = append(body, e.key[:]...)
	}
	return body
}

// rewriteJournal replaces the journal with keep and reopens it for appending.
func (s *KeyStore) rewriteJournal(keep map[KeyID]DataKey) error {
	es := make([]entry, 0, len(keep))
	for id, k := range keep {
		es = append(es, entry{id, k})
	}
	if err := writeAtomic(s.journalPath(), encodeEntries(es)); err != nil {
		return err
	}
	f, err := os.OpenFile(s.journalPath(), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("reopening the key store journal: %w", err)
	}
	s.jf.Close()
	s.jf = f
	s.jsize = int64(len(magic) + len(es)*recordSize)
	return nil
}

// Destroy removes the keys named by ids and rewrites the files that held
// them (the journal, and the shards of those ids) without them (new file,
// fsync, rename, fsync of the folder), so that they are in no file of the
// data directory when it returns. It returns how many of ids had a key.
func (s *KeyStore) Destroy(ids []KeyID) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrKeyStoreClosed
	}
	drop := make(map[KeyID]bool, len(ids))
	touched := map[int]bool{}
	n, inJournal := 0, false
	for _, id := range ids {
		if drop[id] {
			continue
		}
		drop[id] = true
		if _, ok := s.journal[id]; ok {
			n++
			inJournal = true
		} else if _, ok := s.inShard(id); ok {
			n++
			touched[shardOf(id)] = true
		}
	}
	return n, s.rewrite(inJournal, touched, func(id KeyID) bool { return drop[id] })
}

// rewrite drops the keys matching drop from the journal (when inJournal)
// and from the touched shards, rewriting those files.
func (s *KeyStore) rewrite(inJournal bool, touched map[int]bool, drop func(KeyID) bool) error {
	if inJournal {
		keep := make(map[KeyID]DataKey, len(s.journal))
		for id, k := range s.journal {
			if !drop(id) {
				keep[id] = k
			}
		}
		if err := s.rewriteJournal(keep); err != nil {
			return err
		}
		s.journal = keep
	}
	for i := range touched {
		kept := make([]entry, 0, len(s.shard[i]))
		for _, e := range s.shard[i] {
			if !drop(e.id) {
				kept = append(kept, e)
			}
		}
		if err := writeAtomic(s.shardPath(i), encodeEntries(kept)); err != nil {
			return err
		}
		s.shard[i] = kept
	}
	return nil
}

// DestroyWhere destroys every key for which match returns true, like Destroy.
// It looks at every key; only the files holding matches are rewritten.
func (s *KeyStore) DestroyWhere(match func(KeyID) bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrKeyStoreClosed
	}
	n, inJournal := 0, false
	for id := range s.journal {
		if match(id) {
			n++
			inJournal = true
		}
	}
	touched := map[int]bool{}
	for i := range s.shard {
		for _, e := range s.shard[i] {
			if match(e.id) {
				n++
				touched[i] = true
			}
		}
	}
	return n, s.rewrite(inJournal, touched, match)
}

// writeAtomic replaces path with magic+body durably.
func writeAtomic(path string, body []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing the key store: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_, _ = io.WriteString(w, magic)
	_, _ = w.Write(body)
	if err := errors.Join(w.Flush(), f.Sync(), f.Close()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing the key store: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replacing the key store: %w", err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("syncing the data directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing the data directory: %w", err)
	}
	return nil
}
