package simulate

import (
	"math"
	"strconv"
)

// open starts a conversation at at, by a new person or, sometimes, by one of
// the recent customers.
func (g *Generator) open(at int64) {
	var p *person
	var ch channel
	if len(g.pool) > 0 && g.rng.Float64() < 0.12 {
		p = g.pool[g.rng.IntN(len(g.pool))]
		ch = g.pickChannel(p, numChannels)
	} else {
		ch = g.pickAnyChannel()
		p = g.newPerson(ch)
		g.remember(p)
	}
	t := g.newThread()
	t.person, t.channel, t.intent = p, ch, g.pickIntent()
	g.plan(t, at)
	g.push(t)
}

// dress draws how a producer writes a thread's events: the offset of its
// timestamps, the format of identifiers, which optional fields it fills.
func (g *Generator) dress(t *thread) {
	r := g.rng
	t.zone = g.pickZone()
	t.millis = r.Float64() < 0.6
	t.verbose = r.Float64() < 0.04
	t.showName = r.Float64() < 0.85
	t.crossIDs = t.person.linked
	u := r.Float64()
	switch t.channel {
	case chWhatsApp:
		t.phoneFmt = pick(u, 0.55, 0.65, 0.9) // E.164, pretty, JID, digits
	case chSMS:
		t.phoneFmt = [...]uint8{0, 3, 4}[pick(u, 0.7, 0.9)]
	case chVoice:
		t.phoneFmt = [...]uint8{0, 4, 1}[pick(u, 0.5, 0.75)]
	default:
		t.phoneFmt = pick(u, 0.8)
	}
	t.emailFmt = pick(r.Float64(), 0.7, 0.85, 0.95) // as is, capitalized, spaces, upper case
}

// pick returns the index of the first cumulative bound above u.
func pick(u float64, bounds ...float64) uint8 {
	for i, b := range bounds {
		if u < b {
			return uint8(i)
		}
	}
	return uint8(len(bounds))
}

// planner writes a thread's script, step by step, in time order.
type planner struct {
	g     *Generator
	t     *thread
	prof  *profile
	in    *intent
	at    int64
	flags uint8
	bad   bool // something the customer will not like happened
	// restate is the chance that the customer explains their problem
	// again to the agent after a handoff: high when the handoff carried
	// no summary or no fields, so the agent has to ask.
	restate float64
}

func (pl *planner) wait(seconds float64) {
	if pl.g.live {
		seconds = compress(seconds)
	}
	pl.at += int64(seconds * 1e9)
}

// compress shortens delays in live mode: seconds stay, a minute becomes
// about six seconds, a day about half an hour.
func compress(s float64) float64 {
	if s <= 5 {
		return s
	}
	return 5 + (s-5)/50
}

func (pl *planner) uniform(lo, hi float64) float64 { return lo + (hi-lo)*pl.g.rng.Float64() }

// logUniform draws seconds between lo and hi, evenly on a log scale.
func (pl *planner) logUniform(lo, hi float64) float64 {
	return lo * math.Exp(math.Log(hi/lo)*pl.g.rng.Float64())
}

func (pl *planner) add(s step) {
	s.at = pl.at
	s.flags |= pl.flags
	pl.t.steps = append(pl.t.steps, s)
}

func (pl *planner) say(a actorKind, text string) {
	s := step{kind: kMessage, actor: a, text: text}
	if a == actorAgent {
		s.agent = pl.t.agent
	}
	pl.add(s)
}

func (pl *planner) lang() uint8 { return pl.t.person.lang }

// staffed waits until humans work on the channel (not in live mode).
func (pl *planner) staffed() {
	if !pl.g.live {
		pl.at = nextStaffed(pl.at, pl.prof.staffed)
	}
}

// plan writes the script of conversation t opening at open.
func (g *Generator) plan(t *thread, open int64) {
	p := t.person
	g.convSerial++
	g.stats.conversations++
	pl := planner{g: g, t: t, prof: &profiles[t.channel], in: &intents[t.intent], at: open}
	t.convID = pl.prof.prefix + "-" + strconv.FormatUint(g.convSerial, 10)
	t.team = pl.in.team
	t.agent = uint16(int(t.team)*agentsPerTeam + g.rng.IntN(agentsPerTeam))
	t.ref = uint32(100000 + g.rng.IntN(900000))
	if t.sameRef != 0 { // a return about the same problem names the same number
		t.ref = t.sameRef
	}
	g.dress(t)
	t.steps = t.steps[:0]
	t.next = 0

	bot := g.rng.Float64() < pl.prof.botShare
	pl.add(step{kind: kOpened, actor: actorNone})
	pl.wait(pl.uniform(0.2, 2))
	opener := step{kind: kMessage, actor: actorCustomer, text: pl.in.opener.pick(g, pl.lang())}
	if bot && g.rng.Float64() < 0.8 {
		opener.flags = flagIntent
	}
	pl.add(opener)
	if !p.consented {
		p.consented = true
		pl.consent()
	}
	if t.channel == chWebchat && p.email != "" && g.rng.Float64() < 0.55 {
		pl.wait(pl.uniform(20, 180))
		pl.add(step{kind: kLink, actor: actorCustomer})
		pl.flags |= flagLoggedIn
	}
	resolved := true
	if bot {
		resolved = pl.botPhase()
	} else {
		pl.human()
	}
	if resolved {
		pl.afterResolution()
	}
	pl.scheduleReturn(resolved)
	t.at = t.steps[0].at
}

