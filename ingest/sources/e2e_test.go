package sources

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/ingest/chatwoot"
	"github.com/cxlake/cxlake/ingest/evolution"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// The apikey in the Evolution fixtures, and the Chatwoot contact's
// pubsub_token: neither may be stored.
const (
	apikey      = "429683C4C977415CAAFCCE10F7D57E11"
	pubsubToken = "s76CptSuowp4BDcBom2q7aNX"
	secret      = "wh-secret-0123456789abcdef"
)

var hashKey = []byte("0123456789abcdef0123456789abcdef")

func readFixture(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", dir, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// evolutionMessage is a messages.upsert or send.message envelope of Ana's
// chat at at, as the fixtures are.
func evolutionMessage(event, id string, fromMe bool, text string, at time.Time) []byte {
	return evolutionMessageFrom(event, "5511987654321@s.whatsapp.net", "Ana Souza", id, fromMe, text, at)
}

// evolutionMessageFrom is evolutionMessage in the chat of jid.
func evolutionMessageFrom(event, jid, name, id string, fromMe bool, text string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"event":%q,"instance":"loja-centro","data":{"key":{"remoteJid":%q,"fromMe":%v,"id":%q},`+
		`"pushName":%q,"message":{"conversation":%q},"messageType":"conversation","messageTimestamp":%d},`+
		`"date_time":%q,"sender":"5511900000001@s.whatsapp.net","server_url":"https://evo.example.com","apikey":%q,"timestamp":%d}`,
		event, jid, fromMe, id, name, text, at.Unix(), at.Format(time.RFC3339), apikey, at.UnixMilli())
}

// TestEndToEnd produces the fixtures of both sources over a Kafka-protocol
// broker on real TCP (Evolution API's messages on its topics, Chatwoot's
// through the signed webhook endpoint), consumes them with the real
// consumer into a warehouse, builds the models, and checks the timeline,
// conversations and KPIs against values worked out by hand below.
func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	evoCfg := evolution.Config{Instances: []string{"loja-centro"}, Events: append(evolution.Handled(), "connection.update")}
	cwCfg := chatwoot.Config{Secret: secret}
	cfg := Config{Evolution: evoCfg, Chatwoot: cwCfg}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	broker, err := simulate.StartBroker(simulate.BrokerOptions{Partitions: 2, MinSessionTimeout: time.Second}, append(cfg.Topics(), "cx.events")...)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()

	// Evolution API publishes to one topic per event, keyed by instance.
	evolutionFixtures := []string{
		"messages_upsert_text.json", "messages_upsert_quoted_reply.json", "messages_upsert_image_caption.json",
		"messages_upsert_video_caption.json", "messages_upsert_document_caption.json", "messages_upsert_audio.json",
		"messages_upsert_sticker.json", "messages_upsert_location.json", "messages_upsert_reaction.json",
		"messages_upsert_from_me.json", "send_message.json", "call_offer.json", "call_reject.json",
		"messages_upsert_group.json", "messages_upsert_group_from_me.json", "messages_upsert_lid.json",
		"messages_update.json", "contacts_upsert.json", "contacts_update.json", "chats_upsert.json",
		"status_broadcast.json", "connection_update.json",
		// History overlapping the live messages above: no event twice.
		"messages_set.json",
		// Edits and deletions: checked, the original's text kept.
		"messages_edited.json", "send_message_update.json", "messages_delete.json",
		"missing_key_id.json", "group_without_participant.json",
	}
	byTopic := map[string][][]byte{}
	topicOf := func(value []byte) string {
		ev := "messages.upsert"
		if i := bytes.Index(value, []byte(`"event": "`)); i >= 0 {
			rest := value[i+len(`"event": "`):]
			ev = string(rest[:bytes.IndexByte(rest, '"')])
		}
		return "evolution.loja-centro." + ev
	}
	for _, f := range evolutionFixtures {
		v := readFixture(t, "evolution", f)
		byTopic[topicOf(v)] = append(byTopic[topicOf(v)], v)
	}
	byTopic["evolution.loja-centro.messages.upsert"] = append(byTopic["evolution.loja-centro.messages.upsert"],
		readFixture(t, "evolution", "not_json.json"),
		// The next day, 25h55m after the last message: a new conversation.
		evolutionMessage("messages.upsert", "3EB0A1B2C3D4E5F60101", false, "Voltei: o pedido chegou errado", time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC)),
		// A person of the business takes over from the phone after the bot (send.message) answered.
		evolutionMessage("messages.upsert", "3EB0A1B2C3D4E5F60104", true, "Aqui é a Júlia, assumo daqui", time.Date(2026, 3, 3, 14, 30, 0, 0, time.UTC)),
		evolutionMessage("messages.upsert", "3EB0A1B2C3D4E5F60103", false, "Obrigada!", time.Date(2026, 3, 3, 16, 0, 0, 0, time.UTC)))
	byTopic["evolution.loja-centro.send.message"] = append(byTopic["evolution.loja-centro.send.message"],
		evolutionMessage("send.message", "BAE5F00D0102", true, "Vamos trocar, desculpe", time.Date(2026, 3, 3, 14, 2, 0, 0, time.UTC)))
	// Davi, from Belo Horizonte (area code 31): WhatsApp addresses him
	// without the 9th digit, Chatwoot has his number with it (below). The
	// bot answers him through the API.
	daviJID := "553188887777@s.whatsapp.net"
	byTopic["evolution.loja-centro.messages.upsert"] = append(byTopic["evolution.loja-centro.messages.upsert"],
		evolutionMessageFrom("messages.upsert", daviJID, "Davi", "3EB0DAV1000000000001", false, "Quero rastrear meu pedido 5678", time.Date(2026, 3, 2, 12, 10, 0, 0, time.UTC)))
	byTopic["evolution.loja-centro.send.message"] = append(byTopic["evolution.loja-centro.send.message"],
		evolutionMessageFrom("send.message", daviJID, "Você", "3EB0DAV1000000000002", true, "Pelo site você acompanha", time.Date(2026, 3, 2, 12, 10, 5, 0, time.UTC)))
	produced := 0
	for topic, values := range byTopic {
		w := simulate.NewWriter(broker.Addrs(), topic)
		var msgs []kafka.Message
		for _, v := range values {
			msgs = append(msgs, kafka.Message{Key: []byte("loja-centro"), Value: v})
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatalf("producing to %s: %v", topic, err)
		}
		w.Close()
		produced += len(values)
	}

	// Chatwoot posts its webhooks to the endpoint, which publishes them.
	mux := http.NewServeMux()
	closePub := Mount(mux, cfg, broker.Addrs(), nil, nil)
	defer closePub()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	chatwootFixtures := []string{
		"01_contact_created.json", "02_conversation_created.json", "03_message_created_incoming.json", "04_message_created_bot.json",
		"05_message_created_incoming.json", "06_conversation_status_changed_handoff.json", "07_conversation_updated_assignee.json",
		"08_message_created_activity.json", "09_message_created_private_note.json", "10_message_created_agent.json",
		"11_conversation_updated_labels.json", "12_conversation_status_changed_resolved.json", "13_message_created_csat_survey.json",
		"14_message_updated_csat.json", "15_message_created_incoming_after_resolution.json", "16_conversation_status_changed_reopened.json",
		"17_conversation_status_changed_resolved_again.json", "contact_updated.json", "contact_created_anonymous.json",
		"conversation_status_changed_snoozed.json", "conversation_status_changed_legacy_open.json", "message_updated_edit.json",
		"webwidget_triggered.json", "bad_conversation_without_inbox.json",
		// Davi on the site, his phone with the 9th digit; the agent bot
		// answers and resolves (meta.assignee an AgentBot).
		"davi_01_message_created_incoming.json", "davi_02_message_created_bot.json",
		"davi_03_conversation_status_changed_resolved_by_agent_bot.json",
	}
	post := func(body []byte) int {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "."))
		m.Write(body)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+chatwoot.Path, bytes.NewReader(body))
		req.Header.Set("X-Chatwoot-Timestamp", ts)
		req.Header.Set("X-Chatwoot-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, f := range chatwootFixtures {
		if status := post(readFixture(t, "chatwoot", f)); status != http.StatusAccepted {
			t.Fatalf("webhook %s: %d, want 202", f, status)
		}
		produced++
	}
	if status := post([]byte(`{"event": "message_created", "id": `)); status != http.StatusBadRequest {
		t.Fatalf("malformed webhook: %d, want 400", status)
	}

	// The real consumer, with the sources, into a warehouse.
	dataDir := t.TempDir()
	wh, err := warehouse.Open(ctx, dataDir, warehouse.Options{HashKey: hashKey})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			wh.Close()
		}
	}()
	icfg := ingest.Defaults()
	icfg.Brokers, icfg.Topics, icfg.GroupID = broker.Addrs(), []string{"cx.events"}, "e2e"
	icfg.BatchSize, icfg.BatchWait, icfg.SessionTimeout = 7, 100*time.Millisecond, 2*time.Second
	srcs, err := Decoders(cfg, event.Decoder{MaxBytes: icfg.MaxMessageBytes}, hashKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := ingest.NewConsumer(icfg, wh, nil).WithSources(srcs...)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for c.Stats.Messages.Load() < int64(produced) {
		if time.Now().After(deadline) {
			t.Fatalf("consumed %d of %d messages", c.Stats.Messages.Load(), produced)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The three Evolution edits and deletions are counted, for /metrics
	// (cxlake_ingest_revisions_total), once each.
	if n := c.Stats.Revised.Load(); n != 3 {
		t.Errorf("Stats.Revised = %d, want the 3 edits and deletions produced", n)
	}
	if _, err := models.Rebuild(ctx, wh.DB, models.Config{HashKey: hashKey}); err != nil {
		t.Fatal(err)
	}
	if failures, err := models.Test(ctx, wh.DB); err != nil || len(failures) > 0 {
		t.Fatalf("data tests: %v %v", failures, err)
	}
	db := wh.DB

	t.Run("outcomes", func(t *testing.T) { checkOutcomes(t, db) })
	t.Run("identity", func(t *testing.T) { checkIdentity(t, db) })
	t.Run("timeline", func(t *testing.T) { checkTimeline(t, db) })
	t.Run("conversations", func(t *testing.T) { checkConversations(t, db) })
	t.Run("kpi_daily", func(t *testing.T) { checkKPIs(t, db) })

	// No secret in what the warehouse stores: personal content is sealed
	// (docs/governance.md), so read it unsealed. Ana's phone is there (the
	// check can see what is stored), the sources' secrets are not.
	var sealedRaw string
	if err := db.QueryRow(`select string_agg(cx_content(event_id, subject_hash, occurred_at, content), '')
		from events where content is not null`).Scan(&sealedRaw); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sealedRaw, "5511987654321") {
		t.Fatal("Ana's phone is in no stored payload: the check cannot see what the warehouse stores, so it proves nothing")
	}
	for _, s := range []string{apikey, pubsubToken} {
		if strings.Contains(sealedRaw, s) {
			t.Errorf("a stored payload holds a secret from the sources (%s…)", s[:6])
		}
	}
	// No secret in any file of the data directory, Parquet lake included.
	if _, err := wh.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := wh.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	files := 0
	err = filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, s := range []string{apikey, pubsubToken} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret from the sources (%s…)", path, s[:6])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 2 {
		t.Fatalf("searched %d files: the warehouse and the lake should be there", files)
	}
}

