package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/warehouse"
)

// This file is how the consumer rides out faults: which Kafka errors
// retrying can cure, the back-off between retries, the health it reports
// meanwhile, and the one deadline of a shutdown.

// Health states of a consumer (Consumer.Health).
const (
	// StateOK: fetching works, or the partitions are idle with the broker
	// reachable.
	StateOK = "ok"
	// StateDegraded: the broker cannot be reached (or answers with an
	// error that retrying can cure); the consumer retries with back-off.
	StateDegraded = "degraded"
	// StateStopped: Run has returned with an error; nothing is ingested.
	StateStopped = "stopped"
)

// Back-off between retries of a fetch or a commit.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
)

// ErrShutdownDeadline ends the context of a shutdown that took longer than
// Config.ShutdownTimeout.
var ErrShutdownDeadline = errors.New("shutdown deadline passed (ingest.shutdown_timeout)")

// ShutdownContext returns a context that is not cancelled with ctx, but d
// after it is, with cause ErrShutdownDeadline: what is still in hand when
// ctx ends gets d to finish, all of it together. Call cancel when done.
func ShutdownContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(d, func() { cancel(ErrShutdownDeadline) })
		context.AfterFunc(sctx, func() { t.Stop() })
	})
	return sctx, func() { stop(); cancel(context.Canceled) }
}

// Health is what the consumer says about itself, for /healthz and /metrics.
type Health struct {
	State  string // StateOK, StateDegraded or StateStopped
	Reason string // why it is not ok; empty when it is
	Since  time.Time
	// BrokerReachable is false from a failed fetch or probe to the next
	// successful one.
	BrokerReachable bool
	// LastFetch is when messages were last fetched (zero: none yet). On
	// an idle topic it grows old with the broker reachable.
	LastFetch time.Time
}

// health is the consumer's Health and its retry state.
type health struct {
	mu           sync.Mutex
	h            Health
	wait         time.Duration // next back-off
	missingSince time.Time     // a topic has been missing since (zero: none)
}

// Health reports the consumer's state. Safe for concurrent use.
func (c *Consumer) Health() Health {
	c.health.mu.Lock()
	defer c.health.mu.Unlock()
	h := c.health.h
	if h.State == "" {
		h.State, h.BrokerReachable = StateOK, true
	}
	return h
}

func (c *Consumer) setHealth(state, reason string, reachable bool) {
	c.health.mu.Lock()
	defer c.health.mu.Unlock()
	if c.health.h.State != state {
		c.health.h.Since = time.Now()
	}
	c.health.h.State, c.health.h.Reason, c.health.h.BrokerReachable = state, reason, reachable
}

// fetched records a successful fetch: the broker is back, back-off resets.
func (c *Consumer) fetched() {
	c.health.mu.Lock()
	c.health.h.LastFetch = time.Now()
	degraded := c.health.h.State == StateDegraded
	since := c.health.h.Since
	c.health.wait, c.health.missingSince = 0, time.Time{}
	c.health.mu.Unlock()
	if degraded {
		c.log.Warn("kafka reachable again; fetching", "outage", time.Since(since).Round(time.Millisecond))
	}
	c.setHealth(StateOK, "", true)
}

// stopped records that Run returned with err.
func (c *Consumer) stopped(err error) {
	c.setHealth(StateStopped, "ingest stopped: "+err.Error(), c.Health().BrokerReachable)
}

// underMemoryPressure reports whether err is DuckDB running out of memory
// or of spill space (warehouse.ExplainMemory): a reader's heavy query, a
// model refresh or a compaction holding the shared buffer pool. It passes
// when they finish, so the batch is retried.
func underMemoryPressure(err error) bool {
	var oom *warehouse.OutOfMemoryError
	return errors.As(warehouse.ExplainMemory(err), &oom)
}

