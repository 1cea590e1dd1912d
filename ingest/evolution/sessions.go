package evolution

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Conversation boundaries. WhatsApp has chats, not conversations: a chat
// goes on for years. A conversation here is a run of messages of one chat
// (one instance and one person, or one group) with no silence longer than
// the gap between them: a message more than gap after the previous one
// starts a new conversation.
//
// Its id is "wa:<instance>:<chat>:<n>": chat is a keyed hash of the chat
// (16 hex digits of an HMAC-SHA256 under the warehouse's hash key, so the
// id does not reveal a phone number), and n counts the chat's
// conversations from 1. The id depends on which conversation of the chat
// it is, not on which of its messages was read first: messages.upsert and
// send.message are separate topics, read in no fixed order.
//
// The decoder keeps, per chat, the span (first and last message time) of
// its most recent conversations, and gives each message the conversation
// whose span it falls within gap of. Within a batch, messages are assigned
// in time order (ties in read order). The state is warmed from the
// warehouse at start (Warm), so a restart continues the same conversations
// and their count, and a replay of the same messages from the start gives
// the same conversations with the same ids, whatever the order the topics
// are read in, as long as no message reaches cxlake more than the gap later
// than messages of its chat written after it. Such a message, when it falls
// between two conversations, joins the earlier one and does not merge them
// (their events are already stored); when it falls before them, it starts
// a conversation numbered after them.

// keepSessions is how many conversations per chat the decoder remembers: a
// message can join one of its chat's last keepSessions conversations.
const keepSessions = 4

type session struct {
	id          string
	first, last time.Time
}

type sessions struct {
	gap   time.Duration
	key   []byte               // the hash key of chat tokens
	chats map[string][]session // by chatKey
	count map[string]int       // conversations ever started, by chatKey
}

func newSessions(gap time.Duration, key []byte) *sessions {
	return &sessions{gap: gap, key: key, chats: map[string][]session{}, count: map[string]int{}}
}

func chatKey(instance, chat string) string { return instance + "\x00" + chat }

// token is the chat's part of its conversation ids.
func (s *sessions) token(instance, chat string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("cxlake/whatsapp_chat/v1\x00" + instance + "\x00" + chat))
	return hex.EncodeToString(m.Sum(nil))[:16]
}

// assign returns the conversation of a message of chat in instance at t,
// and records t in it. When no remembered conversation of the chat is
// within gap of t, it starts the chat's next one.
func (s *sessions) assign(instance, chat string, t time.Time) string {
	key := chatKey(instance, chat)
	list := s.chats[key]
	best := -1
	for i, c := range list {
		if t.Before(c.first.Add(-s.gap)) || t.After(c.last.Add(s.gap)) {
			continue
		}
		if best < 0 || c.first.Before(list[best].first) {
			best = i
		}
	}
	if best >= 0 {
		c := &list[best]
		if t.Before(c.first) {
			c.first = t
		}
		if t.After(c.last) {
			c.last = t
		}
		return c.id
	}
	s.count[key]++
	id := "wa:" + instance + ":" + s.token(instance, chat) + ":" + strconv.Itoa(s.count[key])
	s.chats[key] = trim(append(list, session{id: id, first: t, last: t}))
	return id
}

// trim keeps the keepSessions conversations that ended last.
func trim(list []session) []session {
	if len(list) <= keepSessions {
		return list
	}
	slices.SortFunc(list, func(a, b session) int {
		if c := b.last.Compare(a.last); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return list[:keepSessions]
}

// warmQuery lists the conversations of stored Evolution messages with their
// chat key, built as chatOf builds it: the group, else the phone, else the
// linked id. JSON columns may hold the object or its text (see
// stg_cx__events), so both are read.
const warmQuery = `
with evo as (
    select
        conversation_id,
        occurred_at,
        contact_phone,
        case when json_type(extra) = 'VARCHAR' then json(extra ->> '$') else extra end as x,
        case when json_type(contact_ids) = 'VARCHAR' then json(contact_ids ->> '$') else contact_ids end as ids
    from events
    where source = 'evolution' and type = 'message' and conversation_id is not null
)
select
    json_extract_string(x, '$.evolution.instance') as instance,
    coalesce('g:' || json_extract_string(x, '$.evolution.group'),
             'pn:' || contact_phone,
             'lid:' || json_extract_string(ids, '$.whatsapp_lid')) as chat,
    conversation_id,
    min(occurred_at) as first_at,
    max(occurred_at) as last_at
from evo
group by all
having instance is not null and chat is not null`

// warm loads the conversations of the Evolution events stored in db.
func (s *sessions) warm(ctx context.Context, db *sql.DB) (int, error) {
	rows, err := db.QueryContext(ctx, warmQuery)
	if err != nil {
		return 0, fmt.Errorf("reading stored Evolution conversations: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var instance, chat string
		var c session
		if err := rows.Scan(&instance, &chat, &c.id, &c.first, &c.last); err != nil {
			return n, fmt.Errorf("reading stored Evolution conversations: %w", err)
		}
		key := chatKey(instance, chat)
		s.chats[key] = append(s.chats[key], session{id: c.id, first: c.first.UTC(), last: c.last.UTC()})
		if i := strings.LastIndexByte(c.id, ':'); i >= 0 {
			if ord, err := strconv.Atoi(c.id[i+1:]); err == nil && ord > s.count[key] {
				s.count[key] = ord
			}
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("reading stored Evolution conversations: %w", err)
	}
	for k, list := range s.chats {
		s.chats[k] = trim(list)
	}
	return n, nil
}