// botPhase lets the bot answer; it resolves, loses the customer, or hands off.
// It reports whether the conversation ends resolved.
func (pl *planner) botPhase() bool {
	g, t, in := pl.g, pl.t, pl.in
	pl.wait(pl.prof.bot.draw(g))
	pl.say(actorBot, in.botReply.pick(g, pl.lang()))
	for range g.rng.IntN(3) {
		pl.wait(pl.prof.customer.draw(g))
		if g.rng.Float64() < 0.5 {
			pl.say(actorCustomer, custAnswer.pick(g, pl.lang()))
		} else {
			pl.say(actorCustomer, custFollowUp.pick(g, pl.lang()))
		}
		pl.wait(pl.prof.bot.draw(g))
		pl.say(actorBot, botAsk.pick(g, pl.lang()))
	}
	contain := in.contain
	if t.channel == chVoice || t.channel == chEmail {
		contain /= 2
	}
	switch u := g.rng.Float64(); {
	case u < contain:
		pl.wait(pl.prof.bot.draw(g))
		pl.say(actorBot, in.botSolve.pick(g, pl.lang()))
		if g.rng.Float64() < 0.5 {
			pl.wait(pl.prof.customer.draw(g))
			pl.say(actorCustomer, custThanks.pick(g, pl.lang()))
		}
		pl.wait(pl.uniform(2, 30))
		pl.add(step{kind: kResolved, actor: actorBot})
		return true
	case u < contain+0.08: // the customer goes quiet
		if g.rng.Float64() < 0.5 {
			return false
		}
		pl.wait(pl.uniform(12*hr, 24*hr))
		pl.say(actorBot, autoClose.pick(g, pl.lang()))
		pl.add(step{kind: kResolved, actor: actorSystem})
		pl.bad = true
		return true
	}
	h := &t.ho
	switch {
	case g.rng.Float64() < 0.3:
		pl.wait(pl.prof.customer.draw(g))
		pl.say(actorCustomer, custFollowUp[pl.lang()][3])
		h.reason = 0
	case in.name == "complaint":
		h.reason = 3
	case in.name == "cancel":
		h.reason = 4
	default:
		h.reason = 1 + uint8(g.rng.IntN(2))
	}
	pl.wait(pl.prof.bot.draw(g))
	pl.say(actorBot, botHandoff.pick(g, pl.lang()))
	if g.rng.Float64() < 0.65 {
		h.summary, h.fields = 1, 1
	} else {
		h.summary, h.fields = [4]uint8{0, 1, 0, 2}[g.rng.IntN(4)], [4]uint8{0, 2, 1, 0}[g.rng.IntN(4)]
		if h.summary == 1 && h.fields == 1 {
			h.fields = 2
		}
		pl.bad = true
	}
	h.owner = pick(g.rng.Float64(), 0.25, 0.75)
	h.next = g.rng.Float64() < 0.7
	h.sla = g.rng.Float64() < 0.8
	pl.wait(pl.uniform(0.3, 2))
	pl.add(step{kind: kHandoff, actor: actorBot})
	pl.restate = 0.2
	if h.summary != 1 || h.fields != 1 {
		pl.restate = 0.75
	}
	pl.human()
	return true
}

// human is an agent's part: the queue, assignment, replies and resolution.
func (pl *planner) human() {
	g, t, prof := pl.g, pl.t, pl.prof
	pl.staffed()
	base := pl.at
	q := prof.agentFirst.draw(g)
	if q > 2*float64(prof.sla) {
		pl.bad = true
	}
	qs := pl.scaled(q) * 1e9
	pl.at = base + int64(qs*pl.uniform(0.05, 0.4))
	pl.add(step{kind: kAssigned, actor: actorAgent, agent: t.agent})
	if q > 5*mins && t.channel != chEmail && g.rng.Float64() < 0.4 {
		pl.at = base + int64(qs*0.6)
		pl.say(actorCustomer, custNudge.pick(g, pl.lang()))
	}
	pl.at = base + int64(qs)
	pl.say(actorAgent, pl.in.agentFirst.pick(g, pl.lang()))
	if pl.restate > 0 && g.rng.Float64() < pl.restate {
		// The customer explains it all again; having to is what they
		// will not like.
		pl.wait(prof.customer.draw(g))
		pl.say(actorCustomer, custRestate.pick(g, pl.lang())+pl.in.opener.pick(g, pl.lang()))
		pl.bad = true
	}
	note := g.rng.Float64() < 0.15
	for range g.rng.IntN(3) {
		pl.wait(prof.customer.draw(g))
		pl.say(actorCustomer, custFollowUp.pick(g, pl.lang()))
		if note {
			pl.wait(pl.uniform(3, 40))
			pl.add(step{kind: kMessage, actor: actorAgent, agent: t.agent, flags: flagPrivate, text: agentNote.pick(g, pl.lang())})
			note = false
		}
		pl.wait(prof.agentNext.draw(g))
		pl.staffed()
		pl.say(actorAgent, agentNext.pick(g, pl.lang()))
	}
	pl.wait(prof.agentNext.draw(g))
	pl.staffed()
	pl.say(actorAgent, pl.in.agentSolve.pick(g, pl.lang()))
	if g.rng.Float64() < 0.5 {
		pl.wait(prof.customer.draw(g))
		pl.say(actorCustomer, custThanks.pick(g, pl.lang()))
		if g.rng.Float64() < 0.5 {
			pl.wait(pl.uniform(5, 40))
			pl.say(actorAgent, agentBye.pick(g, pl.lang()))
		}
	}
	pl.wait(pl.uniform(5, 120))
	pl.add(step{kind: kResolved, actor: actorAgent, agent: t.agent})
}
