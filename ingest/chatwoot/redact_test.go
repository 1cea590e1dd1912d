package chatwoot

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

const fixtureToken = "s76CptSuowp4BDcBom2q7aNX"

// The webhook publishes the body without the contacts' pubsub_token, a
// credential, and otherwise as it came.
func TestWebhookRepublishesWithoutPubsubToken(t *testing.T) {
	pub := &recorder{}
	h := NewHandler(Config{Secret: testSecret}, pub, nil)
	now := time.Now()
	h.now = func() time.Time { return now }
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := fixture(t, "02_conversation_created.json")
	if !bytes.Contains(body, []byte(fixtureToken)) {
		t.Fatal("the fixture carries no pubsub_token: the test would prove nothing")
	}
	if a := post(t, srv.URL, body, signed(body, testSecret, now)); a.status != http.StatusAccepted {
		t.Fatalf("status %d %v", a.status, a.body)
	}
	if len(pub.got) != 1 {
		t.Fatalf("published %d messages, want 1", len(pub.got))
	}
	got := pub.got[0]
	if bytes.Contains(got, []byte(fixtureToken)) {
		t.Fatal("the published payload keeps the pubsub_token")
	}
	// Everything else is as it came: the same JSON once the token is put back.
	var a, b map[string]any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("the published payload is not JSON: %v", err)
	}
	if err := json.Unmarshal(bytes.ReplaceAll(body, []byte(fixtureToken), []byte("[redacted]")), &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("the published payload differs beyond the token:\n%s\nwant\n%s", ja, jb)
	}
}

func TestWithoutTokens(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1,"pubsub_token":"tok-1"}`, `{"a":1,"pubsub_token":"[redacted]"}`},
		{`{"meta":{"sender":{"pubsub_token" : "tok-2","id":5}}}`, `{"meta":{"sender":{"pubsub_token":"[redacted]","id":5}}}`},
		{`{"pubsub\u005ftoken":"tok-3"}`, `{"pubsub\u005ftoken":"[redacted]"}`}, // the key spelled with an escape
		{`{"pubsub_token":"t\"ok-4","x":"pubsub_token"}`, `{"pubsub_token":"[redacted]","x":"pubsub_token"}`},
		{`{"pubsub_token":12345}`, `{"pubsub_token":"[redacted]"}`},
		{`{"note":"my pubsub_token is secret"}`, `{"note":"my pubsub_token is secret"}`},
		{`not json "pubsub_token":"tok-5"`, `not json "pubsub_token":"[redacted]"`},
	} {
		if got := string(withoutTokens([]byte(tc.in))); got != tc.want {
			t.Errorf("withoutTokens(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
