package evolution

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/warehouse"
)

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// upsert is a messages.upsert message of chat jid at t0+at.
func upsert(id, jid string, fromMe bool, at time.Duration) ingest.Message {
	v := fmt.Sprintf(`{"event":"messages.upsert","instance":"loja-centro","apikey":"%s","data":{"key":{"remoteJid":%q,"fromMe":%v,"id":%q},`+
		`"message":{"conversation":"m %s"},"messageType":"conversation","messageTimestamp":%d}}`,
		fixtureKey, jid, fromMe, id, id, t0.Add(at).Unix())
	return ingest.Message{Topic: "evolution.loja-centro.messages.upsert", Value: []byte(v)}
}

func conversations(t *testing.T, outs []ingest.Outcome) []string {
	t.Helper()
	var ids []string
	for i, o := range outs {
		if o.Err != nil || len(o.Events) != 1 {
			t.Fatalf("message %d: %+v", i, o)
		}
		ids = append(ids, o.Events[0].ConversationID)
	}
	return ids
}

const (
	ana   = "5511987654321@s.whatsapp.net"
	bruno = "5521998765432@s.whatsapp.net"
)

// convID is the id of the n-th conversation of a chat of loja-centro, as
// sessions.go documents it: 16 hex digits of HMAC-SHA256 under the key of
// "cxlake/whatsapp_chat/v1", 0, the instance, 0, the chat key.
func convID(chat string, n int) string {
	m := hmac.New(sha256.New, testKey)
	m.Write([]byte("cxlake/whatsapp_chat/v1\x00loja-centro\x00" + chat))
	return fmt.Sprintf("wa:loja-centro:%s:%d", hex.EncodeToString(m.Sum(nil))[:16], n)
}

var (
	anaChat   = "pn:+5511987654321"
	brunoChat = "pn:+5521998765432"
)

func TestConversationsSplitOnTheGap(t *testing.T) {
	d := testDecoder() // gap 24h
	msgs := []ingest.Message{
		upsert("A1", ana, false, 0),
		upsert("A2", ana, true, time.Hour),
		upsert("B1", bruno, false, 2*time.Hour),            // another chat
		upsert("A3", ana, false, time.Hour+24*time.Hour),   // exactly the gap after A2: same conversation
		upsert("A4", ana, false, 2*time.Hour+49*time.Hour), // more than the gap after A3: a new one
	}
	got := conversations(t, d.Decode(msgs))
	want := []string{convID(anaChat, 1), convID(anaChat, 1), convID(brunoChat, 1), convID(anaChat, 1), convID(anaChat, 2)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("conversations %v, want %v", got, want)
	}
}

// Within a batch, the order messages are read in does not matter: they are
// assigned in time order.
func TestConversationsIgnoreReadOrderWithinABatch(t *testing.T) {
	inOrder := []ingest.Message{upsert("A1", ana, false, 0), upsert("A2", ana, true, time.Hour), upsert("A3", ana, false, 30*time.Hour)}
	shuffled := []ingest.Message{inOrder[2], inOrder[1], inOrder[0]}
	a := conversations(t, testDecoder().Decode(inOrder))
	b := conversations(t, testDecoder().Decode(shuffled))
	if a[0] != b[2] || a[1] != b[1] || a[2] != b[0] {
		t.Fatalf("in order %v, shuffled (reversed back) %v", a, []string{b[2], b[1], b[0]})
	}
	if a[0] != convID(anaChat, 1) || a[1] != a[0] || a[2] != convID(anaChat, 2) {
		t.Fatalf("conversations %v", a)
	}
}

// A replay cut into different batches gives the same conversations.
func TestConversationsAreTheSameWhateverTheBatches(t *testing.T) {
	var msgs []ingest.Message
	for i := range 40 {
		jid := ana
		if i%3 == 0 {
			jid = bruno
		}
		// gaps of 5h, with a 30h silence every 10 messages
		at := time.Duration(i)*5*time.Hour + time.Duration(i/10)*30*time.Hour
		msgs = append(msgs, upsert(fmt.Sprintf("M%02d", i), jid, i%2 == 0, at))
	}
	one := conversations(t, testDecoder().Decode(msgs))
	d := testDecoder()
	var cut []string
	for lo := 0; lo < len(msgs); lo += 7 {
		cut = append(cut, conversations(t, d.Decode(msgs[lo:min(lo+7, len(msgs))]))...)
	}
	if fmt.Sprint(one) != fmt.Sprint(cut) {
		t.Fatalf("one batch %v\nbatches of 7 %v", one, cut)
	}
	distinct := map[string]bool{}
	for _, c := range one {
		distinct[c] = true
	}
	if len(distinct) < 4 {
		t.Fatalf("only %d conversations: the gaps did not split", len(distinct))
	}
}

