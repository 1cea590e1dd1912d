package warehouse

import (
	"database/sql/driver"
	"encoding/json"
	"time"
	"unsafe"

	"github.com/cxlake/cxlake/event"
)

// eventColumns is the number of columns of the events table; row writes
// them in eventsShape's order (shape.go), which Open checks against the table.
var eventColumns = len(eventsShape)

func str(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// bytesOf gives a string column's value as the string's bytes, not copied:
// duckdb-go copies a string into a fresh []byte before handing it to
// DuckDB, which copies it again, while a []byte goes straight through (20
// values a row; docs/ingest.md). DuckDB only reads the bytes.
func bytesOf(s string) driver.Value { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// text is str for the appender: NULL for "", else bytesOf.
func text(s string) driver.Value {
	if s == "" {
		return nil
	}
	return bytesOf(s)
}

// JSON columns take json.RawMessage or a map: duckdb-go's appender runs
// json.Marshal on the value, so a plain string would be stored as a JSON string.
func rawJSON(b json.RawMessage) driver.Value {
	if len(b) == 0 {
		return nil
	}
	return b
}

// row flattens a record into the events table's column order (eventsShape).
// Personal data is not in the record's columns: p carries the identifier
// hashes and the sealed content (sealing.go).
func row(r *Record, p *personal, batchID int64, ingestedAt time.Time, dst []driver.Value) []driver.Value {
	e := &r.Event
	// actor_id, message_intent, handoff_reason, handoff_next_action and
	// handoff_owner (and a consent's basis and source) are producer free
	// text: sealed in the content (Content),
	// never written here. The conversation id is the keyed one (p.conversation),
	// and an agent's or bot's id is written only as its key (p.actorKey).
	dst = append(dst[:0],
		bytesOf(e.EventID), bytesOf(e.Type), e.OccurredAt, text(e.Source), text(e.Channel), text(p.conversation),
		text(e.Actor.Kind), nil, text(e.Actor.Team),
	)
	if m := e.Message; m != nil {
		dst = append(dst, bytesOf(m.Direction), m.Private, nil)
	} else {
		dst = append(dst, nil, nil, nil)
	}
	if h := e.Handoff; h != nil {
		var sla driver.Value
		if h.SLASeconds != nil {
			sla = *h.SLASeconds
		}
		dst = append(dst, nil, text(h.ToTeam), nil, nil, sla, h.HasContext())
	} else {
		dst = append(dst, nil, nil, nil, nil, nil, nil)
	}
	if s := e.Survey; s != nil {
		dst = append(dst, bytesOf(s.Kind), int32(s.Score))
	} else {
		dst = append(dst, nil, nil)
	}
	if c := e.Consent; c != nil {
		// basis and source are free text: sealed in the content too
		dst = append(dst, bytesOf(c.Purpose), c.Granted, nil, nil)
	} else {
		dst = append(dst, nil, nil, nil, nil)
	}
	h := &p.identifierHashes
	var content driver.Value
	if p.content != nil {
		content = p.content
	}
	dst = append(dst, bytesOf(r.Topic), int32(r.Partition), r.Offset, batchID, ingestedAt,
		text(h.contactPhone), text(h.contactEmail), rawJSON(h.contactIDs), text(h.linkPhone), text(h.linkEmail), rawJSON(h.linkIDs),
		text(p.subject), content, int64(p.contentSum), text(p.actorKey), handoffItems(e.Handoff))
	return dst
}

// handoffItems is events.handoff_items: which of the four items of a good
// handoff it carried (event.Handoff.Items); NULL for an event without one.
func handoffItems(h *event.Handoff) driver.Value {
	if h == nil {
		return nil
	}
	return h.Items()
}
