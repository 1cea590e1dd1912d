package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"
)

// The sleep functions' own bound (Limits.MaxSleep). DuckDB's sleep_ms, and
// pg_sleep (a macro over it), hold one of the gateway's concurrent query
// places while doing nothing; under the statement timeout alone, a few
// clients sleeping a minute each would keep every other query waiting.
// So a call must sleep a constant of at most MaxSleep (the walker refuses
// any other, sleepCall), and a statement that calls one runs under a
// deadline of twice MaxSleep (sleepBound), which also ends a sleep called
// once per row. DuckDB's sleep checks for interruption, so a cancel
// request ends it at once.

// sleepFunctions are DuckDB's sleep functions and the unit of their argument.
var sleepFunctions = map[string]time.Duration{"pg_sleep": time.Second, "sleep_ms": time.Millisecond}

// errSleepLimit is the cause of a statement context that ran past the
// sleep functions' bound.
var errSleepLimit = errors.New("sleep limit")

// sleepCall checks a call of a sleep function: one numeric constant
// argument, from 0 to Limits.MaxSleep. It marks the query as sleeping.
func (w *walker) sleepCall(name string, m map[string]any) bool {
	max := w.c.srv.cfg.Limits.MaxSleep
	args, _ := m["children"].([]any)
	var d time.Duration
	ok := len(args) == 1
	if ok {
		d, ok = constantDuration(args[0], sleepFunctions[name])
	}
	if !ok {
		w.refuseNamed(codeProgramLimit, fmt.Sprintf("sleep for a constant of at most %s", max),
			"%s takes one numeric constant through the cxlake gateway", name)
		return false
	}
	if d > max {
		w.refuseNamed(codeProgramLimit, "the gateway bounds sleeping apart from the statement timeout",
			"%s sleeps longer than gateway.limits.max_sleep ("+max.String()+")", name)
		return false
	}
	w.sleeps = true
	return true
}

// constantDuration reads a numeric constant of the parse tree (INTEGER,
// BIGINT, DOUBLE, DECIMAL, ...) as a count of unit. Negative values are
// read as zero, as DuckDB sleeps none for them; false for anything that
// is not a finite number constant.
func constantDuration(n any, unit time.Duration) (time.Duration, bool) {
	c, _ := n.(map[string]any)
	if str(c, "class") != "CONSTANT" {
		return 0, false
	}
	v, _ := c["value"].(map[string]any)
	if isTrue(v["is_null"]) {
		return 0, true // sleeps none
	}
	num, ok := v["value"].(json.Number)
	if !ok {
		return 0, false // a string, a list, ...
	}
	f, ok := new(big.Float).SetString(num.String())
	if !ok {
		return 0, false
	}
	typ, _ := v["type"].(map[string]any)
	switch str(typ, "id") {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE":
	case "DECIMAL":
		// The value is the unscaled integer: 1.5 is 15 at scale 1.
		info, _ := typ["type_info"].(map[string]any)
		scale, ok := info["scale"].(json.Number)
		if !ok {
			return 0, false
		}
		sc, err := scale.Int64()
		if err != nil || sc < 0 || sc > 38 {
			return 0, false
		}
		f.Quo(f, new(big.Float).SetFloat64(math.Pow10(int(sc))))
	default:
		return 0, false
	}
	x, _ := f.Float64()
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	if x <= 0 {
		return 0, true
	}
	if x*float64(unit) > float64(math.MaxInt64/2) {
		return time.Duration(math.MaxInt64 / 2), true // past any bound
	}
	return time.Duration(x * float64(unit)), true
}

// sleepBound returns ctx under the sleep functions' deadline when p calls
// one, and ctx itself otherwise.
func (sess *session) sleepBound(ctx context.Context, p *plan) (context.Context, context.CancelFunc) {
	if p == nil || !p.sleeps {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, 2*sess.srv.cfg.Limits.MaxSleep, errSleepLimit)
}
