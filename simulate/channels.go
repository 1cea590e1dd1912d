package simulate

import (
	"math"
	"time"
)

// channel is one of the canonical channels.
type channel uint8

const (
	chWhatsApp channel = iota
	chInstagram
	chTelegram
	chMessenger
	chWebchat
	chEmail
	chSMS
	chVoice
	chApp
	numChannels
)

// lognormal is a delay in seconds: median times e^(sigma·N(0,1)), clamped.
type lognormal struct{ median, sigma, min, max float64 }

func (d lognormal) draw(g *Generator) float64 {
	v := d.median * math.Exp(d.sigma*g.rng.NormFloat64())
	return min(max(v, d.min), d.max)
}

// hours are when humans staff a channel, in São Paulo local time.
type hours struct {
	open, close int  // hour of day, close exclusive
	saturday    bool // also staffed on Saturdays (same hours)
}

// profile is how a channel behaves: its share of traffic and its pace.
type profile struct {
	name       string
	prefix     string // of conversation ids
	weight     float64
	botShare   float64 // conversations that start with a bot
	botID      string
	bot        lognormal // bot reply delay
	customer   lognormal // customer reply delay
	agentFirst lognormal // queue: from waiting for a human to the first agent reply
	agentNext  lognormal // between an agent's later replies
	sla        int64     // expected first response, seconds
	staffed    hours
}

const (
	sec  = 1.0
	mins = 60 * sec
	hr   = 60 * mins
	day  = 24 * hr
)

var (
	chatHours  = hours{open: 8, close: 22, saturday: true}
	emailHours = hours{open: 8, close: 18}
	voiceHours = hours{open: 8, close: 20, saturday: true}
)

// profiles: seconds on the messaging apps and webchat, minutes on SMS, hours on email.
var profiles = [numChannels]profile{
	chWhatsApp:  {"whatsapp", "wa", 0.38, 0.9, "lia-bot", lognormal{2, 0.4, 0.5, 15}, lognormal{25, 1, 2, 30 * mins}, lognormal{2 * mins, 1, 10, 45 * mins}, lognormal{45, 0.8, 5, 15 * mins}, 300, chatHours},
	chInstagram: {"instagram", "ig", 0.09, 0.85, "lia-bot", lognormal{3, 0.4, 0.5, 20}, lognormal{40, 1, 3, 45 * mins}, lognormal{5 * mins, 1, 20, 2 * hr}, lognormal{60, 0.8, 5, 20 * mins}, 600, chatHours},
	chTelegram:  {"telegram", "tg", 0.04, 0.9, "lia-bot", lognormal{2, 0.4, 0.5, 15}, lognormal{30, 1, 2, 30 * mins}, lognormal{4 * mins, 1, 15, 90 * mins}, lognormal{50, 0.8, 5, 15 * mins}, 600, chatHours},
	chMessenger: {"messenger", "fb", 0.05, 0.85, "lia-bot", lognormal{3, 0.4, 0.5, 20}, lognormal{40, 1, 3, 45 * mins}, lognormal{5 * mins, 1, 20, 2 * hr}, lognormal{60, 0.8, 5, 20 * mins}, 600, chatHours},
	chWebchat:   {"webchat", "web", 0.14, 0.95, "lia-bot", lognormal{1.5, 0.3, 0.3, 8}, lognormal{20, 1, 2, 20 * mins}, lognormal{90, 1, 10, 30 * mins}, lognormal{35, 0.8, 5, 10 * mins}, 180, chatHours},
	chEmail:     {"email", "em", 0.13, 0.25, "triage-bot", lognormal{2 * mins, 0.5, 20, 10 * mins}, lognormal{4 * hr, 1, 10 * mins, 3 * day}, lognormal{3 * hr, 0.9, 10 * mins, 2 * day}, lognormal{2 * hr, 0.9, 5 * mins, day}, 4 * 3600, emailHours},
	chSMS:       {"sms", "sms", 0.05, 0.7, "sms-bot", lognormal{90, 0.6, 20, 10 * mins}, lognormal{4 * mins, 1, 30, 2 * hr}, lognormal{8 * mins, 1, mins, 3 * hr}, lognormal{5 * mins, 0.8, 30, hr}, 1800, chatHours},
	chVoice:     {"voice", "vc", 0.08, 0.15, "ivr-bot", lognormal{5, 0.3, 2, 20}, lognormal{12, 0.6, 3, 2 * mins}, lognormal{90, 1, 10, 20 * mins}, lognormal{20, 0.6, 4, 3 * mins}, 120, voiceHours},
	chApp:       {"app", "app", 0.04, 0.9, "lia-bot", lognormal{1.5, 0.3, 0.3, 8}, lognormal{30, 1, 2, 30 * mins}, lognormal{2 * mins, 1, 10, 45 * mins}, lognormal{40, 0.8, 5, 15 * mins}, 300, chatHours},
}

