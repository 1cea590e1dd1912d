// Package simulate owns cxlake's synthetic omnichannel customer-service
// traffic: a deterministic, seeded generator of cx.event/v1 messages (people
// with identities on several channels, bots that resolve or hand off, agents,
// reopens, cross-channel returns, surveys, consent, identity links), with a
// controlled share of exact duplicates and deliberately malformed messages
// that must become dead letters. It also holds the embedded broker that
// `cxlake demo` produces this traffic to.
//
// The stream is a discrete-event simulation: conversations open at a rate
// that follows business hours in America/Sao_Paulo, each one is planned as a
// short script of timed steps, and Next emits the earliest pending step, so
// events come out in time order and one person's events keep their order.
// Memory stays flat however long the stream runs.
package simulate

import (
	"math"
	"math/rand/v2"
	"time"
)

// Config controls the generator. Zero values get sensible defaults.
type Config struct {
	Seed uint64
	// Start: the first conversation opens at or after Start; default 2026-10-01T00:00:00Z.
	Start time.Time
	// Days: conversations open over this many days from Start; default 30.
	// When they are exhausted the stream starts another lap over the same
	// days with new people, so an infinite stream never leaves the window.
	Days int
	// PerDay is the mean number of conversations opened per day; default 2000
	// (about 30,000 messages a day). PerDayFor picks it for a message budget.
	PerDay int
	// MalformedRate is the share of messages deliberately malformed; default
	// 0.005, negative for none.
	MalformedRate float64
	// DuplicateRate is the share of messages that are an exact re-send of a
	// recent valid message (same event_id, same bytes); default 0.002,
	// negative for none.
	DuplicateRate float64
	// Until, when set, is the moment the history ends: no conversation
	// opens after it and the steps of conversations still in progress at
	// Until are left out (a reply that has not happened yet), as in a
	// warehouse read at that moment. The demo sets it to now so that its
	// history ends today without events in the future. Zero: no limit.
	Until time.Time
}

// DefaultStart is the default Config.Start.
var DefaultStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

// messagesPerConversation is the measured mean number of messages per
// conversation, consent, survey and standalone events included.
const messagesPerConversation = 14.8

// PerDayFor returns the Config.PerDay that spreads about messages messages
// over days days.
func PerDayFor(messages int64, days int) int {
	if days <= 0 {
		days = 30
	}
	return max(1, int(math.Round(float64(messages)/messagesPerConversation/float64(days))))
}

func (c Config) withDefaults() Config {
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	if c.Days <= 0 {
		c.Days = 30
	}
	if c.PerDay <= 0 {
		c.PerDay = 2000
	}
	switch {
	case c.MalformedRate == 0:
		c.MalformedRate = 0.005
	case c.MalformedRate < 0:
		c.MalformedRate = 0
	}
	switch {
	case c.DuplicateRate == 0:
		c.DuplicateRate = 0.002
	case c.DuplicateRate < 0:
		c.DuplicateRate = 0
	}
	return c
}

// Message is one Kafka message to produce.
type Message struct {
	// Key is the person's primary identifier (E.164 phone, else email, else a
	// channel id), the same on every channel, so a person's events keep their
	// order in one partition.
	Key []byte
	// Value is the JSON payload.
	Value []byte
	// Time is the event's occurred_at (for the Kafka record timestamp).
	Time time.Time
	// Valid is false for deliberately malformed messages, which must become
	// dead letters.
	Valid bool
	// Duplicate is true when this is a re-send of an earlier valid message.
	Duplicate bool
	// Defect names the defect of a malformed message; see Defects.
	Defect string
}

// Generator produces the stream. It is not safe for concurrent use.
type Generator struct {
	cfg     Config
	rng     *rand.Rand
	seedTag uint16

	start, end int64 // the window of one lap, unix nanoseconds
	until      int64 // Config.Until, unix nanoseconds; 0 for none
	lap        uint32
	arrival    int64 // when the next conversation of this lap opens
	rate       float64

	heap []*thread
	free []*thread
	seq  uint64

	serial       uint64 // event ids
	convSerial   uint64
	personSerial uint64
	pool         []*person
	poolNext     int

	recent     [recentSize]Message // for duplicates
	recentN    int
	recentNext int

	live bool
	now  func() time.Time

	buf   []byte
	stats counters
}

const recentSize = 512

