package event

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// This file decodes the objects of an event: contact, actor, message,
// handoff, survey, consent and link. Each function checks its members in a
// fixed order, so that a message with several problems always reports the
// same one.

func (d *decoder) contact(top *topLevel) error {
	c, ok, err := top.contact.object("", "contact")
	if err != nil {
		return err
	}
	if !ok {
		return reject(CodeMissing, "contact", `missing required field "contact"; give at least one of contact.phone, contact.email or contact.ids`)
	}
	id, err := d.identity("contact", c)
	if err != nil {
		return err
	}
	if id.Empty() {
		return reject(CodeMissing, "contact", "contact has no identifier; give at least one of contact.phone, contact.email or contact.ids")
	}
	d.ev.Contact = id
	d.ev.ContactName, err = d.str(c.get("name"), "contact", "name")
	return err
}

// identity decodes the phone, email and ids members of o, the object at path
// (contact or link), each normalized by its kind's rule (normalize.go).
func (d *decoder) identity(path string, o object) (Identity, error) {
	var id Identity
	phone := o.get("phone")
	p, ok := phone.text()
	if !ok {
		return id, wrongType(path, "phone", "a string", phone)
	}
	if len(p) > 0 {
		var buf [17]byte
		e164, ok := appendPhone(buf[:0], string(p))
		if !ok {
			return id, reject(CodeInvalidValue, path+".phone", "%s.phone is not a phone number with a country code (%d characters); send E.164 such as +12025550123 or a WhatsApp JID", path, utf8.RuneCount(p))
		}
		id.Phone = d.copy(e164)
	}
	emailV := o.get("email")
	if _, err := emailV.idText(path + ".email"); err != nil {
		return id, err
	}
	email, err := d.str(emailV, path, "email")
	if err != nil {
		return id, err
	}
	if email != "" {
		if id.Email, ok = NormalizeEmail(email); !ok {
			return id, reject(CodeInvalidValue, path+".email", "%s.email is not an email address (it needs one @ with text on both sides)", path)
		}
	}
	var buf [8]member
	ids, ok, err := o.get("ids").object(path, "ids", buf[:0])
	if err != nil || !ok {
		return id, err
	}
	if len(ids) > MaxIDs {
		return id, reject(CodeInvalidValue, path+".ids", "%s.ids has %d entries, over the limit of %d (one id per channel)", path, len(ids), MaxIDs)
	}
	// Sorted, so that keys differing only in case ("Instagram", "instagram")
	// resolve the same way every time: the last in byte order, the lower-case
	// one, wins.
	ids = lastOfEachKey(ids)
	for _, m := range ids {
		key := lower(m.key)
		if !KnownIDKey(key) {
			// The key is not quoted: a producer could use personal data as a key.
			return id, reject(CodeInvalidValue, path+".ids", "%s.ids has a key that is not a known channel or source id (%d characters); expected one of %s",
				path, utf8.RuneCount(m.key), strings.Join(idKeys, ", "))
		}
		field := path + ".ids." + key
		v, ok := m.val.text()
		if !ok {
			return id, wrongType(path+".ids", key, "a string", m.val)
		}
		if _, err := m.val.idText(field); err != nil {
			return id, err
		}
		norm, phone, email, ok := NormalizeID(key, string(v))
		switch {
		case !ok:
			continue
		case phone != "":
			// A phone sent as a channel id is that phone.
			if id.Phone != "" && id.Phone != phone {
				return id, reject(CodeInvalidValue, field, "%s is a phone number other than %s.phone; a %s id is a phone number, send one phone per identity", field, path, key)
			}
			id.Phone = d.copy([]byte(phone))
			continue
		case email != "":
			if id.Email != "" && id.Email != email {
				return id, reject(CodeInvalidValue, field, "%s is an e-mail address other than %s.email; send one e-mail per identity", field, path)
			}
			id.Email = d.copy([]byte(email))
			continue
		}
		if id.IDs == nil {
			id.IDs = make(map[string]string, len(ids))
		}
		if norm == string(v) {
			id.IDs[key] = d.copy(v)
		} else {
			id.IDs[key] = d.copy([]byte(norm))
		}
	}
	return id, nil
}

func (d *decoder) actor(top *topLevel) error {
	ev := &d.ev
	a, ok, err := top.actor.object("", "actor")
	if err != nil {
		return err
	}
	if !ok {
		if ev.Type == TypeMessage {
			return reject(CodeMissing, "actor", `missing required field "actor" for a message event; set actor.kind to customer, bot, agent or system`)
		}
		return nil
	}
	if ev.Actor.Kind, err = a.get("kind").enum("actor", "kind", actorKinds); err != nil {
		return err
	}
	if ev.Actor.ID, err = d.idStr(a.get("id"), "actor", "id"); err != nil {
		return err
	}
	if ev.Actor.Team, err = d.str(a.get("team"), "actor", "team"); err != nil {
		return err
	}
	switch ev.Actor.Kind {
	case "customer", "bot", "agent", "system":
	case "":
		if ev.Type == TypeMessage {
			return reject(CodeMissing, "actor.kind", `missing required field "actor.kind" for a message event; expected customer, bot, agent or system`)
		}
	default:
		return reject(CodeInvalidValue, "actor.kind", "unknown actor.kind %s; expected customer, bot, agent or system", enumValue(ev.Actor.Kind))
	}
	return nil
}

