package models

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/warehouse"
)

// WhatsApp conversations drawn from Evolution API chats
// (int_whatsapp_conversations_drawn). Ingest stores each message with its
// chat's id; the models cut the chat at the gap and find the takeovers.
// Every expected value below is worked out by hand from the times.

const (
	anaChat   = "wa:loja:e62d440101960cd8"
	brunoChat = "wa:loja:0f1e2d3c4b5a6978"
)

var (
	anaPhone   = obj{"phone": "+5511987654321"}
	brunoPhone = obj{"phone": "+5521998765432"}
	waBot      = obj{"kind": "bot", "id": "loja"}
	waAgent    = obj{"kind": "agent", "id": "loja"}
	waDay      = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	waNow      = func() time.Time { return time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC) }
)

// waMessage is an Evolution message of chat at hh:mm:ss of waDay, as ingest
// stores it: source evolution, the chat's id as conversation_id. actor nil
// is the customer.
func waMessage(id, hhmmss, chat string, contact, actor obj) string {
	at, err := time.Parse("15:04:05", hhmmss)
	if err != nil {
		panic(err)
	}
	ts := waDay.Add(time.Duration(at.Hour())*time.Hour + time.Duration(at.Minute())*time.Minute + time.Duration(at.Second())*time.Second)
	msg := obj{"direction": "inbound", "text": "m"}
	if actor == nil {
		actor = customer
	} else {
		msg = obj{"direction": "outbound", "text": "m"}
	}
	return evJSON("evolution:loja:"+id, "message", ts.Format(time.RFC3339), "whatsapp", chat, contact, actor,
		obj{"source": "evolution", "message": msg})
}

// Ana's chat: two customer messages 10 minutes apart, the bot through the
// API, a person on the phone (the takeover) and again, then 2 h of
// silence and a new exchange with no bot.
var anaMessages = map[string]string{
	"A1": waMessage("A1", "10:00:00", anaChat, anaPhone, nil),
	"A2": waMessage("A2", "10:10:00", anaChat, anaPhone, nil),
	"A3": waMessage("A3", "10:20:00", anaChat, anaPhone, waBot),
	"A4": waMessage("A4", "10:30:00", anaChat, anaPhone, waAgent),
	"A5": waMessage("A5", "10:40:00", anaChat, anaPhone, waAgent),
	"A6": waMessage("A6", "12:40:00", anaChat, anaPhone, nil),
	"A7": waMessage("A7", "12:50:00", anaChat, anaPhone, waAgent),
}

// Bruno's chat, on the gap's edge: B2 exactly 30 minutes after B1 (the same
// conversation), B3 30 minutes and 1 second after B2 (a new one).
var brunoMessages = map[string]string{
	"B1": waMessage("B1", "09:00:00", brunoChat, brunoPhone, nil),
	"B2": waMessage("B2", "09:30:00", brunoChat, brunoPhone, waAgent),
	"B3": waMessage("B3", "10:00:01", brunoChat, brunoPhone, nil),
}

func waMessages(m map[string]string, ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = m[id]
	}
	return out
}

func waConfig(gap time.Duration) Config {
	cfg := testConfig()
	cfg.WhatsAppConversationGap = gap
	cfg.Now = waNow
	return cfg
}

