package simulate_test

import (
	"fmt"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/simulate"
)

// A generator is a deterministic stream: the same Config gives the same
// messages. Malformed ones must be rejected by the decoder.
func Example() {
	g := simulate.New(simulate.Config{Seed: 1, MalformedRate: 0.2})
	var dec event.Decoder
	for range 8 {
		m := g.Next()
		ev, err := dec.Decode(m.Value)
		if !m.Valid {
			fmt.Println("malformed:", m.Defect, "rejected:", err != nil)
			continue
		}
		fmt.Println(ev.Type, ev.Channel)
	}
	// Output:
	// conversation_opened messenger
	// malformed: missing_field rejected: true
	// message messenger
	// consent messenger
	// message messenger
	// conversation_opened messenger
	// message messenger
	// message messenger
}
