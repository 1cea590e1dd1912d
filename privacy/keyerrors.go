package privacy

import (
	"errors"
	"fmt"
)

// ErrUnreadable is returned by Open when a sealed value cannot be opened:
// its key was destroyed (erasure, consent withdrawal, retention) or it was
// altered. Callers treat it as "redacted".
var ErrUnreadable = errors.New("sealed value is unreadable: its key was destroyed or it was altered")

// ErrClosed is returned by a Store used after Close.
var ErrKeyStoreClosed = errors.New("key store is closed")

// CorruptError is returned by OpenStore when the key store file is not one.
type KeyStoreCorruptError struct {
	Path   string
	Reason string
}

func (e *KeyStoreCorruptError) Error() string {
	return fmt.Sprintf("key store %s is corrupt: %s; restore it from a backup (without it, every sealed value is unreadable)", e.Path, e.Reason)
}