// drawnRows lists conversation_id, opened_at (hh:mm:ss), event_count,
// frt_s, agent_frt_s, handoff_at (hh:mm:ss or -), bot_handled and
// bot_escalated of every conversation, in conversation_id order.
func drawnRows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`select a.conversation_id, strftime(a.opened_at at time zone 'UTC', '%H:%M:%S'), a.event_count,
		coalesce(a.frt_s::varchar, '-'), coalesce(a.agent_frt_s::varchar, '-'),
		coalesce(strftime(a.handoff_at at time zone 'UTC', '%H:%M:%S'), '-'), c.bot_handled, c.bot_escalated
		from int_conversations_aggregated as a join conversations as c using (conversation_id)
		order by a.conversation_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, opened, frt, agentFRT, handoff string
		var n int
		var bot, esc bool
		if err := rows.Scan(&id, &opened, &n, &frt, &agentFRT, &handoff, &bot, &esc); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s opened %s events %d frt %s agent_frt %s handoff %s bot %t escalated %t", id, opened, n, frt, agentFRT, handoff, bot, esc))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// With a gap of 30 minutes, Ana's messages 10 minutes apart are one
// conversation and the 2 h silence starts a second; the takeover (the
// first person's message after the bot's) is a handoff in the first. Then
// a gap of 3 h, set after the refresh, redraws one conversation from the
// stored events, without ingesting anything again.
func TestWhatsAppConversationsDrawnAtTheGap(t *testing.T) {
	ctx := context.Background()
	w := openWarehouse(t)
	var offset int64
	writeJSON(t, w, &offset, append(waMessages(anaMessages, "A1", "A2", "A3", "A4", "A5", "A6", "A7"),
		waMessages(brunoMessages, "B1", "B2", "B3")...)...)
	mustBuild(t, w, waConfig(30*time.Minute), false)
	mustPassDataTests(t, w)
	sameLines(t, "conversations at a gap of 30m", drawnRows(t, w.DB), []string{
		// Bruno: B1 and B2 exactly the gap apart; B3 the gap and a second after B2.
		// FRT and agent FRT: B2 - B1 = 1800 s.
		brunoChat + ":1 opened 09:00:00 events 2 frt 1800.0 agent_frt 1800.0 handoff - bot false escalated false",
		brunoChat + ":2 opened 10:00:01 events 1 frt - agent_frt - handoff - bot false escalated false",
		// A1..A5 and the takeover's handoff at A4: FRT A3 - A1 = 1200 s;
		// the human wait starts at the handoff, answered by A4 itself: 0 s.
		anaChat + ":1 opened 10:00:00 events 6 frt 1200.0 agent_frt 0.0 handoff 10:30:00 bot true escalated true",
		// A6, A7: no bot, so no takeover; A7 - A6 = 600 s.
		anaChat + ":2 opened 12:40:00 events 2 frt 600.0 agent_frt 600.0 handoff - bot false escalated false",
	})
	// The handoff is in Ana's timeline, after its message (event_id order), in the first conversation.
	rows, err := w.DB.Query(`select event_id, event_type, conversation_id from timeline where conversation_id like ? order by occurred_at, event_id`, anaChat+"%")
	if err != nil {
		t.Fatal(err)
	}
	var tl []string
	for rows.Next() {
		var id, typ, conv string
		if err := rows.Scan(&id, &typ, &conv); err != nil {
			t.Fatal(err)
		}
		tl = append(tl, id+" "+typ+" "+strings.TrimPrefix(conv, anaChat))
	}
	rows.Close()
	sameLines(t, "Ana's timeline", tl, []string{
		"evolution:loja:A1 message :1", "evolution:loja:A2 message :1", "evolution:loja:A3 message :1",
		"evolution:loja:A4 message :1", "evolution:loja:A4:handoff handoff :1", "evolution:loja:A5 message :1",
		"evolution:loja:A6 message :2", "evolution:loja:A7 message :2",
	})

	// A new gap: the fingerprint changes, the refresh redraws from the stored events.
	var events int64
	if err := w.DB.QueryRowContext(ctx, "select count(*) from events").Scan(&events); err != nil || events != 10 {
		t.Fatalf("%d events stored (%v), want 10", events, err)
	}
	st := mustBuild(t, w, waConfig(3*time.Hour), false)
	if !st.Full || st.NewEvents != 0 {
		t.Fatalf("refresh after a new gap: full %t (%s), %d new events; want a full rebuild from the stored events", st.Full, st.Reason, st.NewEvents)
	}
	mustPassDataTests(t, w)
	sameLines(t, "conversations at a gap of 3h", drawnRows(t, w.DB), []string{
		brunoChat + ":1 opened 09:00:00 events 3 frt 1800.0 agent_frt 1800.0 handoff - bot false escalated false",
		// A1..A7 and the handoff: the 2 h silence is within the gap.
		anaChat + ":1 opened 10:00:00 events 8 frt 1200.0 agent_frt 0.0 handoff 10:30:00 bot true escalated true",
	})
}

// Messages arrive out of order, in three batches: the later exchange
// first, then the morning without the bot's message, then the bot's
// message, last. Each refresh draws what a full rebuild of the same
// events draws, and the bot's late message makes the takeover it precedes.
func TestWhatsAppMessagesOutOfOrder(t *testing.T) {
	cfg := waConfig(30 * time.Minute)
	inc, full := openWarehouse(t), openWarehouse(t)
	var incOffset, fullOffset int64
	steps := []struct {
		ids  []string
		want []string
	}{
		{[]string{"A7", "A6"}, []string{
			anaChat + ":1 opened 12:40:00 events 2 frt 600.0 agent_frt 600.0 handoff - bot false escalated false",
		}},
		// The morning renumbers the afternoon: it is the chat's first
		// conversation now. No bot yet: the wait for a human starts at A1,
		// answered by A4 (1800 s), which is also the first response.
		{[]string{"A5", "A2", "A4", "A1"}, []string{
			anaChat + ":1 opened 10:00:00 events 4 frt 1800.0 agent_frt 1800.0 handoff - bot false escalated false",
			anaChat + ":2 opened 12:40:00 events 2 frt 600.0 agent_frt 600.0 handoff - bot false escalated false",
		}},
		// The bot's 10:20 message: A4 becomes the takeover.
		{[]string{"A3"}, []string{
			anaChat + ":1 opened 10:00:00 events 6 frt 1200.0 agent_frt 0.0 handoff 10:30:00 bot true escalated true",
			anaChat + ":2 opened 12:40:00 events 2 frt 600.0 agent_frt 600.0 handoff - bot false escalated false",
		}},
	}
	for i, s := range steps {
		writeJSON(t, inc, &incOffset, waMessages(anaMessages, s.ids...)...)
		writeJSON(t, full, &fullOffset, waMessages(anaMessages, s.ids...)...)
		st := mustBuild(t, inc, cfg, false)
		if i > 0 && st.Full {
			t.Fatalf("step %d rebuilt fully: %s", i, st.Reason)
		}
		mustBuild(t, full, cfg, true)
		mustPassDataTests(t, inc)
		sameLines(t, fmt.Sprintf("step %d, refreshed", i), drawnRows(t, inc.DB), s.want)
		sameLines(t, fmt.Sprintf("step %d, rebuilt", i), drawnRows(t, full.DB), s.want)
		compareModels(t, inc.DB, full.DB)
	}
}

// A data directory written by an older ingest holds its own cut,
// wa:<instance>:<hex>:<n>, and the takeover's handoff as a stored event.
// The models read the chat out of those ids and draw the same
// conversations, with one handoff, as from today's chat ids.
func TestWhatsAppOlderIngestIds(t *testing.T) {
	cfg := waConfig(30 * time.Minute)
	w := openWarehouse(t)
	var offset int64
	older := func(id string, conv string) string {
		return strings.Replace(anaMessages[id], `"conversation_id":"`+anaChat+`"`, `"conversation_id":"`+anaChat+conv+`"`, 1)
	}
	handoff := evJSON("evolution:loja:A4:handoff", "handoff", waDay.Add(10*time.Hour+30*time.Minute).Format(time.RFC3339), "whatsapp", anaChat+":1",
		anaPhone, waAgent, obj{"source": "evolution", "handoff": obj{"reason": "human_takeover"}})
	// The older ingest's cut at a gap of 24 h: one conversation.
	writeJSON(t, w, &offset, older("A1", ":1"), older("A2", ":1"), older("A3", ":1"), older("A4", ":1"), handoff,
		older("A5", ":1"), older("A6", ":1"))
	// Today's ingest continues the chat.
	writeJSON(t, w, &offset, anaMessages["A7"])
	mustBuild(t, w, cfg, false)
	mustPassDataTests(t, w)
	sameLines(t, "conversations of an older directory", drawnRows(t, w.DB), []string{
		anaChat + ":1 opened 10:00:00 events 6 frt 1200.0 agent_frt 0.0 handoff 10:30:00 bot true escalated true",
		anaChat + ":2 opened 12:40:00 events 2 frt 600.0 agent_frt 600.0 handoff - bot false escalated false",
	})
}

// A refresh redraws only the chats of the new batch: after 200 chats of 50
// messages (10,000 events), one more message in one chat recomputes that
// chat's person alone.
func TestWhatsAppRefreshRedrawsOnlyTheChatsInScope(t *testing.T) {
	cfg := waConfig(30 * time.Minute)
	w := openWarehouse(t)
	var offset int64
	msgs := make([]string, 0, 10000)
	for c := range 200 {
		chat := fmt.Sprintf("wa:loja:%016x", c+1)
		phone := obj{"phone": fmt.Sprintf("+55119%08d", c)}
		for m := range 50 {
			// five conversations of 10 messages 10 minutes apart, starting
			// 5 h apart (00:00, 05:00, ... 20:00; the last ends at 21:30)
			k, j := m/10, m%10
			at := fmt.Sprintf("%02d:%02d:00", k*5+j*10/60, j*10%60)
			var actor obj
			if m%2 == 1 {
				actor = waAgent
			}
			msgs = append(msgs, waMessage(fmt.Sprintf("S%03d-%02d", c, m), at, chat, phone, actor))
		}
	}
	writeJSON(t, w, &offset, msgs...)
	mustBuild(t, w, cfg, false)
	checkCount(t, w.DB, "select count(*) from int_whatsapp_conversations_drawn", 10000)
	checkCount(t, w.DB, "select count(*) from conversations", 200*5)
	// One message 10 minutes after the last of chat 7 (at 21:30): its fifth
	// conversation grows.
	writeJSON(t, w, &offset, waMessage("S006-50", "21:40:00", fmt.Sprintf("wa:loja:%016x", 7), obj{"phone": "+5511900000006"}, nil))
	st := mustBuild(t, w, cfg, false)
	if st.Full || st.Contacts != 1 || st.Conversations != 5 {
		t.Fatalf("refresh: full %t, %d people and %d conversations recomputed; want 1 person and their 5 conversations", st.Full, st.Contacts, st.Conversations)
	}
	checkCount(t, w.DB, fmt.Sprintf("select event_count from int_conversations_aggregated where conversation_id = 'wa:loja:%016x:5'", 7), 11)
	for _, s := range st.Steps {
		if s.Name == "int_whatsapp_conversations_drawn" || strings.HasPrefix(s.Name, "scope:") && strings.Contains(s.Name, "whatsapp") {
			t.Logf("refresh of one message after 10,000: %s %s", s.Name, s.Took)
		}
	}
	t.Logf("refresh of one message after 10,000: took %s", st.Took)
	mustPassDataTests(t, w)
}

// Erasing a person who wrote in a group redraws the group's chat: without
// Bruno's 10:20 message, Ana's 10:00 and 10:40 messages are 40 minutes
// apart, more than the 30-minute gap, so the group's one conversation
// becomes two. Remove (incremental) gives what a full rebuild of the
// remaining events gives.
func TestWhatsAppErasureRedrawsTheChat(t *testing.T) {
	ctx := context.Background()
	cfg := waConfig(30 * time.Minute)
	const groupChat = "wa:loja:a1b2c3d4e5f60718"
	msgs := append(waMessages(anaMessages, "A1", "A2"), waMessages(brunoMessages, "B1", "B2", "B3")...)
	msgs = append(msgs,
		waMessage("G1", "10:00:00", groupChat, anaPhone, nil),
		waMessage("G2", "10:20:00", groupChat, brunoPhone, nil),
		waMessage("G3", "10:40:00", groupChat, anaPhone, nil))
	inc, full := openWarehouse(t), openWarehouse(t)
	for _, w := range []*warehouse.Warehouse{inc, full} {
		var offset int64
		writeJSON(t, w, &offset, msgs...)
		mustBuild(t, w, cfg, true)
	}
	groupRows := func(db *sql.DB) []string {
		var out []string
		for _, r := range drawnRows(t, db) {
			if strings.HasPrefix(r, groupChat) {
				out = append(out, r)
			}
		}
		return out
	}
	sameLines(t, "the group with Bruno", groupRows(inc.DB), []string{
		groupChat + ":1 opened 10:00:00 events 3 frt - agent_frt - handoff - bot false escalated false",
	})
	var bruno string
	if err := inc.DB.QueryRow(`select contact_key from conversations where conversation_id = ?`, brunoChat+":1").Scan(&bruno); err != nil {
		t.Fatal(err)
	}
	st, err := Remove(ctx, inc.DB, cfg, func(ctx context.Context, conn *sql.Conn) (Removal, error) {
		return deletePeople(ctx, t, conn, inc.DB, []string{bruno}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Full {
		t.Fatalf("Remove rebuilt fully: %s", st.Reason)
	}
	conn, err := full.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deletePeople(ctx, t, conn, full.DB, []string{bruno})
	conn.Close()
	mustBuild(t, full, cfg, true)
	mustPassDataTests(t, inc)
	want := []string{
		groupChat + ":1 opened 10:00:00 events 1 frt - agent_frt - handoff - bot false escalated false",
		groupChat + ":2 opened 10:40:00 events 1 frt - agent_frt - handoff - bot false escalated false",
	}
	sameLines(t, "the group without Bruno, removed", groupRows(inc.DB), want)
	sameLines(t, "the group without Bruno, rebuilt", groupRows(full.DB), want)
	compareModels(t, inc.DB, full.DB)
	checkCount(t, inc.DB, "select count(*) from int_whatsapp_conversations_drawn where chat_id = '"+brunoChat+"'", 0)
}
