package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestAuditMasksLiterals: a compliance query that names a person keeps no
// trace of the name, the e-mail or the parameter values in the audit, over
// both protocols.
func TestAuditMasksLiterals(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "comp")
	ctx := context.Background()
	secrets := []string{"ana@example.com", "+5511987654321", "Ana Souza", "pedido 1234"}
	// Personal data is sealed in the warehouse (docs/governance.md):
	// compliance reads it through cx_content.
	q := `select count(*) from events where cx_content(event_id, subject_hash, occurred_at, content) ilike '%ana@example.com%'
		or cx_content(event_id, subject_hash, occurred_at, content) ilike '%+5511987654321%'
		or cx_content(event_id, subject_hash, occurred_at, content) ilike '%Ana Souza%' or cx_content(event_id, subject_hash, occurred_at, content) ilike '%pedido 1234%'`
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		var n int64
		if err := c.QueryRow(ctx, q, mode).Scan(&n); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
	}
	var n int64
	if err := c.QueryRow(ctx, "select count(*) from contact_identities where identifier_value = $1 or identifier_value = $2",
		"ana@example.com", "+5511987654321").Scan(&n); err != nil {
		t.Fatal(err)
	}
	// A failing query: DuckDB's message quotes the literal, the audit must not.
	_, err := c.Exec(ctx, "select cast('Ana Souza' as integer)")
	mustContain(t, err, "Ana Souza") // the client gets DuckDB's message about its own text

	recs := auditRows(t, s, c.PgConn().PID())
	if len(recs) < 4 {
		t.Fatalf("%d audit records, want 4", len(recs))
	}
	for _, r := range recs {
		for _, sec := range secrets {
			if strings.Contains(r.Statement, sec) || strings.Contains(r.Reason, sec) {
				t.Errorf("the audit kept %q: %q / %q", sec, r.Statement, r.Reason)
			}
		}
		if r.User != "comp" || r.Role != RoleCompliance {
			t.Errorf("audit user/role: %s/%s", r.User, r.Role)
		}
	}
	first := recs[0]
	if first.Outcome != OutcomeOK || first.Rows != 1 || !strings.Contains(first.Statement, "$1") || !strings.Contains(first.Statement, "cx_content") ||
		strings.Join(first.Relations, ",") != "main.events" {
		t.Errorf("first record: %+v", first)
	}
	last := recs[len(recs)-1]
	if last.Outcome != OutcomeError || last.Reason != "conversion" || !strings.Contains(last.Statement, "CAST($1 AS INTEGER)") {
		t.Errorf("failed query's record: %+v", last)
	}
}

// TestTLS: with a certificate configured, clients that require TLS get it,
// and SCRAM runs inside it.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile)
	s := testServer(t, func(c *Config, _ *Options) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := strings.Replace(connString(s, "ana", "ana-pw"), "sslmode=disable", "sslmode=require", 1)
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("TLS connection: %v", err)
	}
	defer c.Close(ctx)
	if _, ok := c.PgConn().Conn().(*tls.Conn); !ok {
		t.Fatalf("the connection is not TLS: %T", c.PgConn().Conn())
	}
	var n int64
	if err := c.QueryRow(ctx, "select count(*) from kpi_daily").Scan(&n); err != nil || n == 0 {
		t.Fatalf("query over TLS: %d %v", n, err)
	}
	// Without a certificate, a client that requires TLS is told no.
	plain := testServer(t)
	_, err = pgx.Connect(ctx, strings.Replace(connString(plain, "ana", "ana-pw"), "sslmode=disable", "sslmode=require", 1))
	mustContain(t, err, "server refused TLS")
}

func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cxlake test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// failingAuditor loses every record.
type failingAuditor struct{}

func (failingAuditor) AuditQuery(context.Context, QueryRecord) error {
	return errors.New("disk full")
}

// TestAuditFailureClosesSession: when a query cannot be audited, the
// session ends, so that no query runs unaudited.
func TestAuditFailureClosesSession(t *testing.T) {
	s := testServer(t, func(_ *Config, o *Options) { o.Auditor = failingAuditor{} })
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		c := connect(t, s, "ana")
		_, err := c.Exec(context.Background(), "select count(*) from kpi_daily", mode)
		if pgCode(err) != codeSystemError || !strings.Contains(err.Error(), "audit") {
			t.Fatalf("%s: %v, want SQLSTATE 58000 about the audit", mode, err)
		}
		if err := c.Ping(context.Background()); err == nil {
			t.Fatalf("%s: the session survived a failed audit", mode)
		}
	}
}
