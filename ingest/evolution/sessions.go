package evolution

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cxlake/cxlake/privacy"
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
// The decoder keeps, per chat hash, the span (first and last message time) of
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
	botAt       time.Time // the conversation's first bot message; zero when none
	handedOff   bool      // a person took over from the bot
	people      []mark    // the latest messages of the business's people, until a takeover
}

// mark is a message of a person of the business: when, and its event id.
type mark struct {
	at time.Time
	id string
}

// keepPeople is how many messages of the business's people a
// conversation remembers while no takeover is found: a bot message read
// after them (the topics are read in no fixed order) finds the takeover
// among them.
const keepPeople = 8

type sessions struct {
	gap   time.Duration
	key   []byte               // the hash key of chat tokens
	chats map[string][]session // by chatKey(instance, token)
	count map[string]int       // conversations ever started, by chatKey
}

func newSessions(gap time.Duration, key []byte) *sessions {
	return &sessions{gap: gap, key: key, chats: map[string][]session{}, count: map[string]int{}}
}

func chatKey(instance, token string) string { return instance + "\x00" + token }

// token is the chat's part of its conversation ids.
func (s *sessions) token(instance, chat string) string {
	return privacy.NewHasher(s.key).WhatsAppChat(instance, chat)
}

// assign returns the conversation of a message of chat in instance at t,
// and records t in it. When no remembered conversation of the chat is
// within gap of t, it starts the chat's next one.
func (s *sessions) assign(instance, chat string, t time.Time) string {
	token := s.token(instance, chat)
	key := chatKey(instance, token)
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
	id := "wa:" + instance + ":" + token + ":" + strconv.Itoa(s.count[key])
	s.chats[key] = trim(append(list, session{id: id, first: t, last: t}))
	return id
}

// takesOver records that a message (eventID) of actor kind was given
// conversation id of the chat at t, and reports the takeover it completes:
// the first message of a person of the business (kind agent) at or after
// the conversation's first bot message, once per conversation. A
// person's message read after the bot's completes it itself; a bot's
// message read after the person's finds it among the remembered ones. at
// and takerID are the person's message's time and event id. It is called
// after assign.
func (s *sessions) takesOver(instance, chat, id, kind string, t time.Time, eventID string) (at time.Time, takerID string, ok bool) {
	list := s.chats[chatKey(instance, s.token(instance, chat))]
	for i := range list {
		c := &list[i]
		if c.id != id || c.handedOff {
			continue
		}
		switch kind {
		case "bot":
			if c.botAt.IsZero() || t.Before(c.botAt) {
				c.botAt = t
			}
			best := -1
			for j, m := range c.people {
				if !m.at.Before(c.botAt) && (best < 0 || m.at.Before(c.people[best].at) || m.at.Equal(c.people[best].at) && m.id < c.people[best].id) {
					best = j
				}
			}
			if best >= 0 {
				m := c.people[best]
				c.handedOff, c.people = true, nil
				return m.at, m.id, true
			}
		case "agent":
			if !c.botAt.IsZero() && !t.Before(c.botAt) {
				c.handedOff, c.people = true, nil
				return t, eventID, true
			}
			c.people = append(c.people, mark{at: t, id: eventID})
			if len(c.people) > keepPeople {
				slices.SortFunc(c.people, func(a, b mark) int { return b.at.Compare(a.at) })
				c.people = c.people[:keepPeople]
			}
		}
	}
	return time.Time{}, "", false
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

// warmQuery lists the conversations of the stored Evolution messages, with
// their first bot message and whether a human took over. Their ids carry
// the instance and the chat's hash, so no identifier is read.
const warmQuery = `
select conversation_id, min(occurred_at), max(occurred_at),
    min(occurred_at) filter (where type = 'message' and actor_kind = 'bot'),
    count(*) filter (where type = 'handoff') > 0
from events
where source = 'evolution' and conversation_id like 'wa:%'
group by conversation_id`

// parseID splits "wa:<instance>:<token>:<n>".
func parseID(id string) (instance, token string, n int, ok bool) {
	rest, ok := strings.CutPrefix(id, "wa:")
	if !ok {
		return "", "", 0, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return "", "", 0, false
	}
	n, err := strconv.Atoi(rest[i+1:])
	if err != nil {
		return "", "", 0, false
	}
	rest = rest[:i]
	j := strings.LastIndexByte(rest, ':')
	if j < 0 {
		return "", "", 0, false
	}
	return rest[:j], rest[j+1:], n, true
}

// warm loads the conversations of the Evolution events stored in db.
func (s *sessions) warm(ctx context.Context, db *sql.DB) (int, error) {
	rows, err := db.QueryContext(ctx, warmQuery)
	if err != nil {
		return 0, fmt.Errorf("reading stored Evolution conversations: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var c session
		var botAt sql.NullTime
		if err := rows.Scan(&c.id, &c.first, &c.last, &botAt, &c.handedOff); err != nil {
			return n, fmt.Errorf("reading stored Evolution conversations: %w", err)
		}
		instance, token, ord, ok := parseID(c.id)
		if !ok {
			continue
		}
		key := chatKey(instance, token)
		c.first, c.last = c.first.UTC(), c.last.UTC()
		if botAt.Valid {
			c.botAt = botAt.Time.UTC()
		}
		s.chats[key] = append(s.chats[key], c)
		s.count[key] = max(s.count[key], ord)
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