// New returns a generator for cfg.
func New(cfg Config) *Generator {
	cfg = cfg.withDefaults()
	g := &Generator{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		seedTag: uint16(mix64(cfg.Seed)),
		start:   cfg.Start.UnixNano(),
		buf:     make([]byte, 0, 2048),
	}
	g.end = g.start + int64(cfg.Days)*24*int64(time.Hour)
	if !cfg.Until.IsZero() {
		if !cfg.Until.After(cfg.Start) {
			panic("simulate: Config.Until must be after Start")
		}
		g.until = cfg.Until.UnixNano()
		g.end = min(g.end, g.until)
	}
	g.rate = float64(cfg.PerDay) / (24 * 3600) * arrivalMax // candidates per second
	g.arrival = g.start
	g.nextArrival()
	return g
}

// LiveAt makes subsequent events be timed around the clock now: pending
// historical work is dropped, new conversations open at now(), and their
// later events follow with compressed delays (seconds stay, a minute of
// waiting becomes about six seconds, a day about half an hour). Next returns
// only events that are due, starting a new conversation when none is, so the
// caller's pace sets the traffic. People seen before may come back.
func (g *Generator) LiveAt(now func() time.Time) {
	g.live, g.now = true, now
	g.until = 0
	for _, t := range g.heap {
		g.release(t)
	}
	g.heap = g.heap[:0]
	g.lap++
}

// Next returns the next message. The stream is infinite and deterministic
// for a Config (in live mode, for a Config and the clock's readings).
func (g *Generator) Next() Message {
	g.stats.messages++
	u := g.rng.Float64()
	if u < g.cfg.DuplicateRate && g.recentN > 0 {
		return g.duplicate()
	}
	if u < g.cfg.DuplicateRate+g.cfg.MalformedRate {
		return g.malformed()
	}
	t := g.top()
	s := &t.steps[t.next]
	g.buf = g.render(g.buf[:0], t, s, nil)
	m := Message{
		Key:   []byte(t.person.key),
		Value: append([]byte(nil), g.buf...),
		Time:  t.time(s),
		Valid: true,
	}
	g.stats.count(t.channel, s.kind)
	g.recent[g.recentNext] = m
	g.recentNext = (g.recentNext + 1) % recentSize
	g.recentN = min(g.recentN+1, recentSize)
	g.advance(t)
	return m
}

func (g *Generator) duplicate() Message {
	m := g.recent[g.rng.IntN(g.recentN)]
	m.Key = append([]byte(nil), m.Key...)
	m.Value = append([]byte(nil), m.Value...)
	m.Duplicate = true
	g.stats.duplicates++
	return m
}

// top returns the thread whose step is next, planning and opening
// conversations as their time comes.
func (g *Generator) top() *thread {
	for {
		if g.live {
			now := g.now().UnixNano()
			if len(g.heap) == 0 || g.heap[0].at > now {
				g.open(now)
				continue
			}
		} else if len(g.heap) == 0 || g.arrivesBefore(g.heap[0]) {
			g.open(g.arrival)
			g.nextArrival()
			continue
		}
		t := g.heap[0]
		if g.until != 0 && !g.live && t.at > g.until {
			g.pop() // in progress at Until: the rest has not happened yet
			g.release(t)
			continue
		}
		if t.spawn {
			t.spawn = false
			g.plan(t, t.at)
			g.fix(0)
			continue
		}
		return t
	}
}

func (g *Generator) arrivesBefore(t *thread) bool {
	return g.lap < t.lap || g.lap == t.lap && g.arrival <= t.at
}

// nextArrival draws the next opening time by thinning a Poisson process
// whose rate follows arrivalWeight; past the window it starts a new lap.
func (g *Generator) nextArrival() {
	for {
		g.arrival += int64(g.rng.ExpFloat64() / g.rate * 1e9)
		if g.arrival >= g.end {
			g.lap++
			g.arrival = g.start
			g.pool, g.poolNext = g.pool[:0], 0
			continue
		}
		if g.rng.Float64()*arrivalMax < arrivalWeight(g.arrival) {
			return
		}
	}
}

// advance moves t past its current step and keeps the heap ordered.
func (g *Generator) advance(t *thread) {
	t.next++
	if t.next < len(t.steps) {
		t.at = t.steps[t.next].at
		g.fix(0)
		return
	}
	g.pop()
	g.release(t)
}

// Stats counts what has been generated so far.
func (g *Generator) Stats() Stats { return g.stats.snapshot() }
