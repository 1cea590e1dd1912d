package governance

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cxlake/cxlake/privacy"
)

// The access export for the person it is about: one self-contained HTML
// page (no script, style sheet, font or image from anywhere; a Content
// Security Policy that forbids them too) rendered from the same Export as
// the JSON. It says, in plain words, what is held (who, which channels,
// since when, why, until when), shows the conversations as threads, with
// the agents' internal notes marked as such, and explains each category in
// a glossary. Internal fields (keyed hashes, Kafka coordinates, batch ids,
// the raw payloads the texts came from) are left out. Every value on the
// page is escaped by html/template: message texts come from whoever wrote
// to the company, and are shown, never interpreted.

//go:embed export.html.tmpl
var exportHTMLSource string

var exportHTML = template.Must(template.New("export").Parse(exportHTMLSource))

// exportView is what the page shows.
type exportView struct {
	RequestID, Generated, Due, Law string
	Identifiers                    []viewIdentifier
	Channels                       []string
	Since, Latest                  string
	Purposes                       []string
	Kept                           []viewKept
	Threads                        []viewThread
	Other                          []viewEntry // events outside a conversation (consent, links)
	Consent                        []viewConsent
	Rejected                       []viewRejected
	Requests                       []viewRequest
	InternalNotes                  int
	Withheld                       int // texts no longer readable (keys destroyed)
	Suppressed                     bool
}

type viewIdentifier struct{ Kind, Value, Since string }

type viewKept struct{ What, Policy, Until string }

type viewThread struct {
	Channel, Started, Status string
	Entries                  []viewEntry
}

type viewEntry struct {
	At, Who, What, Text string
	Note                bool // an agent's internal note
	Withheld            bool // the text is no longer readable
	Inbound             bool // written by the person
}

type viewConsent struct{ Purpose, State, Since string }

type viewRejected struct{ At, Reason, Text string }

type viewRequest struct{ ID, Kind, Status, Received string }

// InternalNotes counts the agents' internal notes (private messages) among
// the exported events: personal data about the person, included and marked
// in the HTML page. The officer is told how many there are.
func (x *Export) InternalNotes() int {
	n := 0
	for _, e := range x.Events {
		if p, _ := e["message_private"].(bool); p {
			n++
		}
	}
	return n
}

// WriteHTML writes the export as one self-contained HTML page for the
// person it is about.
func (x *Export) WriteHTML(w io.Writer) error {
	if err := exportHTML.Execute(w, x.view()); err != nil {
		return fmt.Errorf("writing the access export page: %w", err)
	}
	return nil
}

const pageTime = "2 January 2006, 15:04 UTC"

func pageDate(t time.Time) string { return t.UTC().Format("2 January 2006") }

func (x *Export) view() exportView {
	v := exportView{RequestID: x.RequestID, Generated: x.GeneratedAt.UTC().Format(pageTime), Due: pageDate(x.DueAt),
		Law: strings.ToUpper(x.Law), Purposes: x.Processing.Purposes, Suppressed: x.Suppressed, InternalNotes: x.InternalNotes()}
	for _, id := range x.Identifiers {
		vi := viewIdentifier{Kind: identifierLabel(id.Kind), Value: "withheld: no longer readable (see the glossary)"}
		if id.Value != nil {
			vi.Value = *id.Value
		}
		if id.FirstSeenAt != nil {
			vi.Since = pageDate(*id.FirstSeenAt)
		}
		v.Identifiers = append(v.Identifiers, vi)
	}
	var first, last time.Time
	channels := map[string]bool{}
	threads := map[string]*viewThread{}
	var order []string
	for _, e := range x.Events {
		at, _ := e["occurred_at"].(time.Time)
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
		ch, _ := e["channel"].(string)
		if ch != "" {
			channels[ch] = true
		}
		entry := eventEntry(e)
		if entry.Withheld {
			v.Withheld++
		}
		conv, _ := e["conversation_id"].(string)
		if conv == "" {
			v.Other = append(v.Other, entry)
			continue
		}
		th, ok := threads[conv]
		if !ok {
			th = &viewThread{Channel: channelLabel(ch), Started: at.UTC().Format(pageTime), Status: "open"}
			threads[conv] = th
			order = append(order, conv)
		}
		switch e["type"] {
		case "resolved":
			th.Status = "resolved"
		case "reopened":
			th.Status = "open"
		}
		th.Entries = append(th.Entries, entry)
	}
	for _, c := range order {
		v.Threads = append(v.Threads, *threads[c])
	}
	for ch := range channels {
		v.Channels = append(v.Channels, channelLabel(ch))
	}
	slices.Sort(v.Channels)
	if !first.IsZero() {
		v.Since, v.Latest = pageDate(first), pageDate(last)
	}
	v.Kept = kept(x.Processing.Retention, last)
	for _, c := range x.Consent {
		vc := viewConsent{Purpose: str(c["purpose"]), State: "given"}
		if g, ok := c["granted"].(bool); ok && !g {
			vc.State = "withdrawn"
		}
		if t, ok := c["decided_at"].(time.Time); ok {
			vc.Since = pageDate(t)
		}
		v.Consent = append(v.Consent, vc)
	}
	for _, d := range x.DeadLetters {
		v.Rejected = append(v.Rejected, viewRejected{At: d.ReceivedAt.UTC().Format(pageTime), Reason: d.Reason, Text: d.Raw})
	}
	for _, r := range x.PrivacyRequests {
		vr := viewRequest{ID: str(r["request_id"]), Kind: str(r["kind"]), Status: strings.ReplaceAll(str(r["status"]), "_", " ")}
		if t, ok := r["received_at"].(time.Time); ok {
			vr.Received = pageDate(t)
		}
		v.Requests = append(v.Requests, vr)
	}
	return v
}

