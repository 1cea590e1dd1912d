package gateway

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: the user name
// comes from the startup message (the SCRAM "n=" attribute is ignored), and
// channel binding is not offered, so clients never send "p=".

const scramMechanism = "SCRAM-SHA-256"

// scramIterations is PostgreSQL's default iteration count.
const scramIterations = 4096

// verifier is what the server keeps of a password.
type verifier struct {
	salt       []byte
	iterations int
	storedKey  []byte
	serverKey  []byte
}

// NewVerifier returns a PostgreSQL SCRAM-SHA-256 verifier for password, for
// the scram key of a gateway user, so that the config file need not hold
// the password. Each call uses a new random salt.
func NewVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("making a salt: %w", err)
	}
	v, err := deriveVerifier(password, salt, scramIterations)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

func deriveVerifier(password string, salt []byte, iterations int) (verifier, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return verifier{}, fmt.Errorf("deriving the SCRAM key: %w", err)
	}
	clientKey := hmacSHA256(salted, []byte("Client Key"))
	stored := sha256.Sum256(clientKey)
	return verifier{salt: salt, iterations: iterations, storedKey: stored[:],
		serverKey: hmacSHA256(salted, []byte("Server Key"))}, nil
}

// String formats v as PostgreSQL stores it in pg_authid.rolpassword.
func (v verifier) String() string {
	b := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("%s$%d:%s$%s:%s", scramMechanism, v.iterations, b(v.salt), b(v.storedKey), b(v.serverKey))
}

func parseVerifier(s string) (verifier, error) {
	bad := errors.New(`not a SCRAM-SHA-256 verifier: expected "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>"`)
	mech, rest, ok := strings.Cut(s, "$")
	if !ok || mech != scramMechanism {
		return verifier{}, bad
	}
	iterSalt, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return verifier{}, bad
	}
	iter, salt64, ok1 := strings.Cut(iterSalt, ":")
	stored64, server64, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return verifier{}, bad
	}
	var v verifier
	var err error
	if v.iterations, err = strconv.Atoi(iter); err != nil || v.iterations < 1 || v.iterations > 10_000_000 {
		return verifier{}, bad
	}
	dec := base64.StdEncoding.DecodeString
	if v.salt, err = dec(salt64); err != nil || len(v.salt) == 0 {
		return verifier{}, bad
	}
	if v.storedKey, err = dec(stored64); err != nil || len(v.storedKey) != sha256.Size {
		return verifier{}, bad
	}
	if v.serverKey, err = dec(server64); err != nil || len(v.serverKey) != sha256.Size {
		return verifier{}, bad
	}
	return v, nil
}

func hmacSHA256(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

// scramExchange is the server side of one SCRAM-SHA-256 authentication.
// With a nil verifier (unknown user) it runs the same exchange with a mock
// salt and fails at the end, so a client cannot tell an unknown user from a
// wrong password.
type scramExchange struct {
	v               *verifier
	clientFirstBare string
	serverFirst     string
	nonce           string
}

// first takes the client-first-message and returns the server-first-message.
func (x *scramExchange) first(msg []byte) (string, error) {
	s := string(msg)
	// gs2-header: "n,," (no binding) or "y,," (client could bind, thinks we cannot).
	var rest string
	switch {
	case strings.HasPrefix(s, "n,"), strings.HasPrefix(s, "y,"):
		rest = s[2:]
	case strings.HasPrefix(s, "p="):
		return "", errors.New("SCRAM channel binding was requested but not offered")
	default:
		return "", errors.New("malformed SCRAM client-first-message")
	}
	// authzid (a=...) is not supported; rest must start with ",".
	_, bare, ok := strings.Cut(rest, ",")
	if !ok || strings.HasPrefix(rest, "a=") {
		return "", errors.New("malformed SCRAM client-first-message")
	}
	x.clientFirstBare = bare
	var cnonce string
	for _, attr := range strings.Split(bare, ",") {
		if strings.HasPrefix(attr, "r=") {
			cnonce = attr[2:]
		}
		if strings.HasPrefix(attr, "m=") {
			return "", errors.New("SCRAM extensions are not supported")
		}
	}
	if cnonce == "" || strings.ContainsAny(cnonce, ",") {
		return "", errors.New("SCRAM client nonce missing")
	}
	snonce := make([]byte, 18)
	if _, err := rand.Read(snonce); err != nil {
		return "", err
	}
	x.nonce = cnonce + base64.RawStdEncoding.EncodeToString(snonce)
	x.serverFirst = fmt.Sprintf("r=%s,s=%s,i=%d", x.nonce, base64.StdEncoding.EncodeToString(x.v.salt), x.v.iterations)
	return x.serverFirst, nil
}

// final takes the client-final-message. It returns the server-final-message
// when the proof is right, and ok false otherwise.
func (x *scramExchange) final(msg []byte, known bool) (serverFinal string, ok bool, err error) {
	s := string(msg)
	i := strings.LastIndex(s, ",p=")
	if i < 0 {
		return "", false, errors.New("malformed SCRAM client-final-message")
	}
	withoutProof, proof64 := s[:i], s[i+3:]
	var nonce, binding string
	for _, attr := range strings.Split(withoutProof, ",") {
		switch {
		case strings.HasPrefix(attr, "r="):
			nonce = attr[2:]
		case strings.HasPrefix(attr, "c="):
			binding = attr[2:]
		}
	}
	if nonce != x.nonce {
		return "", false, errors.New("SCRAM nonce mismatch")
	}
	if binding != "biws" && binding != "eSws" { // base64 of "n,," and "y,,"
		return "", false, errors.New("unexpected SCRAM channel binding")
	}
	proof, err := base64.StdEncoding.DecodeString(proof64)
	if err != nil || len(proof) != sha256.Size {
		return "", false, errors.New("malformed SCRAM proof")
	}
	authMessage := []byte(x.clientFirstBare + "," + x.serverFirst + "," + withoutProof)
	clientSig := hmacSHA256(x.v.storedKey, authMessage)
	clientKey := make([]byte, sha256.Size)
	for i := range clientKey {
		clientKey[i] = proof[i] ^ clientSig[i]
	}
	got := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(got[:], x.v.storedKey) != 1 || !known {
		return "", false, nil
	}
	serverSig := hmacSHA256(x.v.serverKey, authMessage)
	return "v=" + base64.StdEncoding.EncodeToString(serverSig), true, nil
}

// mockVerifier returns a verifier for an unknown user: deterministic per
// name (so repeated attempts see the same salt, as for a real user) and
// matching no password.
func mockVerifier(secret []byte, user string) *verifier {
	salt := hmacSHA256(secret, []byte("salt:"+user))[:16]
	key := hmacSHA256(secret, []byte("key:"+user))
	return &verifier{salt: salt, iterations: scramIterations, storedKey: key, serverKey: key}
}