var channelTotal = func() (s float64) {
	for _, p := range profiles {
		s += p.weight
	}
	return s
}()

func (g *Generator) pickAnyChannel() channel {
	u := g.rng.Float64() * channelTotal
	for c := range numChannels {
		if u < profiles[c].weight {
			return c
		}
		u -= profiles[c].weight
	}
	return chWhatsApp
}

// saoPaulo is America/Sao_Paulo, which has kept UTC-3 all year since 2019;
// a fixed zone avoids depending on the tzdata of the machine.
var saoPaulo = time.FixedZone("-03", -3*3600)

// Offsets that producers put in occurred_at: mostly São Paulo, some UTC,
// a few from a server in Europe.
var zones = []*time.Location{saoPaulo, time.UTC, time.FixedZone("+01", 3600)}

func (g *Generator) pickZone() uint8 {
	switch u := g.rng.Float64(); {
	case u < 0.78:
		return 0
	case u < 0.95:
		return 1
	}
	return 2
}

const spOffset = -3 * 3600 * int64(time.Second)

// nextStaffed returns the first instant at or after at (unix nanoseconds) when
// humans staff a channel with hours h.
func nextStaffed(at int64, h hours) int64 {
	const nsDay = 24 * int64(time.Hour)
	local := at + spOffset
	for range 8 {
		dayStart := local - mod(local, nsDay)
		wd := weekday(dayStart)
		open := dayStart + int64(h.open)*int64(time.Hour)
		close := dayStart + int64(h.close)*int64(time.Hour)
		if wd != time.Sunday && (wd != time.Saturday || h.saturday) && local < close {
			return max(local, open) - spOffset
		}
		local = dayStart + nsDay
	}
	return at
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// weekday of a local day start in unix nanoseconds (1970-01-01 was a Thursday).
func weekday(localDayStart int64) time.Weekday {
	days := localDayStart / (24 * int64(time.Hour))
	return time.Weekday(mod(days+4, 7))
}

// Hourly shape of new conversations in São Paulo time (relative weights).
var hourShape = [24]float64{0.15, 0.1, 0.08, 0.06, 0.06, 0.1, 0.25, 0.5, 0.9, 1.4, 1.6, 1.5, 1.2, 1.3, 1.5, 1.5, 1.4, 1.3, 1.1, 0.95, 0.85, 0.7, 0.5, 0.3}

// arrivalWeight is the relative rate of new conversations at at, with a mean
// of 1 over a week.
func arrivalWeight(at int64) float64 {
	local := at + spOffset
	const nsDay = 24 * int64(time.Hour)
	dayStart := local - mod(local, nsDay)
	w := hourShape[mod(local, nsDay)/int64(time.Hour)]
	switch weekday(dayStart) {
	case time.Saturday:
		w *= 0.6
	case time.Sunday:
		w *= 0.45
	}
	return w / arrivalMean
}

var arrivalMean = func() float64 {
	var s float64
	for _, w := range hourShape {
		s += w
	}
	return s / 24 * (5 + 0.6 + 0.45) / 7
}()

var arrivalMax = func() float64 {
	var m float64
	for _, w := range hourShape {
		m = max(m, w)
	}
	return m / arrivalMean
}()
