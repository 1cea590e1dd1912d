package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cxlake/cxlake/privacy"
)

func TestPrivacyKeyFile(t *testing.T) {
	t.Setenv(EnvKeyFile, "")
	t.Setenv(EnvHashKey, "")
	data := t.TempDir()
	outside := filepath.Join(t.TempDir(), "cx.key")

	c, err := Load(write(t, "data: "+data+"\nprivacy:\n  key_file: "+outside+"\n"))
	if err != nil || c.Privacy.KeyFile != outside {
		t.Fatalf("privacy.key_file: %q, %v; want %s", c.Privacy.KeyFile, err, outside)
	}
	// The variable overrides the file's key.
	other := filepath.Join(t.TempDir(), "other.key")
	t.Setenv(EnvKeyFile, other)
	if c, err = Load(write(t, "data: "+data+"\nprivacy:\n  key_file: "+outside+"\n")); err != nil || c.Privacy.KeyFile != other {
		t.Fatalf("with %s: %q, %v; want %s", EnvKeyFile, c.Privacy.KeyFile, err, other)
	}
	t.Setenv(EnvKeyFile, "")

	// Inside the data directory: refused, naming the key, directly or
	// through a symbolic link (to the directory or to a file in it).
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(data, link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "k"), make([]byte, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	fileLink := filepath.Join(t.TempDir(), "k.key")
	if err := os.Symlink(filepath.Join(data, "k"), fileLink); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(data, "keys", "cx.key"), filepath.Join(link, "cx.key"), fileLink} {
		_, err := Load(write(t, "data: "+data+"\nprivacy:\n  key_file: "+p+"\n"))
		if !errors.As(err, new(*privacy.InsideError)) || !strings.Contains(err.Error(), "privacy.key_file") {
			t.Errorf("key file %s: %v, want an InsideError naming privacy.key_file", p, err)
		}
	}
	// The key from two places: refused.
	_, err = Load(write(t, "data: "+data+"\nprivacy:\n  key_file: "+outside+"\nmodels:\n  hash_key: "+strings.Repeat("ab", 32)+"\n"))
	if err == nil || !strings.Contains(err.Error(), "models.hash_key") {
		t.Errorf("key file and models.hash_key: %v, want a refusal naming both", err)
	}
	t.Setenv(EnvHashKey, strings.Repeat("cd", 32))
	if _, err = Load(write(t, "data: "+data+"\nprivacy:\n  key_file: "+outside+"\n")); err == nil {
		t.Error("key file and CXLAKE_HASH_KEY: accepted")
	}
}