// A restarted decoder, warmed from the warehouse, continues the stored
// conversations, groups and LID-only chats included.
func TestWarmContinuesStoredConversations(t *testing.T) {
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	first := testDecoder()
	group := func(id string, at time.Duration) ingest.Message {
		return ingest.Message{Topic: "evolution.loja-centro.messages.upsert", Value: []byte(fmt.Sprintf(`{"event":"messages.upsert","instance":"loja-centro","data":{"key":{"remoteJid":"120363025246125486@g.us","fromMe":false,"id":%q,"participant":%q},"message":{"conversation":"g"},"messageTimestamp":%d}}`,
			id, bruno, t0.Add(at).Unix()))}
	}
	lid := upsert("L1", "201326548912345@lid", false, 0)
	outs := first.Decode([]ingest.Message{upsert("A1", ana, false, 0), group("G1", 0), lid})
	b := &warehouse.Batch{StartedAt: time.Now()}
	for i, o := range outs {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		b.Records = append(b.Records, warehouse.Record{Event: o.Events[0], Topic: "evolution.loja-centro.messages.upsert", Offset: int64(i)})
	}
	if _, err := wh.Write(ctx, b); err != nil {
		t.Fatal(err)
	}

	restarted := testDecoder()
	n, err := restarted.Warm(ctx, wh.DB)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("warmed %d conversations, want 3", n)
	}
	lid2 := upsert("L2", "201326548912345@lid", true, 3*time.Hour)
	got := conversations(t, restarted.Decode([]ingest.Message{upsert("A2", ana, true, 2*time.Hour), group("G2", 2*time.Hour), lid2}))
	want := []string{convID(anaChat, 1), convID("g:120363025246125486@g.us", 1), convID("lid:201326548912345", 1)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after a restart: %v, want the stored conversations %v", got, want)
	}
	// After the gap, the chat's next conversation is numbered after the stored ones.
	if got := conversations(t, restarted.Decode([]ingest.Message{upsert("A9", ana, false, 60*time.Hour)})); got[0] != convID(anaChat, 2) {
		t.Fatalf("a later conversation after a restart: %v, want %s", got, convID(anaChat, 2))
	}
}

func TestSessionsRememberTheLastFew(t *testing.T) {
	s := newSessions(time.Hour, testKey)
	for i := range 10 {
		s.assign("loja-centro", anaChat, t0.Add(time.Duration(i)*3*time.Hour))
	}
	if n := len(s.chats[chatKey("loja-centro", s.token("loja-centro", anaChat))]); n != keepSessions {
		t.Fatalf("%d sessions kept, want %d", n, keepSessions)
	}
	// A late message within the gap of a remembered conversation joins it.
	if id := s.assign("loja-centro", anaChat, t0.Add(27*time.Hour-30*time.Minute)); id != convID(anaChat, 10) {
		t.Fatalf("late message joined %q, want the 10th conversation", id)
	}
	// One older than every remembered conversation starts the next one.
	if id := s.assign("loja-centro", anaChat, t0.Add(-48*time.Hour)); id != convID(anaChat, 11) {
		t.Fatalf("a very late message: %q, want the 11th conversation", id)
	}
}

// messages.upsert and send.message are separate topics, read in no fixed
// order: a reply read in an earlier batch than the message it answers gives
// the same conversation id as the other way round.
func TestConversationIDsDoNotDependOnWhichMessageIsReadFirst(t *testing.T) {
	question, reply := upsert("Q1", ana, false, 0), upsert("R1", ana, true, time.Minute)
	a := testDecoder()
	first := conversations(t, a.Decode([]ingest.Message{reply}))
	second := conversations(t, a.Decode([]ingest.Message{question}))
	b := testDecoder()
	inOrder := conversations(t, b.Decode([]ingest.Message{question, reply}))
	if first[0] != convID(anaChat, 1) || second[0] != first[0] || inOrder[0] != first[0] || inOrder[1] != first[0] {
		t.Fatalf("reply first: %v %v; in order: %v; want all %s", first, second, inOrder, convID(anaChat, 1))
	}
}

// A restart remembers that a bot answered a conversation, and whether a
// person already took it over: the first person's message after a restart
// is the takeover only when none was stored.
func TestWarmRemembersTheBotAndTheTakeover(t *testing.T) {
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	send := func(id, jid string, at time.Duration) ingest.Message {
		m := upsert(id, jid, true, at)
		m.Value = []byte(strings.Replace(string(m.Value), `"event":"messages.upsert"`, `"event":"send.message"`, 1))
		m.Topic = "evolution.loja-centro.send.message"
		return m
	}
	store := func(outs []ingest.Outcome) {
		b := &warehouse.Batch{StartedAt: time.Now()}
		for i, o := range outs {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			for j, e := range o.Events {
				b.Records = append(b.Records, warehouse.Record{Event: e, Topic: "evolution.loja-centro.x", Offset: int64(100*len(b.Records) + 10*i + j)})
			}
		}
		if _, err := wh.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// Ana: the bot answered, nobody took over. Bruno: the bot answered and
	// a person took over.
	store(testDecoder().Decode([]ingest.Message{upsert("A1", ana, false, 0), send("A2", ana, time.Minute),
		upsert("B1", bruno, false, 0), send("B2", bruno, time.Minute), upsert("B3", bruno, true, 2*time.Minute)}))
	restarted := testDecoder()
	if _, err := restarted.Warm(ctx, wh.DB); err != nil {
		t.Fatal(err)
	}
	outs := restarted.Decode([]ingest.Message{upsert("A3", ana, true, time.Hour), upsert("B4", bruno, true, time.Hour)})
	if len(outs[0].Events) != 2 || outs[0].Events[1].EventID != "evolution:loja-centro:A3:handoff" {
		t.Fatalf("Ana's first person's message after a restart: %+v, want it and its handoff", outs[0])
	}
	if len(outs[1].Events) != 1 {
		t.Fatalf("Bruno's next person's message: %+v, want no second handoff", outs[1])
	}
}
