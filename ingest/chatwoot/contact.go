package chatwoot

import (
	"strconv"
	"time"

	"github.com/cxlake/cxlake/event"
)

// Contact identifiers. Every Chatwoot event names its contact by the
// contact's id (contact.ids.chatwoot), so that all of a contact's
// conversations join even when it has no phone or email (a web visitor),
// and by the phone and email it has, so that the same person joins across
// sources: a phone seen by Evolution API and in a Chatwoot contact is one
// person. A phone or email that does not normalize is left out.

// idKey and identifierKey are the contact.ids keys of a Chatwoot contact id
// and of the identifier a business sets on a contact (its own user id).
const (
	idKey         = event.IDChatwoot
	identifierKey = event.IDChatwootIdentifier
)

func identityOf(p *party) event.Identity {
	id := event.Identity{IDs: map[string]string{idKey: string(p.ID)}}
	if phone, ok := event.NormalizePhone(p.PhoneNumber); ok {
		id.Phone = phone
	}
	if email, ok := event.NormalizeEmail(p.Email); ok {
		id.Email = email
	}
	if p.Identifier != "" {
		id.IDs[identifierKey] = p.Identifier
	}
	return id
}

// contact decodes contact_created and contact_updated: an identity_link
// from the contact's id to its phone, email and identifier, so that they
// join even before a conversation names them together. A contact with none
// of these (an anonymous web visitor) links nothing and is skipped.
func (d *Decoder) contact(ev string, p *contact, kafkaTime time.Time) ([]event.Event, error) {
	if p.ID == "" {
		return nil, reasons.Missing(ev, "id")
	}
	id := identityOf(&p.party)
	link := event.Identity{Phone: id.Phone, Email: id.Email}
	if v := id.IDs[identifierKey]; v != "" {
		link.IDs = map[string]string{identifierKey: v}
	}
	if link.Empty() {
		return nil, reasons.Skip(ev, "the contact has no phone, email or identifier to link to its id")
	}
	at, err := occurred(ev, kafkaTime, p.UpdatedAt.Time, p.CreatedAt.Time)
	if err != nil {
		return nil, err
	}
	return []event.Event{{
		EventID:     "chatwoot:contact:" + string(p.ID) + ":" + strconv.FormatInt(at.UnixMilli(), 10),
		Type:        event.TypeIdentityLink,
		OccurredAt:  at,
		Source:      "chatwoot",
		Contact:     event.Identity{IDs: map[string]string{idKey: string(p.ID)}},
		ContactName: p.Name,
		Link:        &link,
		Extra:       extra{Event: ev}.raw(),
	}}, nil
}
