package ratelog

import (
	"fmt"
	"testing"
	"time"
)

func TestOnePerKeyPerIntervalWithSuppressedCount(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	l := New(time.Minute)
	l.now = func() time.Time { return now }
	if ok, n := l.Allow("a"); !ok || n != 0 {
		t.Fatalf("first line for a: %v %d", ok, n)
	}
	for range 5 {
		if ok, _ := l.Allow("a"); ok {
			t.Fatal("a second line within the minute was let through")
		}
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another key was held back")
	}
	now = now.Add(time.Minute)
	if ok, n := l.Allow("a"); !ok || n != 5 {
		t.Fatalf("a minute later: %v with %d suppressed, want true with 5", ok, n)
	}
}

// Varying the key cannot grow the limiter past maxKeys, nor get more than
// one line per interval out of it once it is full.
func TestKeysAreBounded(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	l := New(time.Minute)
	l.now = func() time.Time { return now }
	let := 0
	for i := range 3 * maxKeys {
		if ok, _ := l.Allow(fmt.Sprint(i)); ok {
			let++
		}
	}
	if len(l.keys) > maxKeys+1 || let != maxKeys+1 {
		t.Fatalf("%d keys held, %d lines let through; want at most %d and %d", len(l.keys), let, maxKeys+1, maxKeys+1)
	}
}
