package simulate

import "time"

// What surrounds a conversation's main exchange: the person's consent answers
// and later withdrawals, reopens, surveys, and people coming back later, often
// on another channel.

// consent records the person's first answers to the privacy prompt.
func (pl *planner) consent() {
	g := pl.g
	pl.wait(pl.uniform(1, 6))
	src := consentSources[pl.t.channel]
	analytics := g.rng.Float64() < 0.9
	if analytics {
		pl.add(step{kind: kConsent, sub: 0, granted: true, text: src})
	}
	if g.rng.Float64() < 0.6 {
		pl.wait(pl.uniform(0.5, 3))
		pl.add(step{kind: kConsent, sub: 1, granted: g.rng.Float64() < 0.75, text: src})
	}
	if g.rng.Float64() < 0.05 {
		pl.add(step{kind: kConsent, sub: 2, granted: false, text: src})
	}
	if analytics && g.rng.Float64() < 0.025 {
		pl.job(pl.at+int64(pl.scaled(pl.logUniform(2*hr, 20*day))*1e9), pl.t.channel,
			step{kind: kConsent, sub: 0, granted: false, text: "privacy_center"})
	}
}

var consentSources = [numChannels]string{"whatsapp_optin", "instagram_dm", "telegram_bot", "messenger_optin", "webchat_banner", "email_footer", "sms_keyword", "ivr_prompt", "app_settings"}

// afterResolution adds reopens and surveys to a resolved conversation.
func (pl *planner) afterResolution() {
	g, t := pl.g, pl.t
	if g.rng.Float64() < 0.09 {
		pl.bad = true
		pl.wait(pl.logUniform(20*mins, 36*hr))
		if g.rng.Float64() < 0.5 {
			pl.add(step{kind: kReopened, actor: actorCustomer})
			pl.wait(pl.uniform(1, 30))
		}
		pl.say(actorCustomer, custReopen.pick(g, pl.lang()))
		t.agent = uint16(int(t.team)*agentsPerTeam + g.rng.IntN(agentsPerTeam))
		pl.human()
	}
	delay := lognormal{5 * mins, 1, 30, 2 * hr}
	if t.channel == chEmail {
		delay = lognormal{3 * hr, 1, 10 * mins, 2 * day}
	}
	if g.rng.Float64() < 0.3 {
		pl.wait(delay.draw(g))
		pl.add(g.survey(subCSAT, pl.bad, pl.lang()))
	}
	if g.rng.Float64() < 0.1 {
		pl.wait(delay.draw(g))
		pl.add(g.survey(subNPS, pl.bad, pl.lang()))
	}
}

// survey draws an answer; bad experiences score lower.
func (g *Generator) survey(kind uint8, bad bool, lang uint8) step {
	s := step{kind: kSurvey, actor: actorCustomer, sub: kind}
	u := g.rng.Float64()
	var good, poor bool
	if kind == subCSAT {
		w := [5]float64{0.04, 0.08, 0.18, 0.48, 1}
		if bad {
			w = [5]float64{0.25, 0.45, 0.7, 0.88, 1}
		}
		s.score = int8(1 + pick(u, w[:4]...))
		good, poor = s.score >= 4, s.score <= 2
	} else {
		lo, mid := 0.15, 0.4
		if bad {
			lo, mid = 0.55, 0.85
		}
		switch {
		case u < lo:
			s.score = int8(g.rng.IntN(7))
		case u < mid:
			s.score = int8(7 + g.rng.IntN(2))
		default:
			s.score = int8(9 + g.rng.IntN(2))
		}
		good, poor = s.score >= 9, s.score <= 6
	}
	if g.rng.Float64() < 0.55 {
		switch {
		case good:
			s.text = commentGood.pick(g, lang)
		case poor:
			s.text = commentBad.pick(g, lang)
		default:
			s.text = commentNeutral.pick(g, lang)
		}
	}
	return s
}

// scaled converts a delay for live mode.
func (pl *planner) scaled(seconds float64) float64 {
	if pl.g.live {
		return compress(seconds)
	}
	return seconds
}

// scheduleReturn makes some people come back later, often on another channel,
// and sends a few relationship surveys outside any conversation.
func (pl *planner) scheduleReturn(resolved bool) {
	g, t, p := pl.g, pl.t, pl.t.person
	if resolved && g.rng.Float64() < 0.01 {
		ch := chWhatsApp
		if p.email != "" {
			ch = chEmail
		} else if p.phone == "" {
			ch = t.channel
		}
		pl.job(pl.at+int64(pl.scaled(pl.logUniform(12*hr, 10*day))*1e9), ch, g.survey(subNPS, pl.bad, p.lang))
	}
	prob := 0.18
	switch {
	case !resolved:
		prob = 0.45
	case pl.bad:
		prob = 0.32
	}
	if g.rng.Float64() >= prob {
		return
	}
	var d float64
	if g.rng.Float64() < 0.55 {
		d = pl.logUniform(hr, 6.5*day)
	} else {
		d = pl.logUniform(7.5*day, 28*day)
	}
	ch := t.channel
	if g.rng.Float64() < 0.65 {
		ch = g.pickChannel(p, t.channel)
	}
	in := t.intent
	if g.rng.Float64() < 0.35 {
		in = g.pickIntent()
	}
	at := pl.at + int64(pl.scaled(d)*1e9)
	if !g.live {
		at = daytime(g, at)
		if at >= g.end {
			return
		}
	}
	r := g.newThread()
	r.lap, r.person, r.channel, r.intent, r.spawn, r.at = t.lap, p, ch, in, true, at
	if in == t.intent {
		// The same problem: the customer restates it, with its number,
		// in their first message on whatever channel they come back on
		// (what repeated_after_switch measures).
		r.sameRef = t.ref
	}
	g.push(r)
}

// job schedules a standalone event (no conversation) for the thread's person.
func (pl *planner) job(at int64, ch channel, s step) {
	g := pl.g
	if !g.live && at >= g.end {
		return
	}
	j := g.newThread()
	j.lap, j.person, j.channel, j.at = pl.t.lap, pl.t.person, ch, at
	g.dress(j)
	s.at = at
	j.steps = append(j.steps, s)
	g.push(j)
}

// daytime moves most instants that fall in the São Paulo night (0h to 7h) to
// the following morning: people come back when they are awake.
func daytime(g *Generator, at int64) int64 {
	const h = int64(time.Hour)
	hour := mod(at+spOffset, 24*h) / h
	if hour >= 7 || g.rng.Float64() < 0.2 {
		return at
	}
	return at + (7-hour)*h + int64(g.rng.Float64()*float64(4*h))
}