// eventEntry is one event as a line of a thread.
func eventEntry(e map[string]any) viewEntry {
	at, _ := e["occurred_at"].(time.Time)
	en := viewEntry{At: at.UTC().Format(pageTime), Who: actorLabel(str(e["actor_kind"]))}
	c, _ := e["content"].(privacy.Content)
	typ := str(e["type"])
	if r, _ := e["content_redacted"].(bool); r && (typ == "message" || typ == "survey" || typ == "handoff") {
		en.Withheld = true
	}
	switch typ {
	case "message":
		en.Text = c.MessageText
		if p, _ := e["message_private"].(bool); p {
			en.Note = true
			en.What = "internal note (written by our staff for each other; it was not sent to you)"
		} else if str(e["message_direction"]) == "inbound" {
			en.Who, en.Inbound, en.What = "You", true, "message"
		} else {
			en.What = "message to you"
		}
	case "conversation_opened":
		en.What = "the conversation started"
	case "handoff":
		en.What = "passed from our automated assistant to a person"
		if t := str(e["handoff_to_team"]); t != "" {
			en.What += " (team " + t + ")"
		}
		en.Text = c.HandoffSummary
		if c.HandoffNextAction != "" {
			en.Text = strings.TrimSpace(en.Text + "\nNext step: " + c.HandoffNextAction)
		}
	case "assigned":
		en.What = "assigned to an agent"
	case "resolved":
		en.What = "marked as resolved"
	case "reopened":
		en.What = "reopened"
	case "survey":
		en.Who, en.Inbound = "You", true
		en.What = "you answered a satisfaction survey"
		if s, ok := e["survey_score"].(int32); ok {
			scale := "5"
			if str(e["survey_kind"]) == "nps" {
				scale = "10"
			}
			en.What += fmt.Sprintf(": %d out of %s", s, scale)
		}
		en.Text = c.SurveyComment
	case "consent":
		en.What = "consent for " + str(e["consent_purpose"])
		if g, ok := e["consent_granted"].(bool); ok && !g {
			en.What += " withdrawn"
		} else {
			en.What += " given"
		}
	case "identity_link":
		en.What = "two of your identifiers were recognised as the same person"
	default:
		en.What = str(e["type"])
	}
	return en
}

// kept says, per class of data, how long it is kept and until when the
// latest held is: a class's data of a day leaves once the whole day is
// older than its policy.
func kept(retention map[string]string, latest time.Time) []viewKept {
	labels := []struct{ key, what string }{
		{"message_text", "the texts: your messages, names, notes, survey comments"},
		{"raw_events", "the record of each interaction (when, which channel, who answered), without texts"},
		{"dead_letters", "messages we could not process"},
		{"audit", "the record of this request and other actions on your data"},
	}
	var out []viewKept
	for _, l := range labels {
		p, ok := retention[l.key]
		if !ok {
			continue
		}
		k := viewKept{What: l.what}
		d, err := strconv.Atoi(strings.TrimSuffix(p, "d"))
		switch {
		case p == "forever":
			k.Policy, k.Until = "no time limit", "until you ask us to erase it"
		case err != nil:
			k.Policy = p
		default:
			k.Policy = fmt.Sprintf("%d days", d)
			if !latest.IsZero() && l.key != "audit" && l.key != "dead_letters" {
				day := latest.UTC().Truncate(24 * time.Hour)
				k.Until = "the latest we hold, until " + pageDate(day.AddDate(0, 0, d+1))
			}
		}
		out = append(out, k)
	}
	return out
}

func identifierLabel(kind string) string {
	switch kind {
	case "phone":
		return "Phone number"
	case "email":
		return "E-mail address"
	}
	return "Your id on " + channelLabel(strings.TrimPrefix(kind, "id:"))
}

func channelLabel(ch string) string {
	switch ch {
	case "whatsapp":
		return "WhatsApp"
	case "email":
		return "E-mail"
	case "webchat":
		return "Web chat"
	case "instagram":
		return "Instagram"
	case "":
		return "unknown"
	}
	return ch
}

func actorLabel(kind string) string {
	switch kind {
	case "customer":
		return "You"
	case "agent":
		return "Agent"
	case "bot":
		return "Automated assistant"
	}
	return "Our system"
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
