package event

import "encoding/json"

// topLevel is the message object split into its members: the known fields by
// name, and the rest, which Decode keeps in Event.Extra. The members of the
// object-valued fields are read in the same pass.
type topLevel struct {
	schema, eventID, typ, occurredAt, source, channel, conversationID value
	contact, actor, message, handoff, survey, consent, link           field

	unknown []member
}

// field is a top-level member that may hold an object.
type field struct {
	value
	members object // v's members, when it is an object
}

// object returns f's members. ok is false when f is absent or null; an empty
// object is ok.
func (f field) object(parent, name string) (o object, ok bool, err error) {
	if f.isNull() {
		return nil, false, nil
	}
	if f.value[0] != '{' {
		return nil, false, wrongType(parent, name, "an object", f.value)
	}
	return f.members, true, nil
}

// parseTop checks that data is one JSON object and splits it into its
// members. The members of objects one level down are appended to nested, in
// memory the caller provides. The error is a *syntaxError.
func parseTop(data []byte, nested []member) (t topLevel, err error) {
	read := len(nested) // nested[:read] belong to members already stored
	err = walkObject(data, func(key []byte, v value) {
		f := field{value: v, members: nested[read:len(nested):len(nested)]}
		read = len(nested)
		// A repeated key overwrites the earlier one: the last wins.
		switch string(key) {
		case "schema":
			t.schema = v
		case "event_id":
			t.eventID = v
		case "type":
			t.typ = v
		case "occurred_at":
			t.occurredAt = v
		case "source":
			t.source = v
		case "channel":
			t.channel = v
		case "conversation_id":
			t.conversationID = v
		case "contact":
			t.contact = f
		case "actor":
			t.actor = f
		case "message":
			t.message = f
		case "handoff":
			t.handoff = f
		case "survey":
			t.survey = f
		case "consent":
			t.consent = f
		case "link":
			t.link = f
		default:
			t.unknown = append(t.unknown, member{key, v})
		}
	}, func(key []byte, v value) {
		nested = append(nested, member{key, v})
	})
	return t, err
}

// extra returns the unknown members as one JSON object, or nil. Keys are in
// sorted order and written as encoding/json writes them, so the same message
// always gives the same bytes.
func (t *topLevel) extra() json.RawMessage {
	if len(t.unknown) == 0 {
		return nil
	}
	ms := lastOfEachKey(t.unknown)
	size := 1
	for _, m := range ms {
		size += len(m.key) + 4 + len(m.val)
	}
	b := make([]byte, 0, size)
	for i, m := range ms {
		if i == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = appendKey(b, m.key)
		b = append(b, ':')
		b = append(b, m.val...)
	}
	return append(b, '}')
}

// appendKey appends key as a JSON string, the way json.Marshal writes it.
func appendKey(b, key []byte) []byte {
	if needsEscape(key) {
		q, _ := json.Marshal(string(key)) // a string always marshals
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"')
}

// needsEscape reports whether json.Marshal escapes any character of s: a
// quote, a backslash, a control character, <, > or &, U+2028 or U+2029.
func needsEscape(s []byte) bool {
	for i, c := range s {
		switch {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return true
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9):
			return true
		}
	}
	return false
}
