package warehouse

import (
	"database/sql/driver"
	"encoding/json"
	"time"
)

// eventColumns is the number of columns of the events table; row must match it.
const eventColumns = 37

func str(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// JSON columns take json.RawMessage or a map: duckdb-go's appender runs
// json.Marshal on the value, so a plain string would be stored as a JSON string.
func rawJSON(b json.RawMessage) driver.Value {
	if len(b) == 0 {
		return nil
	}
	return b
}

// row flattens a record into the events table's column order (schema.sql).
// Personal data is not in the record's columns: p carries the identifier
// hashes and the sealed content (sealing.go).
func row(r *Record, p *personal, batchID int64, ingestedAt time.Time, dst []driver.Value) []driver.Value {
	e := &r.Event
	dst = append(dst[:0],
		e.EventID, e.Type, e.OccurredAt, str(e.Source), str(e.Channel), str(e.ConversationID),
		str(e.Actor.Kind), str(e.Actor.ID), str(e.Actor.Team),
	)
	if m := e.Message; m != nil {
		dst = append(dst, m.Direction, m.Private, str(m.Intent))
	} else {
		dst = append(dst, nil, nil, nil)
	}
	if h := e.Handoff; h != nil {
		var sla driver.Value
		if h.SLASeconds != nil {
			sla = *h.SLASeconds
		}
		dst = append(dst, str(h.Reason), str(h.ToTeam), str(h.NextAction), str(h.Owner), sla, h.HasContext())
	} else {
		dst = append(dst, nil, nil, nil, nil, nil, nil)
	}
	if s := e.Survey; s != nil {
		dst = append(dst, s.Kind, int32(s.Score))
	} else {
		dst = append(dst, nil, nil)
	}
	if c := e.Consent; c != nil {
		dst = append(dst, c.Purpose, c.Granted, str(c.Basis), str(c.Source))
	} else {
		dst = append(dst, nil, nil, nil, nil)
	}
	h := &p.identifierHashes
	var content driver.Value
	if p.content != nil {
		content = p.content
	}
	dst = append(dst, r.Topic, int32(r.Partition), r.Offset, batchID, ingestedAt,
		str(h.contactPhone), str(h.contactEmail), rawJSON(h.contactIDs), str(h.linkPhone), str(h.linkEmail), rawJSON(h.linkIDs),
		str(p.subject), content)
	return dst
}
