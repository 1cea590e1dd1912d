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
	"hash"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cxlake/cxlake/internal/ratelog"
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
// Everything that can be checked without the body is checked before it is
// read: the credentials' presence, the token, the timestamp, the declared
// length. A body is then read only within BodyTimeout, into a buffer of at
// most Config.MaxBodyBytes taken from a budget of MaxBufferedBytes shared
// by every request in flight, with the signature computed as it streams
// in. So unauthenticated clients hold little memory, in total.
//
// It then publishes the body, as it came but for the contacts'
// pubsub_token (a credential, replaced by "[redacted]"), and answers 202
// only once Kafka
// has it. Answers are JSON {"status": ...} or {"error": ...}:
//
//	401 no signature and no token       403 a wrong signature or token
//	400 a body that is not a JSON object with an event
//	408 a body not received within BodyTimeout
//	413 a body over Config.MaxBodyBytes 503 Kafka did not take it, or the
//	                                        body budget is spent (Retry-After; nothing was stored)
//
// Refusals are logged at most once a minute per source address and
// reason, with a count of those suppressed, and counted by Refused.
type Handler struct {
	cfg Config
	pub Publisher
	log *slog.Logger
	now func() time.Time
	// PublishTimeout bounds the wait for Kafka (default 10s).
	PublishTimeout time.Duration
	// BodyTimeout bounds reading the body, from the end of the checks
	// that need none (default 10s).
	BodyTimeout time.Duration
	// Refused, when set, is called with the reason of each refusal (one
	// of the Refused* constants): the count in /metrics.
	Refused func(reason string)

	budget   chan struct{} // one token per KiB of buffered body
	refusals *ratelog.Limiter
}

// Reasons a webhook is refused, for Handler.Refused (metric labels).
const (
	RefusedNoCredentials = "no_credentials"
	RefusedBadToken      = "bad_token"
	RefusedBadTimestamp  = "bad_timestamp"
	RefusedBadSignature  = "bad_signature"
	RefusedTooLarge      = "too_large"
	RefusedSlowBody      = "slow_body"
	RefusedBusy          = "busy"
	RefusedBadBody       = "bad_body"
)

// DefaultMaxBufferedBytes is the most body bytes that all requests in
// flight may hold together: 8 bodies of the default largest size, or
// hundreds of Chatwoot's usual few-KiB ones.
const DefaultMaxBufferedBytes = 8 * DefaultMaxBodyBytes

// NewHandler returns the endpoint for cfg (which must be valid), publishing with pub.
func NewHandler(cfg Config, pub Publisher, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{cfg: cfg.WithDefaults(), pub: pub, log: log.With("component", "chatwoot-webhook"), now: time.Now,
		PublishTimeout: 10 * time.Second, BodyTimeout: 10 * time.Second, refusals: ratelog.New(time.Minute)}
	h.SetMaxBufferedBytes(DefaultMaxBufferedBytes)
	return h
}

// SetMaxBufferedBytes sets the budget of body bytes that all requests in
// flight may hold together (at least one largest body). Call it before
// serving.
func (h *Handler) SetMaxBufferedBytes(n int) {
	h.budget = make(chan struct{}, max(n, h.cfg.MaxBodyBytes)/1024+1)
}