// retryMemory waits wait after a batch failed for lack of memory, with
// Health degraded, and reports whether to consume again (false: ctx ended).
// The failed batch was rolled back and its offsets, and those of every
// part fetched after it, were not committed: the next round's reader
// starts from the group's committed offsets, so those messages are read
// again, and the events of batches that did commit after it count as
// duplicates. Each event is stored once.
func (c *Consumer) retryMemory(ctx context.Context, err error, wait time.Duration) bool {
	c.Stats.MemoryRetries.Add(1)
	reason := "warehouse: a batch ran out of memory; retrying: " + warehouse.ExplainMemory(err).Error()
	c.setHealth(StateDegraded, reason, c.Health().BrokerReachable)
	c.log.Warn("a batch failed for lack of DuckDB memory; rolled back, consuming again from the committed offsets",
		"wait", wait, "err", err)
	return sleep(ctx, wait)
}

// curable reports whether retrying can cure err: the broker or the network
// went away, a leader or coordinator is moving, the group is rebalancing.
// Authentication and authorization failures, TLS failures and errors it
// does not know are not.
func curable(err error) bool {
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		switch kerr {
		case kafka.SASLAuthenticationFailed, kafka.UnsupportedSASLMechanism, kafka.IllegalSASLState,
			kafka.TopicAuthorizationFailed, kafka.GroupAuthorizationFailed, kafka.ClusterAuthorizationFailed:
			return false
		}
		return kerr.Temporary() || lostGeneration(err)
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return false
	}
	var nerr net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &nerr)
}

// BrokerError is an error from Kafka that retrying cannot cure, or one
// that lasted past its grace period: Run stops with it.
type BrokerError struct {
	Why string // what kind of failure, for the operator
	Err error
}

func (e *BrokerError) Error() string { return e.Why + ": " + e.Err.Error() }
func (e *BrokerError) Unwrap() error { return e.Err }

// rideOut decides what a failed fetch means. An error retrying cannot
// cure, or a topic missing for longer than Config.TopicGrace, is returned
// as a *BrokerError: Run stops. Otherwise the consumer is degraded: one
// warning, a back-off (100ms doubling to 5s) that ctx cuts short, then a
// probe of the broker, which clears the degradation when it answers (on an
// idle topic no fetch would). It returns nil to go on fetching.
func (c *Consumer) rideOut(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	if ferr := c.classify(err); ferr != nil {
		return ferr
	}
	c.health.mu.Lock()
	wait := max(c.health.wait, backoffMin)
	c.health.wait = min(wait*2, backoffMax)
	c.health.mu.Unlock()
	c.setHealth(StateDegraded, "kafka: "+err.Error(), false)
	c.log.Warn("fetching from kafka failed; retrying", "wait", wait, "err", err)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-t.C:
	}
	perr := c.probe(ctx)
	if perr == nil {
		c.setHealth(StateOK, "", true)
		return nil
	}
	if ctx.Err() != nil {
		return nil
	}
	c.setHealth(StateDegraded, "kafka: "+perr.Error(), false)
	return c.classify(perr)
}

// classify returns a *BrokerError for err when Run must stop on it.
func (c *Consumer) classify(err error) error {
	if errors.Is(err, kafka.UnknownTopicOrPartition) {
		c.health.mu.Lock()
		if c.health.missingSince.IsZero() {
			c.health.missingSince = time.Now()
		}
		missing := time.Since(c.health.missingSince)
		c.health.mu.Unlock()
		if missing > c.cfg.TopicGrace {
			return &BrokerError{Why: fmt.Sprintf("a topic of ingest.topics is still missing after %s (ingest.topic_grace): create it or fix the list",
				c.cfg.TopicGrace), Err: err}
		}
		return nil
	}
	if !curable(err) {
		return &BrokerError{Why: "kafka refused the consumer with an error that retrying cannot cure (authentication, authorization, TLS or unknown)", Err: err}
	}
	return nil
}

