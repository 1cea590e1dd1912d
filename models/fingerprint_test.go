package models

import (
	"testing"
)

// Derived state follows its definition: a binary whose model SQL differs
// from the one that built the models rebuilds them in full, with no
// hand-kept version to bump.
func TestChangedModelSQLRebuildsInFull(t *testing.T) {
	w := openWarehouse(t)
	cfg := goldenConfig()
	var offset int64
	writeJSON(t, w, &offset, goldenBatches()[0]...)
	mustBuild(t, w, cfg, false)
	writeJSON(t, w, &offset, goldenBatches()[1]...)
	if st := mustBuild(t, w, cfg, false); st.Full {
		t.Fatalf("same SQL: rebuilt in full (%s)", st.Reason)
	}

	orig := sqlDigest
	sqlDigest = func() string { return "a-changed-model" }
	t.Cleanup(func() { sqlDigest = orig })
	writeJSON(t, w, &offset, goldenBatches()[2]...)
	st := mustBuild(t, w, cfg, false)
	if !st.Full || st.Reason != "configuration, hash key or model definitions changed" {
		t.Fatalf("changed SQL: %+v, want a full rebuild because the definitions changed", st)
	}
}
