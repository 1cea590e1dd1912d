// Package keys owns the data keys behind cxlake's crypto-shredding: personal
// data is stored only as AES-256-GCM ciphertext under keys kept here, so
// destroying a key makes every copy of the data unreadable — in DuckDB's
// free blocks, its WAL, old row groups — without rewriting the store.
//
// A key is named by an ID, a domain-separated hash (SubjectID, DayID,
// DeadLetterID), never by a raw identifier. The store is one small file
// under the data directory: new keys are appended and fsynced before the
// data they seal is committed; destroying keys rewrites the file without
// them (new file, fsync, rename), so destroyed keys physically leave the
// directory. It is the only place keys live.
package keys

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

// File is the key store's name inside a data directory.
const File = "data_keys.bin"

// magic starts the file; records of recordSize bytes follow.
const (
	magic      = "CXKEYS1\n"
	recordSize = 2 * 32
)

// ID names a key. It is a hash: knowing an ID reveals nothing about whom
// or what the key seals.
type ID [32]byte

// Key is a 256-bit data key.
type Key [32]byte

func id(domain string, parts ...[]byte) ID {
	h := sha256.New()
	h.Write([]byte(domain))
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	var out ID
	h.Sum(out[:0])
	return out
}

// SubjectID names the key of one identifier, given its keyed hash (the hex
// identifier hash stored beside events).
func SubjectID(identifierHash string) ID {
	return id("cxlake/keys/subject/v1", []byte(identifierHash))
}

// Data classes sealed under day keys; retention destroys a class's day keys
// older than its policy.
const (
	ClassIdentifiers = "identifiers" // contact and link identifiers, names
	ClassContent     = "content"     // message texts, summaries, comments, raw payloads
)

// DayID names the key of one UTC day ("2026-11-21") of one data class.
func DayID(class, day string) ID {
	return id("cxlake/keys/day/v1", []byte(class), []byte(day))
}

// DeadLetterID names the key of one dead letter, by its coordinates.
func DeadLetterID(topic string, partition int, offset int64) ID {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(partition))
	binary.BigEndian.PutUint64(b[8:], uint64(offset))
	return id("cxlake/keys/dead_letter/v1", []byte(topic), b[:])
}

type entry struct {
	id  ID
	key Key
}

// Store holds the data keys of a data directory. It is safe for concurrent use.
type Store struct {
	path string

	mu     sync.RWMutex
	sorted []entry    // loaded at open or at the last rewrite, by id
	recent map[ID]Key // appended since
	f      *os.File   // append handle
}

// OpenStore opens (or creates) the key store in dataDir. A torn last record
// (a crash while appending keys whose data was never committed) is dropped.
func OpenStore(dataDir string) (*Store, error) {
	path := filepath.Join(dataDir, File)
	s := &Store{path: path, recent: map[ID]Key{}}
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("creating data directory for the key store: %w", err)
		}
		if err := writeAtomic(path, nil); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("reading the key store: %w", err)
	default:
		if !bytes.HasPrefix(raw, []byte(magic)) {
			return nil, &CorruptError{Path: path, Reason: "it does not start with " + magic[:7]}
		}
		body := raw[len(magic):]
		if torn := len(body) % recordSize; torn != 0 {
			body = body[:len(body)-torn]
			if err := os.Truncate(path, int64(len(magic)+len(body))); err != nil {
				return nil, fmt.Errorf("dropping a torn key record: %w", err)
			}
		}
		s.sorted = make([]entry, 0, len(body)/recordSize)
		for off := 0; off < len(body); off += recordSize {
			var e entry
			copy(e.id[:], body[off:off+32])
			copy(e.key[:], body[off+32:off+64])
			s.sorted = append(s.sorted, e)
		}
		slices.SortFunc(s.sorted, func(a, b entry) int { return bytes.Compare(a.id[:], b.id[:]) })
		s.sorted = slices.CompactFunc(s.sorted, func(a, b entry) bool { return a.id == b.id })
	}
	if s.f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return nil, fmt.Errorf("opening the key store: %w", err)
	}
	return s, nil
}

