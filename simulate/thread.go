package simulate

import "time"

// kind is an event type.
type kind uint8

const (
	kMessage kind = iota
	kOpened
	kHandoff
	kAssigned
	kResolved
	kReopened
	kSurvey
	kConsent
	kLink
	numKinds
)

var kindNames = [numKinds]string{"message", "conversation_opened", "handoff", "assigned", "resolved", "reopened", "survey", "consent", "identity_link"}

// actorKind is who acts in a step.
type actorKind uint8

const (
	actorNone actorKind = iota
	actorCustomer
	actorBot
	actorAgent
	actorSystem
)

var actorNames = [...]string{"", "customer", "bot", "agent", "system"}

// step flags.
const (
	flagPrivate  uint8 = 1 << iota // an agent's private note
	flagLoggedIn                   // the webchat visitor has logged in: contact carries the email
	flagIntent                     // the message carries the conversation's intent
)

// Survey kinds and consent purposes in step.sub.
const (
	subCSAT uint8 = iota
	subNPS
)

var purposes = []string{"analytics", "marketing", "ai_training"}

// step is one planned event of a thread.
type step struct {
	at      int64 // unix nanoseconds
	text    string
	agent   uint16 // index in agentIDs
	kind    kind
	actor   actorKind
	flags   uint8
	sub     uint8 // survey kind or consent purpose
	score   int8
	granted bool
}

// handoffPlan is the shape of a conversation's handoff object.
type handoffPlan struct {
	reason  uint8
	summary uint8 // 0 absent, 1 present, 2 empty string
	fields  uint8 // 0 absent, 1 present, 2 empty object
	owner   uint8 // 0 absent, 1 the team queue, 2 the agent
	next    bool
	sla     bool
}

// thread is a conversation (or a standalone event) with its planned steps.
// A spawn thread is a return visit whose conversation is planned when due.
type thread struct {
	at     int64 // time of the next step, or of the spawn
	seq    uint64
	lap    uint32
	next   int
	steps  []step
	person *person
	convID string

	channel  channel
	intent   uint8
	team     uint8
	agent    uint16
	ref      uint32 // order, invoice or ticket number in texts
	sameRef  uint32 // a return about the same problem: the earlier ref
	zone     uint8
	phoneFmt uint8
	emailFmt uint8
	millis   bool
	verbose  bool // writes absent objects as null and empty actor fields
	showName bool
	crossIDs bool // contact carries the person's other identifiers
	spawn    bool
	ho       handoffPlan
}

// time is occurred_at of step s, at the precision the thread writes.
func (t *thread) time(s *step) time.Time {
	if t.millis {
		return time.Unix(0, s.at-s.at%1e6)
	}
	return time.Unix(0, s.at-s.at%1e9)
}

// newThread returns a cleared thread from the free list, or a new one.
func (g *Generator) newThread() *thread {
	var t *thread
	if n := len(g.free); n > 0 {
		t = g.free[n-1]
		g.free = g.free[:n-1]
		steps := t.steps[:0]
		*t = thread{steps: steps}
	} else {
		t = &thread{steps: make([]step, 0, 24)}
	}
	g.seq++
	t.seq = g.seq
	t.lap = g.lap
	return t
}

func (g *Generator) release(t *thread) {
	t.person = nil
	if len(g.free) < 1024 && cap(t.steps) <= 128 {
		g.free = append(g.free, t)
	}
}

// The heap orders threads by (lap, at, seq).

func less(a, b *thread) bool {
	if a.lap != b.lap {
		return a.lap < b.lap
	}
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (g *Generator) push(t *thread) {
	g.heap = append(g.heap, t)
	h := g.heap
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (g *Generator) pop() {
	h := g.heap
	n := len(h) - 1
	h[0] = h[n]
	h[n] = nil
	g.heap = h[:n]
	if n > 0 {
		g.fix(0)
	}
}

// fix moves h[i] down to its place after its key grew.
func (g *Generator) fix(i int) {
	h := g.heap
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && less(h[r], h[l]) {
			c = r
		}
		if !less(h[c], h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}
