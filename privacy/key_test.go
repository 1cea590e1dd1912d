package privacy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// isolate points the user's config directory and CXLAKE_KEY_FILE at
// nothing of the machine's.
func isolate(t *testing.T) string {
	t.Helper()
	conf := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", conf)
	t.Setenv("HOME", conf)
	t.Setenv(EnvKeyFile, "")
	return conf
}

func TestRunKeyLivesOutsideTheDataDirectory(t *testing.T) {
	conf := isolate(t)
	data := t.TempDir()
	key, where, err := RunKey(data)
	if err != nil {
		t.Fatal(err)
	}
	def, _ := DefaultKeyFile(data)
	if where != def || !filepath.IsAbs(where) || filepath.Dir(filepath.Dir(filepath.Dir(where))) != conf {
		t.Errorf("key file %s, want %s under %s", where, def, conf)
	}
	st, err := os.Stat(where)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	if _, err := os.Stat(filepath.Join(data, KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Error("the data directory holds a key file")
	}
	// The next run, and any command opening the directory, find the same key.
	again, _, err := RunKey(data)
	if err != nil || !bytes.Equal(again, key) {
		t.Errorf("second RunKey: %v, same key %v", err, bytes.Equal(again, key))
	}
	found, _, err := FindKey(data)
	if err != nil || !bytes.Equal(found, key) {
		t.Errorf("FindKey: %v, same key %v", err, bytes.Equal(found, key))
	}
	// Another data directory gets another key.
	other, _, err := RunKey(t.TempDir())
	if err != nil || bytes.Equal(other, key) {
		t.Errorf("another directory: %v, same key %v", err, bytes.Equal(other, key))
	}
}

func TestRunKeyRefusesTheDemoKey(t *testing.T) {
	isolate(t)
	data := t.TempDir()
	if _, err := LoadOrCreateKey(data); err != nil {
		t.Fatal(err)
	}
	if _, _, err := RunKey(data); err == nil {
		t.Fatal("RunKey accepted a key inside the data directory")
	}
}

func TestKeyFileRules(t *testing.T) {
	isolate(t)
	data := t.TempDir()
	if _, err := LoadOrCreateKeyFile(filepath.Join(data, "sub", "k.key"), data); !errors.As(err, new(*InsideError)) {
		t.Errorf("a key file inside the data directory: %v, want an InsideError", err)
	}
	// Through a symlink to the data directory, still inside.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(data, link); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeyFile(filepath.Join(link, "k.key"), data); !errors.As(err, new(*InsideError)) {
		t.Errorf("a key file inside the data directory through a symlink: %v, want an InsideError", err)
	}
	loose := filepath.Join(t.TempDir(), "loose.key")
	if err := os.WriteFile(loose, bytes.Repeat([]byte{7}, 32), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeyFile(loose, data); err == nil {
		t.Error("a key file others may read was accepted")
	}
	// CXLAKE_KEY_FILE wins, and is made when missing.
	named := filepath.Join(t.TempDir(), "named.key")
	t.Setenv(EnvKeyFile, named)
	key, where, err := FindKey(data)
	if err != nil || where != named || len(key) != KeyBytes {
		t.Errorf("FindKey with %s: %d bytes from %s, %v", EnvKeyFile, len(key), where, err)
	}
}

func TestRunKeyFileTakesTheConfiguredFile(t *testing.T) {
	isolate(t)
	data := t.TempDir()
	named := filepath.Join(t.TempDir(), "cx.key")
	t.Setenv(EnvKeyFile, filepath.Join(t.TempDir(), "env.key"))
	key, where, err := RunKeyFile(data, named)
	if err != nil || where != named || len(key) != KeyBytes {
		t.Fatalf("RunKeyFile: %d bytes from %s, %v; want %s", len(key), where, err, named)
	}
	if err := os.Chmod(named, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := RunKeyFile(data, named); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a key readable by the group: %v, want a refusal", err)
	}
	if _, _, err := RunKeyFile(data, filepath.Join(data, "cx.key")); !errors.As(err, new(*InsideError)) {
		t.Errorf("a key file in the data directory: %v, want an InsideError", err)
	}
}
