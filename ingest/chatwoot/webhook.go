package chatwoot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Path is where the running server takes Chatwoot's webhooks.
const Path = "/v1/sources/chatwoot"

// Handler is the webhook endpoint. It accepts a POST when:
//
//   - it is signed with Config.Secret the way Chatwoot signs webhooks that
//     have a secret (lib/webhooks/trigger.rb): X-Chatwoot-Timestamp is the
//     Unix time, and X-Chatwoot-Signature is "sha256=" and the hex
//     HMAC-SHA256 of "<timestamp>.<body>"; the timestamp must be within
//     Config.SignatureTolerance of now, so a captured request cannot be
//     replayed later; or
//   - its URL carries ?token=<Config.Token>, for Chatwoot versions that do
//     not sign webhooks.
//
// It then publishes the body, as it came but for the contacts'
// pubsub_token (a credential, replaced by "[redacted]"), and answers 202 only once Kafka
// has it. Answers are JSON {"status": ...} or {"error": ...}:
//
//	401 no signature and no token       403 a wrong signature or token
//	400 a body that is not a JSON object with an event
//	413 a body over Config.MaxBodyBytes 503 Kafka did not take it (Retry-After; nothing was stored)
type Handler struct {
	cfg Config
	pub Publisher
	log *slog.Logger
	now func() time.Time
	// PublishTimeout bounds the wait for Kafka (default 10s).
	PublishTimeout time.Duration
}

// NewHandler returns the endpoint for cfg (which must be valid), publishing with pub.
func NewHandler(cfg Config, pub Publisher, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{cfg: cfg.WithDefaults(), pub: pub, log: log.With("component", "chatwoot-webhook"), now: time.Now, PublishTimeout: 10 * time.Second}
}

// RetryAfter is the Retry-After of a 503, in seconds.
const RetryAfter = 5

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "error", "use POST")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(h.cfg.MaxBodyBytes)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reply(w, http.StatusRequestEntityTooLarge, "error", "body is over "+strconv.Itoa(h.cfg.MaxBodyBytes)+" bytes (sources.chatwoot.max_body_bytes)")
			return
		}
		reply(w, http.StatusBadRequest, "error", "reading the body failed")
		return
	}
	if status, msg := h.authenticate(r, body); status != 0 {
		h.log.Warn("webhook refused", "status", status, "reason", msg)
		reply(w, status, "error", msg)
		return
	}
	ev, key, msg := inspect(body)
	if msg != "" {
		reply(w, http.StatusBadRequest, "error", msg)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.PublishTimeout)
	defer cancel()
	if err := h.pub.Publish(ctx, key, withoutTokens(body)); err != nil {
		h.log.Warn("webhook not published; refused with 503 so that it is retried", "event", ev, "bytes", len(body), "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
		reply(w, http.StatusServiceUnavailable, "error", "Kafka did not acknowledge the event; nothing was stored, retry later")
		return
	}
	h.log.Debug("webhook published", "event", ev, "bytes", len(body))
	reply(w, http.StatusAccepted, "status", "accepted")
}

// authenticate returns 0 for a request signed with the secret or carrying
// the token, else the status and why.
func (h *Handler) authenticate(r *http.Request, body []byte) (int, string) {
	sig := r.Header.Get("X-Chatwoot-Signature")
	token := r.URL.Query().Get("token")
	switch {
	case h.cfg.Secret != "" && sig != "":
		ts := r.Header.Get("X-Chatwoot-Timestamp")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return http.StatusUnauthorized, "X-Chatwoot-Timestamp is missing or not Unix seconds; it is signed with the body"
		}
		if d := h.now().Sub(time.Unix(sec, 0)); d > h.cfg.SignatureTolerance || d < -h.cfg.SignatureTolerance {
			return http.StatusUnauthorized, "X-Chatwoot-Timestamp is more than " + h.cfg.SignatureTolerance.String() + " from now: a replayed request, or a clock to fix"
		}
		mac := hmac.New(sha256.New, []byte(h.cfg.Secret))
		mac.Write([]byte(ts))
		mac.Write([]byte("."))
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(strings.ToLower(sig)), []byte(want)) {
			return http.StatusForbidden, "X-Chatwoot-Signature does not match: sources.chatwoot.secret must be the webhook's secret in Chatwoot"
		}
		return 0, ""
	case h.cfg.Token != "" && token != "":
		if subtle.ConstantTimeCompare([]byte(token), []byte(h.cfg.Token)) != 1 {
			return http.StatusForbidden, "the token in the URL does not match sources.chatwoot.token"
		}
		return 0, ""
	case h.cfg.Secret != "":
		return http.StatusUnauthorized, "missing X-Chatwoot-Signature: give the webhook a secret in Chatwoot and set it as sources.chatwoot.secret"
	default:
		return http.StatusUnauthorized, "missing ?token= in the webhook URL (sources.chatwoot.token)"
	}
}

// inspect checks that body is a JSON object with an event name, and picks
// the Kafka key that keeps one conversation's events in order: the inbox
// and conversation, else the contact, else none.
func inspect(body []byte) (ev string, key []byte, problem string) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return "", nil, "body is not a JSON object; Chatwoot sends one object per webhook"
	}
	var head struct {
		Event        string `json:"event"`
		ID           ref    `json:"id"`
		InboxID      ref    `json:"inbox_id"`
		Conversation *struct {
			ID      ref `json:"id"`
			InboxID ref `json:"inbox_id"`
		} `json:"conversation"`
	}
	if err := json.Unmarshal(trimmed, &head); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return "", nil, "body is not valid JSON (at byte " + strconv.FormatInt(se.Offset, 10) + ")"
		}
		if !json.Valid(trimmed) {
			return "", nil, "body is not valid JSON"
		}
		// Valid JSON whose fields have unexpected types: the decoder will
		// say which; it is stored, not refused.
	}
	if head.Event == "" {
		return "", nil, `body has no "event": it is not a Chatwoot webhook`
	}
	ev = head.Event
	switch {
	case head.Conversation != nil && head.Conversation.ID != "":
		key = []byte("conversation:" + string(head.Conversation.InboxID) + ":" + string(head.Conversation.ID))
	case strings.HasPrefix(ev, "conversation_") && head.ID != "":
		key = []byte("conversation:" + string(head.InboxID) + ":" + string(head.ID))
	case strings.HasPrefix(ev, "contact_") && head.ID != "":
		key = []byte("contact:" + string(head.ID))
	}
	if len(ev) > 64 {
		ev = ev[:64]
	}
	return ev, key, ""
}

func reply(w http.ResponseWriter, status int, field, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{field: msg})
	_, _ = w.Write(append(b, '\n'))
}
