package warehouse

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cxlake/cxlake/privacy"
)

// A warehouse whose key cxlake run made outside the data directory opens
// with that key from any command, and no file of the directory holds it.
func TestWarehouseFindsTheKeyOutsideItsDirectory(t *testing.T) {
	conf := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", conf)
	t.Setenv("HOME", conf)
	t.Setenv(privacy.EnvKeyFile, "")
	ctx := context.Background()
	dir := t.TempDir()
	key, _, err := privacy.RunKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := Open(ctx, dir, Options{HashKey: key})
	if err != nil {
		t.Fatal(err)
	}
	wh.Close()
	wh, err = Open(ctx, dir, Options{}) // as cxlake erase or query, without the key given
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	if !bytes.Equal(wh.HashKey(), key) {
		t.Fatal("the warehouse opened with another key than the run's")
	}
	if _, err := os.Stat(filepath.Join(dir, privacy.KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Error("a key file was made in the data directory")
	}
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, key) {
			t.Errorf("%s holds the hash key", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
