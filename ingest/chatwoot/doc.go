// Package chatwoot takes Chatwoot's webhooks (https://github.com/chatwoot/chatwoot,
// app/listeners/webhook_listener.rb) into cxlake in two steps.
//
// The Handler is the webhook endpoint: it checks the shared secret (the
// webhook's HMAC signature, or a token in the URL), and publishes each
// payload as it came to a Kafka topic, acknowledging the webhook only once
// Kafka has it. The Decoder is the ingest.Source of that topic: it decodes
// message_created, message_updated (CSAT answers and deletions), conversation_created,
// conversation_status_changed, conversation_updated (assignee and team),
// contact_created and contact_updated into cx.event/v1 events. A bot
// handing a conversation to a human (its status going from pending to open)
// is a handoff; a resolved conversation opened again is a reopen. A
// message_updated that deletes a message (content_attributes.deleted) is a
// revision of the stored message (warehouse/revise.go), as Evolution's
// deletions are; other edits are skipped.
package chatwoot