// keyed is the hash docs/models.md ("Identity") defines: the first 16
// bytes, in hex, of HMAC-SHA256 under the key of the domain, a zero byte,
// and each part as len(part) ":" part.
func keyed(domain string, parts ...string) string {
	m := hmac.New(sha256.New, hashKey)
	m.Write([]byte(domain + "\x00"))
	for _, p := range parts {
		m.Write([]byte(strconv.Itoa(len(p)) + ":" + p))
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// contactKey is the contact_key of a person whose representative
// identifier is kind and value, computed here independently of the models.
func contactKey(kind, value string) string {
	return keyed("cxlake/contact_key/v1", kind, keyed("cxlake/identifier/v1", kind, value))
}

var (
	anaKey   = contactKey("phone", "+5511987654321") // her first identifier seen: Evolution, 12:00:00
	brunoKey = contactKey("phone", "+5521998765432")
	// Carla's phone and linked id were seen first at the same time: ties
	// go to the kind, and "id:whatsapp_lid" sorts before "phone".
	carlaKey = contactKey("id:whatsapp_lid", "201326548912345")
	groupKey = contactKey("id:whatsapp_group", "120363025246125486")
	// Davi's phone, in its one canonical form (with the 9th digit), seen
	// first on WhatsApp without it.
	daviKey = contactKey("phone", "+5531988887777")
)

func query(t *testing.T, db *sql.DB, q string, args ...any) [][]any {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	return out
}

func one(t *testing.T, db *sql.DB, q string, args ...any) any {
	t.Helper()
	r := query(t, db, q, args...)
	if len(r) != 1 || len(r[0]) != 1 {
		t.Fatalf("%s: %d rows, want one value", q, len(r))
	}
	return r[0][0]
}

func checkOutcomes(t *testing.T, db *sql.DB) {
	// Events: Evolution 18 (Ana's first conversation 11: 12 fixtures less
	// the reaction; the group 2, Carla 1, Ana's second conversation 4
	// messages, whose takeover's handoff the models draw, not ingest; the
	// history repeats two live messages and adds none) + Davi's 2; Chatwoot
	// 16 + Davi's 3 (17 numbered webhooks less the activity message and the
	// label change, plus contact_updated).
	if n := one(t, db, `select count(*) from events where source = 'evolution'`); n != int64(20) {
		t.Errorf("%v Evolution events, want 20", n)
	}
	// Ingest stores each WhatsApp message with its chat's id, never a
	// conversation of it (the models draw those).
	if n := one(t, db, `select count(*) from events where source = 'evolution' and not regexp_full_match(conversation_id, 'wa:loja-centro:[0-9a-f]{16}')`); n != int64(0) {
		t.Errorf("%v Evolution events stored with another id than their chat's", n)
	}
	if n := one(t, db, `select count(*) from events where source = 'chatwoot'`); n != int64(19) {
		t.Errorf("%v Chatwoot events, want 19", n)
	}
	// Dead letters: Evolution's missing key.id, group without participant
	// and truncated JSON; Chatwoot's conversation without inbox_id.
	got := query(t, db, `select topic, reason_code from dead_letters order by topic, "offset"`)
	if len(got) != 4 {
		t.Fatalf("dead letters %v, want 4", got)
	}
	// Skipped: Evolution 10 known events with nothing for the timeline
	// (receipt, address book 3, call reject, status, reaction, edit, API
	// edit, deletion) and
	// connection.update, unknown; Chatwoot 6 and webwidget_triggered, unknown.
	rows := query(t, db, `select source, reason_code, count(*) from skipped_messages group by all order by all`)
	want := [][]any{{"chatwoot", "no_timeline_event", int64(6)}, {"chatwoot", "unknown_event", int64(1)},
		{"evolution", "no_timeline_event", int64(7)}, {"evolution", "unknown_event", int64(1)}} // edits and deletions are revisions now, not skips
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("skipped %v, want %v", rows, want)
	}
	if n := one(t, db, `select count(*) from skipped_messages where reason = '' or reason like '%5511987654321%'`); n != int64(0) {
		t.Errorf("%v skips without a reason or quoting a phone", n)
	}
	// Davi's conversation was resolved by the agent bot (meta.assignee an
	// AgentBot): actor bot, its id apart from user 3's. The actor id is
	// producer free text, sealed with the content (issue 24 item 3).
	if r := query(t, db, `select actor_kind, cx_content(event_id, subject_hash, occurred_at, content)::json->>'actor_id' from events where conversation_id = 'chatwoot:1:90' and type = 'resolved'`); fmt.Sprint(r) != "[[bot agent_bot:3]]" {
		t.Errorf("Davi's resolution %v, want [[bot agent_bot:3]]", r)
	}
	unknown := one(t, db, `select reason from skipped_messages where source = 'evolution' and reason_code = 'unknown_event'`).(string)
	if !strings.Contains(unknown, `"connection.update"`) {
		t.Errorf("unknown event reason %q does not name the event", unknown)
	}
}

func checkIdentity(t *testing.T, db *sql.DB) {
	// Ana wrote on WhatsApp through Evolution API and on the site through
	// Chatwoot: her phone joins the two into one person.
	rows := query(t, db, `select contact_key, identifiers, phones, emails, channel_ids, conversations, channel_list from contacts order by contact_key`)
	want := map[string]string{
		anaKey:   "[4 1 2 1 3 webchat,whatsapp]",
		brunoKey: "[1 1 0 0 1 whatsapp]",
		carlaKey: "[2 1 0 1 1 whatsapp]", // phone and linked id
		groupKey: "[1 0 0 1 0 <nil>]",    // the group the business wrote in
		// Davi: his phone in both forms is one identifier, and his Chatwoot id.
		daviKey: "[2 1 0 1 2 webchat,whatsapp]",
	}
	if len(rows) != len(want) {
		t.Fatalf("%d contacts, want %d: %v", len(rows), len(want), rows)
	}
	for _, r := range rows {
		if w, ok := want[r[0].(string)]; !ok || fmt.Sprint(r[1:]) != w {
			t.Errorf("contact %v, want %s", r, w)
		}
	}
	kinds := query(t, db, `select identifier_kind, identifier_value from contact_identities where contact_key = ? order by 1, 2`, anaKey)
	if fmt.Sprint(kinds) != "[[email ana.souza@example.com] [email ana@example.com] [id:chatwoot 502] [phone +5511987654321]]" {
		t.Errorf("Ana's identifiers %v", kinds)
	}
}

func checkTimeline(t *testing.T, db *sql.DB) {
	rows := query(t, db, `select event_source, event_type, channel, conversation_id from timeline where contact_key = ? order by occurred_at, event_id`, anaKey)
	// Evolution 11 + 5, Chatwoot 14 in her conversation + 2 identity links.
	if len(rows) != 32 {
		t.Fatalf("Ana's timeline has %d events, want 32", len(rows))
	}
	var sources []string
	for _, r := range rows[:31] { // the identity links come last: they carry the Kafka time
		sources = append(sources, fmt.Sprint(r[0], "/", r[1]))
	}
	want := append(slices.Repeat([]string{"evolution/message"}, 11),
		"chatwoot/conversation_opened", "chatwoot/message", "chatwoot/message", "chatwoot/message", "chatwoot/handoff",
		"chatwoot/assigned", "chatwoot/message", "chatwoot/message", "chatwoot/resolved", "chatwoot/message", "chatwoot/survey",
		"chatwoot/message", "chatwoot/reopened", "chatwoot/resolved",
		// 14:00 Ana, 14:02 the bot, 14:30 the takeover (the message, then
		// its handoff: same time, event_id order), 16:00 Ana.
		"evolution/message", "evolution/message", "evolution/message", "evolution/handoff", "evolution/message", "chatwoot/identity_link")
	if fmt.Sprint(sources) != fmt.Sprint(want[:31]) {
		t.Errorf("Ana's timeline\n got %v\nwant %v", sources, want[:31])
	}
	if r := rows[31]; r[1] != "identity_link" || r[3] != nil {
		t.Errorf("last event %v, want an identity link outside conversations", r)
	}
}

// chatConv is the id of the n-th WhatsApp conversation of a chat of
// loja-centro, as models/intermediate/int_whatsapp_conversations_drawn.sql
// documents it: the chat's id (ingest/evolution Decoder.chatID), ':', n.
func chatConv(chat string, n int) string {
	m := hmac.New(sha256.New, hashKey)
	m.Write([]byte("cxlake/whatsapp_chat/v1\x00loja-centro\x00" + chat))
	return fmt.Sprintf("wa:loja-centro:%s:%d", hex.EncodeToString(m.Sum(nil))[:16], n)
}

type conv struct {
	id, contactKey, channel, team                             any
	frt, agentFRT, resolution                                 any
	botHandled, escalated, handoffContext, reopened, fcr, rec any
	csat, sla                                                 any
}

func checkConversations(t *testing.T, db *sql.DB) {
	rows := query(t, db, `select conversation_id, contact_key, channel, team, frt_s, agent_frt_s, resolution_s,
		bot_handled, escalated, handoff_has_context, reopened, fcr, recontact_other_channel, csat_score, sla_breached
		from conversations order by opened_at`)
	ts := func(s string) time.Time { t, _ := time.Parse(time.RFC3339Nano, s); return t }
	secs := func(a, b string) float64 { return ts(b).Sub(ts(a)).Seconds() }
	want := []conv{
		// Ana on WhatsApp: first message 12:00:00, the phone answers at
		// 12:01:30 (a person: messages.upsert fromMe), then the API at
		// 12:01:40 (send.message: a bot). The bot took part and a human
		// answered: bot-handled and escalated; the human wrote before the
		// bot, so no takeover and the wait for a human starts at the first
		// message. Never resolved; the call at 12:05 is part of it.
		{chatConv("pn:+5511987654321", 1), anaKey, "whatsapp", nil, 90.0, 90.0, nil, true, true, nil, false, nil, nil, nil, false},
		// Bruno in the group: 12:01:50, answered 12:02:00.
		{chatConv("g:120363025246125486@g.us", 1), brunoKey, "whatsapp", nil, 10.0, 10.0, nil, false, false, nil, false, nil, nil, nil, false},
		// Carla (LID addressing): 12:02:10, never answered; the SLA (300 s)
		// elapsed long before the latest event: breached.
		{chatConv("pn:+5511912345678", 1), carlaKey, "whatsapp", nil, nil, nil, nil, false, false, nil, false, nil, nil, nil, true},
		// Davi on WhatsApp: 12:10:00, the bot answers at 12:10:05; no human.
		{chatConv("pn:+5531988887777", 1), daviKey, "whatsapp", nil, 5.0, nil, nil, true, false, nil, false, nil, nil, nil, false},
		// Ana on the site (Chatwoot): first message 13:00:05, the bot at
		// 13:00:07; handoff (pending -> open) at 13:01:05.123 to suporte;
		// the private note at 13:02:00 does not count; João answers at
		// 13:03:05. Resolved 13:10:00.123, CSAT 5, reopened by her message
		// at 15:00:00, resolved again at 15:05:00.123. Not FCR: reopened,
		// and she came back on WhatsApp the next day at 14:00, within the
		// 7-day window (closed: the latest event, an identity link stamped
		// with its Kafka time, is today).
		{"chatwoot:1:78", anaKey, "webchat", "suporte", 2.0, secs("2026-03-02T13:01:05.123Z", "2026-03-02T13:03:05Z"),
			secs("2026-03-02T13:00:05Z", "2026-03-02T15:05:00.123Z"), true, true, false, true, false, true, 5, false},
		// Ana back on WhatsApp 03-03 14:00:00 (25h55m after her last
		// message: a new conversation), answered 14:02:00 through the API
		// (the bot); a person takes over from the phone at 14:30: the
		// handoff, without context, and the agent's first message at once
		// (agent FRT 0). Her 16:00 message is the same conversation.
		// Davi on the site: 13:20:00, the agent bot at 13:20:02, resolved
		// by the agent bot at 13:25:00.123 (300.123 s): contained. FCR:
		// no reopen, no later conversation of his, window long closed.
		{"chatwoot:1:90", daviKey, "webchat", nil, 2.0, nil, 300.123, true, false, nil, false, true, false, nil, false},
		{chatConv("pn:+5511987654321", 2), anaKey, "whatsapp", nil, 120.0, 0.0, nil, true, true, false, false, nil, nil, nil, false},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d conversations, want %d: %v", len(rows), len(want), rows)
	}
	for i, r := range rows {
		w := want[i]
		wv := []any{w.id, w.contactKey, w.channel, w.team, w.frt, w.agentFRT, w.resolution, w.botHandled, w.escalated,
			w.handoffContext, w.reopened, w.fcr, w.rec, w.csat, w.sla}
		for j := range wv {
			if !same(r[j], wv[j]) {
				t.Errorf("conversation %v column %d = %v, want %v", r[0], j, r[j], wv[j])
			}
		}
	}
}

func checkKPIs(t *testing.T, db *sql.DB) {
	rows := query(t, db, `select strftime(day, '%Y-%m-%d'), channel, conversations, frt_p50_s, frt_p90_s, agent_frt_p50_s, agent_frt_p90_s,
		escalation_rate, containment_rate, resolution_p50_s, reopen_rate, fcr_rate, recontact_rate, handoff_context_rate,
		csat, csat_responses, sla_breach_rate from kpi_daily order by 1, 2`)
	agentFRT := 119.877 // 13:01:05.123 -> 13:03:05
	want := [][]any{
		// FRT of the two answered WhatsApp conversations, 90 and 10 s:
		// median 50, p90 10 + 0.9 × 80 = 82. One bot-handled conversation
		// (Ana's), escalated: 1. No resolution, no handoff: those rates are
		// null. SLA: 1 of 3 breached (Carla's). 03-03: Ana's, bot-handled
		// and escalated, its handoff without context: 0; agent FRT 0.
		// Resolution: 13:00:05 -> 15:05:00.123 = 2 h 4 min 55.123 s = 7495.123 s.
		// Webchat, Ana's and Davi's: FRT 2 and 2; one of two bot-handled
		// escalated (Ana's), one of two resolved contained (Davi's);
		// resolution median (7495.123 + 300.123) / 2; one of two reopened,
		// FCR one of two (Davi's), recontact one of two (Ana's).
		{"2026-03-02", "webchat", 2, 2.0, 2.0, agentFRT, agentFRT, 0.5, 0.5, (7495.123 + 300.123) / 2, 0.5, 0.5, 0.5, 0.0, 1.0, 1, 0.0},
		// WhatsApp with Davi's: FRT 90, 10, 5: median 10, p90 10 + 0.8 ×
		// 80 = 74; agent FRT still 90 and 10; escalation one of two
		// bot-handled (Ana's, not Davi's); SLA 1 of 4 breached.
		{"2026-03-02", "whatsapp", 4, 10.0, 74.0, 50.0, 82.0, 0.5, nil, nil, nil, nil, nil, nil, nil, 0, 0.25},
		{"2026-03-03", "whatsapp", 1, 120.0, 120.0, 0.0, 0.0, 1.0, nil, nil, nil, nil, nil, 0.0, nil, 0, 0.0},
	}
	if len(rows) != len(want) {
		t.Fatalf("kpi_daily %v, want %d rows", rows, len(want))
	}
	names := []string{"day", "channel", "conversations", "frt_p50_s", "frt_p90_s", "agent_frt_p50_s", "agent_frt_p90_s",
		"escalation_rate", "containment_rate", "resolution_p50_s", "reopen_rate", "fcr_rate", "recontact_rate",
		"handoff_context_rate", "csat", "csat_responses", "sla_breach_rate"}
	for i, r := range rows {
		for j := range r {
			if !same(r[j], want[i][j]) {
				t.Errorf("kpi_daily %v %v: %s = %v, want %v", r[0], r[1], names[j], r[j], want[i][j])
			}
		}
	}
}

// same compares a scanned value with an expected one: numbers within 1e-6,
// nil with nil.
func same(got, want any) bool {
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	num := func(v any) (float64, bool) {
		switch x := v.(type) {
		case int:
			return float64(x), true
		case int32:
			return float64(x), true
		case int64:
			return float64(x), true
		case float64:
			return x, true
		}
		return 0, false
	}
	if g, ok := num(got); ok {
		w, ok := num(want)
		return ok && math.Abs(g-w) < 1e-6
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}
