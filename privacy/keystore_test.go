package privacy

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestEnsureIsDurableAndDestroyRemovesKeysFromTheFile(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := SubjectID("aa"), SubjectID("bb"), DayID(ClassContent, "2026-11-21")
	ks, err := s.Ensure([]KeyID{a, b, a, c})
	if err != nil {
		t.Fatal(err)
	}
	if ks[0] != ks[2] || ks[0] == ks[1] {
		t.Fatal("Ensure gave one id two keys, or two ids one key")
	}
	again, _ := s.Ensure([]KeyID{b})
	if again[0] != ks[1] {
		t.Fatal("Ensure replaced an existing key")
	}
	s.Close()

	s, err = OpenKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := s.Get(a); !ok || k != ks[0] {
		t.Fatal("key lost across reopen")
	}
	n, err := s.Destroy([]KeyID{a, SubjectID("never")})
	if err != nil || n != 1 {
		t.Fatalf("Destroy = %d, %v", n, err)
	}
	if _, ok := s.Get(a); ok {
		t.Fatal("destroyed key still readable")
	}
	raw := allFiles(t, dir)
	if bytes.Contains(raw, ks[0][:]) || bytes.Contains(raw, a[:]) {
		t.Fatal("destroyed key is still in a store file")
	}
	if !bytes.Contains(raw, ks[1][:]) {
		t.Fatal("kept key missing from the store files")
	}
	// New keys after a rewrite append to the new file.
	d, _ := s.Ensure([]KeyID{SubjectID("dd")})
	s.Close()
	s, _ = OpenKeyStore(dir)
	defer s.Close()
	if k, ok := s.Get(SubjectID("dd")); !ok || k != d[0] {
		t.Fatal("key appended after a rewrite lost")
	}
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3", s.Len())
	}
}

func TestTornRecordIsDropped(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenKeyStore(dir)
	s.Ensure([]KeyID{SubjectID("x")})
	s.Close()
	f, _ := os.OpenFile(filepath.Join(dir, KeyStoreDir, "journal.bin"), os.O_WRONLY|os.O_APPEND, 0)
	f.Write(make([]byte, 40))
	f.Close()
	s, err := OpenKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Len() != 1 {
		t.Fatalf("Len = %d after a torn append", s.Len())
	}
}

func TestNotAKeyStore(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, KeyStoreDir), 0o700)
	os.WriteFile(filepath.Join(dir, KeyStoreDir, "journal.bin"), []byte("hello"), 0o600)
	var ce *KeyStoreCorruptError
	if _, err := OpenKeyStore(dir); !errors.As(err, &ce) {
		t.Fatalf("OpenStore = %v, want CorruptError", err)
	}
}

func TestSealOpen(t *testing.T) {
	var k1, k2 DataKey
	k1[0], k2[0] = 1, 2
	a1, _ := AEAD(Derive(k1, k2))
	var n Nonces
	sealed, err := Seal(a1, &n, nil, []byte("Meu pedido 1234 não chegou"), []byte("ev-1/content"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("pedido")) {
		t.Fatal("plaintext visible in the sealed value")
	}
	other, _ := Seal(a1, &n, nil, []byte("Meu pedido 1234 não chegou"), []byte("ev-1/content"))
	if bytes.Equal(sealed, other) {
		t.Fatal("two seals of one value are equal: nonces repeat")
	}
	pt, err := Open(a1, sealed, []byte("ev-1/content"))
	if err != nil || string(pt) != "Meu pedido 1234 não chegou" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if _, err := Open(a1, sealed, []byte("ev-2/content")); !errors.Is(err, ErrUnreadable) {
		t.Fatal("a sealed value opened in another row")
	}
	a2, _ := AEAD(Derive(k1, k1))
	if _, err := Open(a2, sealed, []byte("ev-1/content")); !errors.Is(err, ErrUnreadable) {
		t.Fatal("a sealed value opened under another key")
	}
}

func BenchmarkSealEvent(b *testing.B) {
	var k DataKey
	var n Nonces
	text := bytes.Repeat([]byte("x"), 300)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		k[0] = byte(i)
		a, _ := AEAD(Derive(k, k))
		Seal(a, &n, nil, text, []byte("ev-123456/content"))
	}
}

// allFiles concatenates every file under dir.
func allFiles(t *testing.T, dir string) []byte {
	t.Helper()
	var out []byte
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			out = append(out, b...)
		}
		return nil
	})
	return out
}

// Destroying keys after the journal was merged rewrites only their shards,
// and no destroyed key survives in any file; a reopen sees the same keys.
func TestMergeAndShardedDestroy(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []KeyID
	for i := 0; i < 100000; i++ { // 6 MiB: the journal is merged at least once
		ids = append(ids, SubjectID(fmt.Sprint("subject-", i)))
	}
	ks, err := s.Ensure(ids)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, KeyStoreDir, "journal.bin")); fi.Size() > journalLimit {
		t.Fatalf("journal of %d bytes was not merged", fi.Size())
	}
	more, _ := s.Ensure([]KeyID{SubjectID("late")}) // in the journal
	// A file counts as rewritten when its inode (a write-and-rename) or
	// its content (a write in place) changed. Modification times are not
	// used: a fast rewrite can leave them unchanged.
	type version struct {
		ino uint64
		sum [sha256.Size]byte
	}
	stat := func() map[string]version {
		m := map[string]version{}
		es, _ := os.ReadDir(filepath.Join(dir, KeyStoreDir))
		for _, e := range es {
			name := filepath.Join(dir, KeyStoreDir, e.Name())
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			var st syscall.Stat_t
			if err := syscall.Stat(name, &st); err != nil {
				t.Fatal(err)
			}
			m[e.Name()] = version{st.Ino, sha256.Sum256(b)}
		}
		return m
	}
	before := stat()
	gone := []KeyID{ids[7], ids[12345], SubjectID("late")}
	n, err := s.Destroy(gone)
	if err != nil || n != 3 {
		t.Fatalf("Destroy = %d, %v", n, err)
	}
	after := stat()
	changed := 0
	for name, mt := range after {
		if before[name] != mt {
			changed++
		}
	}
	if changed > 3 { // at most two shards and the journal
		t.Errorf("%d files rewritten to destroy 3 keys", changed)
	}
	raw := allFiles(t, dir)
	for _, k := range []DataKey{ks[7], ks[12345], more[0]} {
		if bytes.Contains(raw, k[:]) {
			t.Fatal("a destroyed key is still in a file")
		}
	}
	s.Close()
	s2, err := OpenKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Len() != 100000-2 {
		t.Fatalf("Len after reopen = %d", s2.Len())
	}
	if k, ok := s2.Get(ids[8]); !ok || k != ks[8] {
		t.Fatal("a kept key changed across reopen")
	}
	if _, ok := s2.Get(ids[7]); ok {
		t.Fatal("a destroyed key came back")
	}
}