func (d *decoder) message(top *topLevel) error {
	ev := &d.ev
	m, ok, err := top.message.object("", "message")
	if err != nil {
		return err
	}
	if !ok {
		if ev.Type == TypeMessage {
			return reject(CodeMissing, "message", `missing required field "message" for a message event`)
		}
		return nil
	}
	msg := &Message{}
	if msg.Direction, err = m.get("direction").enum("message", "direction", directions); err != nil {
		return err
	}
	if msg.Text, err = d.str(m.get("text"), "message", "text"); err != nil {
		return err
	}
	if msg.Private, err = m.get("private").boolean("message", "private"); err != nil {
		return err
	}
	if msg.Intent, err = d.str(m.get("intent"), "message", "intent"); err != nil {
		return err
	}
	switch msg.Direction {
	case "inbound", "outbound":
	case "":
		// Derived from the actor when absent: only customers write inbound.
		msg.Direction = "outbound"
		if ev.Actor.Kind == "customer" {
			msg.Direction = "inbound"
		}
	default:
		return reject(CodeInvalidValue, "message.direction", "unknown message.direction %s; expected inbound or outbound", enumValue(msg.Direction))
	}
	ev.Message = msg
	return nil
}

func (d *decoder) handoff(top *topLevel) error {
	h, ok, err := top.handoff.object("", "handoff")
	if err != nil || !ok {
		return err
	}
	ho := &Handoff{}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"reason", &ho.Reason}, {"to_team", &ho.ToTeam}, {"summary", &ho.Summary}, {"next_action", &ho.NextAction}, {"owner", &ho.Owner}} {
		if *f.dst, err = d.str(h.get(f.name), "handoff", f.name); err != nil {
			return err
		}
	}
	if fields := h.get("fields"); !fields.isNull() {
		if fields[0] != '{' {
			return wrongType("handoff", "fields", "an object", fields)
		}
		ho.Fields = append(json.RawMessage(nil), fields...) // a copy: the Event shares no memory with the message
	}
	sla, ok, err := h.get("sla_seconds").integer("handoff", "sla_seconds")
	if err != nil {
		return err
	}
	if ok {
		if sla < 0 {
			return reject(CodeInvalidValue, "handoff.sla_seconds", "handoff.sla_seconds is negative; send the seconds allowed for the first response, zero or more")
		}
		ho.SLASeconds = &sla
	}
	d.ev.Handoff = ho
	return nil
}

func (d *decoder) survey(top *topLevel) error {
	ev := &d.ev
	s, ok, err := top.survey.object("", "survey")
	if err != nil {
		return err
	}
	if !ok {
		if ev.Type == TypeSurvey {
			return reject(CodeMissing, "survey", `missing required field "survey" for a survey event; give survey.kind (csat or nps) and survey.score`)
		}
		return nil
	}
	sv := &Survey{}
	if sv.Kind, err = s.get("kind").requiredEnum("survey", "kind", surveyKinds); err != nil {
		return err
	}
	score, ok, err := s.get("score").integer("survey", "score")
	if err != nil {
		return err
	}
	if !ok {
		return reject(CodeMissing, "survey.score", `missing required field "survey.score"`)
	}
	switch sv.Kind {
	case "csat":
		if score < 1 || score > 5 {
			return reject(CodeInvalidValue, "survey.score", "csat score %d is out of range; expected 1 to 5", score)
		}
	case "nps":
		if score < 0 || score > 10 {
			return reject(CodeInvalidValue, "survey.score", "nps score %d is out of range; expected 0 to 10", score)
		}
	default:
		return reject(CodeInvalidValue, "survey.kind", "unknown survey.kind %s; expected csat or nps", enumValue(sv.Kind))
	}
	sv.Score = int(score) // in range, so no truncation where int is 32 bits
	if sv.Comment, err = d.str(s.get("comment"), "survey", "comment"); err != nil {
		return err
	}
	ev.Survey = sv
	return nil
}

func (d *decoder) consent(top *topLevel) error {
	ev := &d.ev
	c, ok, err := top.consent.object("", "consent")
	if err != nil {
		return err
	}
	if !ok {
		if ev.Type == TypeConsent {
			return reject(CodeMissing, "consent", `missing required field "consent" for a consent event; give consent.purpose and consent.granted`)
		}
		return nil
	}
	cs := &Consent{}
	if cs.Purpose, err = d.requiredStr(c.get("purpose"), "consent", "purpose"); err != nil {
		return err
	}
	granted := c.get("granted")
	if granted.isNull() {
		return reject(CodeMissing, "consent.granted", `missing required field "consent.granted" (true or false)`)
	}
	if cs.Granted, err = granted.boolean("consent", "granted"); err != nil {
		return err
	}
	if cs.Basis, err = d.str(c.get("basis"), "consent", "basis"); err != nil {
		return err
	}
	if cs.Source, err = d.str(c.get("source"), "consent", "source"); err != nil {
		return err
	}
	ev.Consent = cs
	return nil
}

func (d *decoder) link(top *topLevel) error {
	ev := &d.ev
	l, ok, err := top.link.object("", "link")
	if err != nil {
		return err
	}
	if !ok {
		if ev.Type == TypeIdentityLink {
			return reject(CodeMissing, "link", `missing required field "link" for an identity_link event; give the identifiers that belong to the same person`)
		}
		return nil
	}
	id, err := d.identity("link", l)
	if err != nil {
		return err
	}
	if id.Empty() {
		if ev.Type == TypeIdentityLink {
			return reject(CodeMissing, "link", "link has no identifier; give at least one of link.phone, link.email or link.ids")
		}
		return nil
	}
	ev.Link = &id
	return nil
}