// Close closes the store's file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// Len is the number of keys held.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sorted) + len(s.recent)
}

// Get returns the key named id; ok is false when there is none (never
// made, or destroyed).
func (s *Store) Get(id ID) (Key, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.get(id)
}

func (s *Store) get(id ID) (Key, bool) {
	if k, ok := s.recent[id]; ok {
		return k, true
	}
	i, ok := slices.BinarySearchFunc(s.sorted, id, func(e entry, t ID) int { return bytes.Compare(e.id[:], t[:]) })
	if !ok {
		return Key{}, false
	}
	return s.sorted[i].key, true
}

// Ensure makes a fresh random key for every id that has none, and makes
// them durable (append and fsync) before it returns: call it before
// committing data sealed under them. It returns the keys of all ids, in order.
func (s *Store) Ensure(ids []ID) ([]Key, error) {
	out := make([]Key, len(ids))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil, ErrClosed
	}
	var buf []byte
	var made []entry
	for i, id := range ids {
		if k, ok := s.get(id); ok {
			out[i] = k
			continue
		}
		var k Key
		if _, err := rand.Read(k[:]); err != nil {
			return nil, fmt.Errorf("making a data key: %w", err)
		}
		s.recent[id] = k // also dedupes repeated ids within ids
		out[i] = k
		made = append(made, entry{id, k})
		buf = append(buf, id[:]...)
		buf = append(buf, k[:]...)
	}
	if len(buf) == 0 {
		return out, nil
	}
	if _, err := s.f.Write(buf); err != nil {
		for _, e := range made {
			delete(s.recent, e.id)
		}
		return nil, fmt.Errorf("appending data keys: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		for _, e := range made {
			delete(s.recent, e.id)
		}
		return nil, fmt.Errorf("syncing data keys: %w", err)
	}
	return out, nil
}

// Destroy removes the keys named by ids and rewrites the store file without
// them (new file, fsync, rename, fsync of the directory), so that they are
// in no file of the data directory when it returns. It returns how many of
// ids had a key. The rewrite costs O(keys held), a few dozen bytes a key.
func (s *Store) Destroy(ids []ID) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return 0, ErrClosed
	}
	drop := make(map[ID]bool, len(ids))
	for _, id := range ids {
		if _, ok := s.get(id); ok {
			drop[id] = true
		}
	}
	if len(drop) == 0 {
		return 0, nil
	}
	return len(drop), s.rewrite(func(id ID) bool { return !drop[id] })
}

// DestroyWhere destroys every key for which match returns true, like Destroy.
func (s *Store) DestroyWhere(match func(ID) bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return 0, ErrClosed
	}
	n := 0
	for _, e := range s.sorted {
		if match(e.id) {
			n++
		}
	}
	for id := range s.recent {
		if match(id) {
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	return n, s.rewrite(func(id ID) bool { return !match(id) })
}

// rewrite keeps the keys for which keep is true, merged and sorted, in a
// new file that replaces the old one.
func (s *Store) rewrite(keep func(ID) bool) error {
	all := make([]entry, 0, len(s.sorted)+len(s.recent))
	for _, e := range s.sorted {
		if keep(e.id) {
			all = append(all, e)
		}
	}
	for id, k := range s.recent {
		if keep(id) {
			all = append(all, entry{id, k})
		}
	}
	slices.SortFunc(all, func(a, b entry) int { return bytes.Compare(a.id[:], b.id[:]) })
	body := make([]byte, 0, len(all)*recordSize)
	for _, e := range all {
		body = append(body, e.id[:]...)
		body = append(body, e.key[:]...)
	}
	if err := writeAtomic(s.path, body); err != nil {
		return err
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("reopening the key store: %w", err)
	}
	s.f.Close()
	s.f = f
	s.sorted = all
	s.recent = map[ID]Key{}
	return nil
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
