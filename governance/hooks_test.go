package governance

import "time"

// SetErasureStepHook makes f run after each erasure step is recorded
// (the kill test kills the process there).
func SetErasureStepHook(f func(step string)) { erasureStepHook = f }

// ErasureSteps are the steps of an erasure, in order.
var ErasureSteps = erasureSteps

// SetAPIWait sets how long the API waits for an erasure before 202.
func (g *Governance) SetAPIWait(d time.Duration) { g.apiWait = d }

// EndLife is Stop's first half: it ends governance's lifetime and returns
// without waiting for the erasures it stops.
func (g *Governance) EndLife() { g.stopLife() }
