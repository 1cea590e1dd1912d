package sources

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/ingest/chatwoot"
	"github.com/cxlake/cxlake/ingest/evolution"
)

// Planted personal data: a reason (dead letter or skip) may contain none
// of it, whatever field it is planted in.
var planted = []string{
	"+5531977776666", "5531977776666", "97777-6666", "plantada.pessoa@example.org", "Plantada Pessoa",
	"meu cpf e 123.456.789-09", "plantada.ig",
}

// mutations returns variants of the JSON document doc: each string leaf in
// turn replaced by each planted value, and by a number, an object and
// null; each object member removed. That is a corpus of bad (and some good)
// payloads with personal data in every field a decoder reads.
func mutations(t *testing.T, doc []byte) [][]byte {
	t.Helper()
	var root any
	if err := json.Unmarshal(doc, &root); err != nil {
		return nil // a fixture that is not JSON (not_json.json)
	}
	var out [][]byte
	var walk func(v any, set func(any))
	walk = func(v any, set func(any)) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(c, func(n any) { x[k] = n })
				x[k] = 42.0
				out = append(out, marshal(t, root))
				delete(x, k)
				out = append(out, marshal(t, root))
				x[k] = c
			}
		case []any:
			for i, c := range x {
				walk(c, func(n any) { x[i] = n })
			}
		case string:
			for _, p := range append(planted, "+"+planted[0]+" "+planted[4]) {
				set(p)
				out = append(out, marshal(t, root))
			}
			set(map[string]any{"x": planted[3]})
			out = append(out, marshal(t, root))
			set(x)
		}
	}
	walk(root, nil)
	return out
}

func marshal(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtures(t *testing.T, dir string) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkReason fails when the reason of err quotes planted data.
func checkReason(t *testing.T, src string, raw []byte, err error) bool {
	t.Helper()
	if err == nil {
		return false
	}
	var re *event.RejectError
	var se *ingest.SkipError
	reason := err.Error()
	switch {
	case errors.As(err, &re):
		reason = re.Reason + " " + re.Field
	case errors.As(err, &se):
		reason = se.Reason + " " + se.EventName
	}
	low := strings.ToLower(reason)
	for _, p := range planted {
		if strings.Contains(low, strings.ToLower(p)) {
			t.Errorf("%s: a reason quotes planted %q: %s\npayload: %s", src, p, reason, raw)
			return true
		}
	}
	return true
}

func TestNoReasonQuotesPersonalData(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	rejected := 0

	cw := chatwoot.New(chatwoot.Config{Secret: "s"}, event.Decoder{MaxBytes: 1 << 20})
	for _, doc := range fixtures(t, "../chatwoot/testdata") {
		for _, m := range mutations(t, doc) {
			for _, o := range cw.Decode([]ingest.Message{{Topic: "chatwoot.events", Value: m, Time: now}}) {
				if checkReason(t, "chatwoot", m, o.Err) {
					rejected++
				}
			}
		}
	}
	evo := evolution.New(evolution.Config{Instances: []string{"loja-centro"}, Events: append(evolution.Handled(), "connection.update")}, event.Decoder{MaxBytes: 1 << 20}, []byte("0123456789abcdef0123456789abcdef"))
	for _, doc := range fixtures(t, "../evolution/testdata") {
		var env struct{ Event string }
		_ = json.Unmarshal(doc, &env)
		topic := "evolution.loja-centro." + env.Event
		for _, m := range mutations(t, doc) {
			for _, o := range evo.Decode([]ingest.Message{{Topic: topic, Value: m, Time: now}}) {
				if checkReason(t, "evolution", m, o.Err) {
					rejected++
				}
			}
		}
	}
	canon := `{"schema":"cx.event/v1","event_id":"e-1","type":"message","occurred_at":"2026-11-21T14:03:05-03:00","source":"s","channel":"whatsapp",` +
		`"conversation_id":"c-1","contact":{"phone":"+5511987654321","email":"a@example.com","ids":{"instagram":"a.s"},"name":"A S"},` +
		`"actor":{"kind":"customer","id":"","team":""},"message":{"direction":"inbound","text":"t","private":false,"intent":"i"},` +
		`"survey":{"kind":"csat","score":5,"comment":"c"},"consent":{"purpose":"analytics","granted":true},"link":{"email":"b@example.com"}}`
	for _, m := range mutations(t, []byte(canon)) {
		_, err := event.Decoder{}.Decode(m)
		if checkReason(t, "cx.event/v1", m, err) {
			rejected++
		}
	}
	// The corpus must have produced rejections for the check to mean anything.
	if rejected < 500 {
		t.Errorf("only %d payloads of the corpus were rejected or skipped", rejected)
	}
	t.Logf("%d rejected or skipped payloads checked", rejected)
}