// RetryAfter is the Retry-After of a 503, in seconds.
const RetryAfter = 5

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "error", "use POST")
		return
	}
	mac, status, reason, msg := h.precheck(r)
	if status != 0 {
		h.refuse(w, r, status, reason, msg)
		return
	}
	// The declared length is checked before reading; a body with none
	// (chunked) is cut at the limit as it streams.
	if r.ContentLength > int64(h.cfg.MaxBodyBytes) {
		h.refuse(w, r, http.StatusRequestEntityTooLarge, RefusedTooLarge,
			"body is over "+strconv.Itoa(h.cfg.MaxBodyBytes)+" bytes (sources.chatwoot.max_body_bytes)")
		return
	}
	size := h.cfg.MaxBodyBytes
	if r.ContentLength >= 0 {
		size = int(r.ContentLength)
	}
	release, ok := h.reserve(r.Context(), size)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
		h.refuse(w, r, http.StatusServiceUnavailable, RefusedBusy, "too many webhook bodies in flight; retry later")
		return
	}
	defer release()
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.BodyTimeout))
	body, err := readBody(http.MaxBytesReader(w, r.Body, int64(h.cfg.MaxBodyBytes)), size, mac)
	if err != nil {
		var tooBig *http.MaxBytesError
		var nerr net.Error
		switch {
		case errors.As(err, &tooBig):
			h.refuse(w, r, http.StatusRequestEntityTooLarge, RefusedTooLarge,
				"body is over "+strconv.Itoa(h.cfg.MaxBodyBytes)+" bytes (sources.chatwoot.max_body_bytes)")
		case errors.As(err, &nerr) && nerr.Timeout():
			h.refuse(w, r, http.StatusRequestTimeout, RefusedSlowBody, "the body did not arrive within "+h.BodyTimeout.String())
		default:
			h.refuse(w, r, http.StatusBadRequest, RefusedBadBody, "reading the body failed")
		}
		return
	}
	if mac != nil {
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(strings.ToLower(r.Header.Get("X-Chatwoot-Signature"))), []byte(want)) {
			h.refuse(w, r, http.StatusForbidden, RefusedBadSignature,
				"X-Chatwoot-Signature does not match: sources.chatwoot.secret must be the webhook's secret in Chatwoot")
			return
		}
	}
	ev, key, problem := inspect(body)
	if problem != "" {
		reply(w, http.StatusBadRequest, "error", problem)
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

// precheck does every check that needs no body. It returns the MAC to
// feed the body to when the request is signed, nil when it carries the
// right token; or the status, reason and message of a refusal.
func (h *Handler) precheck(r *http.Request) (mac hash.Hash, status int, reason, msg string) {
	sig := r.Header.Get("X-Chatwoot-Signature")
	token := r.URL.Query().Get("token")
	switch {
	case h.cfg.Secret != "" && sig != "":
		ts := r.Header.Get("X-Chatwoot-Timestamp")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return nil, http.StatusUnauthorized, RefusedBadTimestamp, "X-Chatwoot-Timestamp is missing or not Unix seconds; it is signed with the body"
		}
		if d := h.now().Sub(time.Unix(sec, 0)); d > h.cfg.SignatureTolerance || d < -h.cfg.SignatureTolerance {
			return nil, http.StatusUnauthorized, RefusedBadTimestamp, "X-Chatwoot-Timestamp is more than " + h.cfg.SignatureTolerance.String() + " from now: a replayed request, or a clock to fix"
		}
		if !strings.HasPrefix(strings.ToLower(sig), "sha256=") || len(sig) != len("sha256=")+2*sha256.Size {
			return nil, http.StatusForbidden, RefusedBadSignature, "X-Chatwoot-Signature does not match: sources.chatwoot.secret must be the webhook's secret in Chatwoot"
		}
		mac := hmac.New(sha256.New, []byte(h.cfg.Secret))
		mac.Write([]byte(ts))
		mac.Write([]byte("."))
		return mac, 0, "", ""
	case h.cfg.Token != "" && token != "":
		if subtle.ConstantTimeCompare([]byte(token), []byte(h.cfg.Token)) != 1 {
			return nil, http.StatusForbidden, RefusedBadToken, "the token in the URL does not match sources.chatwoot.token"
		}
		return nil, 0, "", ""
	case h.cfg.Secret != "":
		return nil, http.StatusUnauthorized, RefusedNoCredentials, "missing X-Chatwoot-Signature: give the webhook a secret in Chatwoot and set it as sources.chatwoot.secret"
	default:
		return nil, http.StatusUnauthorized, RefusedNoCredentials, "missing ?token= in the webhook URL (sources.chatwoot.token)"
	}
}

// reserve takes size bytes (rounded up to KiB) from the body budget,
// waiting up to a second; release gives them back.
func (h *Handler) reserve(ctx context.Context, size int) (release func(), ok bool) {
	n := size/1024 + 1
	t := time.NewTimer(time.Second)
	defer t.Stop()
	for i := 0; i < n; i++ {
		select {
		case h.budget <- struct{}{}:
		case <-t.C:
			h.giveBack(i)
			return nil, false
		case <-ctx.Done():
			h.giveBack(i)
			return nil, false
		}
	}
	return func() { h.giveBack(n) }, true
}

func (h *Handler) giveBack(n int) {
	for range n {
		<-h.budget
	}
}

// readBody reads r whole into a buffer sized for size bytes, writing it to
// mac (when not nil) as it arrives.
func readBody(r io.Reader, size int, mac hash.Hash) ([]byte, error) {
	// Sized once: the budget has room for it, and no growth leaves garbage.
	buf := bytes.NewBuffer(make([]byte, 0, size+1))
	var dst io.Writer = buf
	if mac != nil {
		dst = io.MultiWriter(buf, mac)
	}
	if _, err := io.Copy(dst, r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// refuse answers a refusal, counts it, and logs it at most once a minute
// per source address and reason.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	if h.Refused != nil {
		h.Refused(reason)
	}
	src, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		src = r.RemoteAddr
	}
	if ok, suppressed := h.refusals.Allow(src + " " + reason); ok {
		h.log.Warn("webhook refused", "status", status, "reason", reason, "source", src, "suppressed_last_minute", suppressed)
	}
	reply(w, status, "error", msg)
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
