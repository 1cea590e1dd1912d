package event_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/cxlake/cxlake/event"
)

func ExampleDecoder_Decode() {
	var d event.Decoder // the zero value allows DefaultMaxBytes per message

	ev, err := d.Decode([]byte(`{
		"schema": "cx.event/v1",
		"event_id": "01JD3W8Q9S4XKZ7V2M6N8P0R5T",
		"type": "message",
		"occurred_at": "2026-11-21T14:03:05.123-03:00",
		"channel": "WhatsApp",
		"conversation_id": "wa-8842",
		"contact": {"phone": "5511987654321@s.whatsapp.net", "email": " Ana@Example.COM "},
		"actor": {"kind": "customer"},
		"message": {"text": "Meu pedido 1234 não chegou"},
		"tenant": "acme"
	}`))
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Println(ev.Contact.Phone, ev.Contact.Email)
	fmt.Println(ev.OccurredAt.Format(time.RFC3339Nano))
	fmt.Println(ev.Channel, ev.Message.Direction, string(ev.Extra))

	// A rejection says what to fix, without quoting the payload's personal data.
	_, err = d.Decode([]byte(`{
		"schema": "cx.event/v1",
		"event_id": "01JD3W8Q9S4XKZ7V2M6N8P0R5U",
		"type": "message",
		"occurred_at": "2026-11-21T14:03:05",
		"channel": "whatsapp",
		"conversation_id": "wa-8842",
		"contact": {"phone": "+5511987654321"},
		"actor": {"kind": "customer"},
		"message": {"text": "Meu pedido 1234 não chegou"}
	}`))
	var rej *event.RejectError
	if errors.As(err, &rej) {
		fmt.Println(rej.Code, rej.Field)
		fmt.Println(rej.Reason)
	}
	// Output:
	// +5511987654321 ana@example.com
	// 2026-11-21T17:03:05.123Z
	// whatsapp inbound {"tenant":"acme"}
	// bad_timestamp occurred_at
	// occurred_at has no UTC offset; send RFC 3339 with Z or ±hh:mm, e.g. 2026-11-21T14:03:05-03:00
}