// probe asks a broker for the topics' partitions: it answers when Kafka is
// reachable and every topic exists.
func (c *Consumer) probe(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var errs []error
	for _, b := range c.cfg.Brokers {
		conn, err := kafka.DialContext(pctx, "tcp", b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		parts, err := conn.ReadPartitions(c.cfg.Topics...)
		conn.Close()
		if err != nil {
			return fmt.Errorf("reading partitions of the topics: %w", err)
		}
		seen := map[string]bool{}
		for _, p := range parts {
			seen[p.Topic] = true
		}
		for _, t := range c.cfg.Topics {
			if !seen[t] {
				return fmt.Errorf("topic %q: %w", t, kafka.UnknownTopicOrPartition)
			}
		}
		return nil
	}
	return fmt.Errorf("no broker of ingest.brokers answered: %w", errors.Join(errs...))
}

// waitForBroker checks at start that Kafka answers and the topics exist.
// With WaitForBroker zero it fails at once; otherwise it retries with
// back-off for up to WaitForBroker (for orchestrated starts).
func (c *Consumer) waitForBroker(ctx context.Context) error {
	deadline := time.Now().Add(c.WaitForBroker)
	wait := backoffMin
	for {
		err := c.probe(ctx)
		if err == nil {
			c.setHealth(StateOK, "", true)
			return nil
		}
		if ctx.Err() != nil {
			return nil // stopping before we began
		}
		if !curable(err) {
			return &BrokerError{Why: "kafka refused the consumer at start", Err: err}
		}
		if c.WaitForBroker <= 0 {
			return fmt.Errorf("kafka is not reachable at start (brokers %v); start it, or pass --wait-for-broker DURATION to wait: %w",
				c.cfg.Brokers, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("kafka was not reachable within --wait-for-broker %s (brokers %v): %w", c.WaitForBroker, c.cfg.Brokers, err)
		}
		c.setHealth(StateDegraded, "waiting for kafka: "+err.Error(), false)
		c.log.Warn("waiting for kafka", "wait", wait, "err", err)
		if !sleep(ctx, min(wait, left)) {
			return nil
		}
		wait = min(wait*2, backoffMax)
	}
}

// probeEvery is how often watch probes the broker when nothing was
// fetched in that time.
const probeEvery = 5 * time.Second

// probeReason prefixes the reasons that watch sets, so that only watch
// clears them (a fetch or a commit that works clears any).
const probeReason = "kafka unreachable: "

// watch probes the broker every probeEvery while nothing is fetched, until
// ctx ends: an outage shows in Health within seconds even when ingest is
// idle or waits on a commit, and so does its end. A topic missing for
// longer than TopicGrace stops the consumer: watch returns that error.
func (c *Consumer) watch(ctx context.Context) error {
	for sleep(ctx, probeEvery) {
		h := c.Health()
		if time.Since(h.LastFetch) < probeEvery {
			continue
		}
		err := c.probe(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			c.health.mu.Lock()
			c.health.missingSince = time.Time{}
			c.health.mu.Unlock()
			if h.State == StateDegraded && strings.HasPrefix(h.Reason, probeReason) {
				c.log.Warn("kafka reachable again", "outage", time.Since(h.Since).Round(time.Millisecond))
				c.setHealth(StateOK, "", true)
			}
			continue
		}
		if ferr := c.classify(err); ferr != nil {
			return ferr
		}
		if h.State != StateDegraded {
			c.log.Warn("kafka unreachable; retrying", "err", err)
		}
		c.setHealth(StateDegraded, probeReason+err.Error(), false)
	}
	return nil
}

// committed records a commit that worked, and degraded one that failed.
func (c *Consumer) committed(err error) {
	if err == nil {
		if h := c.Health(); h.State == StateDegraded {
			c.setHealth(StateOK, "", true)
		}
		return
	}
	c.setHealth(StateDegraded, "kafka: committing offsets: "+err.Error(), false)
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// offsets lists the newest message of each topic-partition in parts as
// "topic/partition@offset", sorted: what a shutdown left uncommitted.
func offsets(parts []*inflight) string {
	newest := map[string]int64{}
	for _, f := range parts {
		for topic, ps := range f.a.last {
			for p, m := range ps {
				k := fmt.Sprintf("%s/%d", topic, p)
				if o, ok := newest[k]; !ok || m.Offset > o {
					newest[k] = m.Offset
				}
			}
		}
	}
	var out []string
	for k, o := range newest {
		out = append(out, fmt.Sprintf("%s@%d", k, o))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
