// Package evolution decodes the events Evolution API publishes to Kafka
// (https://github.com/EvolutionAPI/evolution-api,
// src/api/integrations/event/kafka/kafka.controller.ts) into cx.event/v1
// events, as an ingest.Source.
//
// Evolution API writes one topic per instance and event,
// <prefix>.<instance>.<event>, or one per event for all instances,
// <prefix>.global.<event>; each message is the envelope
// {event, instance, data, server_url, date_time, sender, apikey, timestamp}.
// Messages (messages.upsert, send.message, the history of messages.set)
// and incoming calls become message events; the actor of the business's
// own messages follows upstream's signals (send.message is the API, which
// bots use; messages.upsert with fromMe is a person on the phone), and a
// person taking over a bot's conversation is a handoff the models draw. Edits
// (messages.edited, send.message.update) and deletions (messages.delete)
// are revisions of the stored message's text (warehouse/revise.go).
// Reactions, delivery receipts (messages.update), address-book syncs
// (contacts.upsert, contacts.update) and chat lists (chats.upsert) are
// decoded, checked and skipped with a reason; any other event name is
// skipped as unknown. The apikey is never stored: it is removed from the
// raw payload kept with events and dead letters.
//
// WhatsApp has no conversations, only chats that go on for years. The
// decoder stores each message with its chat's id as conversation_id
// (Decoder.chatID: the instance and a keyed hash of the chat), and keeps no
// state across messages; the models draw the conversations and the
// takeovers from each chat's stored messages
// (models/intermediate/int_whatsapp_conversations_drawn.sql), with the gap
// of sources.evolution.conversation_gap, so that a new gap is a refresh,
// not a replay.
package evolution
