-- config: materialized=incremental unique_key=conversation_id scope=contacts:contact_key
-- test: unique conversation_id
-- test: not_null conversation_id contact_key
--
-- Did the customer have to repeat themselves (issue 20, docs/models.md
-- "Repetition")? repeated_after_handoff: the customer's inbound messages
-- after the conversation's first handoff share at least 2 informative
-- tokens with their inbound messages before it; null without a handoff or
-- without an inbound message after it. repeated_after_switch, on the
-- earlier conversation of a cross-channel recontact: the first 3 inbound
-- messages of the recontact conversation (the first one the person opened
-- on another channel within the FCR window after the resolution, as
-- int_conversations_followed_up counts it) share at least 2 informative
-- tokens with the earlier conversation's inbound messages; null unless
-- recontact_other_channel is true.
--
-- Texts are opened here, during the build, by cx_text_tokens, which
-- returns only keyed hashes of the tokens; no token is stored, only the two
-- booleans. Only the messages of the conversations being recomputed that
-- need them are opened. A person who withdrew analytics
-- (int_contacts_withdrawn) keeps their conversations in the denominators:
-- their texts are not opened, so no repetition is seen (false where the
-- value is known to exist). A text that is no longer readable (retention of
-- message_text, destroyed keys) has no tokens either.

with conversations as (

    select
        conversation_id,
        contact_key,
        channel,
        opened_at,
        handoff_at,
        resolved_at
    from {{ ref "int_conversations_aggregated" }}
    {{- if .Incremental }}
    where contact_key in (select contact_key from {{ scope "contacts" }})
    {{- end }}

),

followed as (

    select
        conversation_id,
        recontact_other_channel
    from {{ ref "int_conversations_followed_up" }}
    where recontact_other_channel

),

withdrawn as (

    select contact_key from {{ ref "int_contacts_withdrawn" }}

),

-- the recontact conversation of each earlier conversation that has one
recontacts as (

    select
        earlier.conversation_id,
        first(later.conversation_id order by later.opened_at, later.conversation_id) as recontact_conversation_id
    from conversations as earlier
    inner join followed
        on followed.conversation_id = earlier.conversation_id
    inner join conversations as later
        on later.contact_key = earlier.contact_key
        and later.conversation_id <> earlier.conversation_id
        and later.channel <> earlier.channel
        and later.opened_at > earlier.resolved_at
        and later.opened_at <= {{ fcr_window_end "earlier.resolved_at" .FCRWindowUS }}
    group by earlier.conversation_id

),

-- the customer's messages of the conversations in scope, numbered; their
-- sealed contents are joined in only for the conversations read (tokens)
messages as (

    select
        inbound.event_id,
        inbound.conversation_id,
        inbound.occurred_at,
        row_number() over (partition by inbound.conversation_id order by inbound.occurred_at, inbound.event_id) as inbound_n
    from {{ ref "stg_cx__inbound_messages" }} as inbound
    inner join conversations
        on conversations.conversation_id = inbound.conversation_id

),

inbound_after_handoff as (

    select
        conversations.conversation_id,
        count(*) as messages_after
    from conversations
    inner join messages
        on messages.conversation_id = conversations.conversation_id
        and messages.occurred_at > conversations.handoff_at
    group by conversations.conversation_id

),

-- the conversations whose texts are read: a handoff, either side of a
-- recontact; never a withdrawn person's
needed as (

    select
        conversations.conversation_id
    from conversations
    where (conversations.handoff_at is not null
            or conversations.conversation_id in (select conversation_id from recontacts)
            or conversations.conversation_id in (select recontact_conversation_id from recontacts))
        and not exists (select 1 from withdrawn where withdrawn.contact_key = conversations.contact_key)

),

-- each text opened once (materialized: three steps below read it)
tokens as materialized (

    select
        messages.conversation_id,
        messages.occurred_at,
        messages.inbound_n,
        unnest(string_split(nullif(cx_text_tokens(sealed.event_id, sealed.subject_hash, sealed.occurred_at, sealed.content), ''), ' ')) as token
    from messages
    inner join needed
        on needed.conversation_id = messages.conversation_id
    inner join {{ ref "stg_cx__inbound_messages" }} as sealed
        on sealed.event_id = messages.event_id
    where sealed.content is not null

),

handoff_sides as (

    select
        tokens.conversation_id,
        tokens.token,
        bool_or(tokens.occurred_at < conversations.handoff_at) as is_before,
        bool_or(tokens.occurred_at > conversations.handoff_at) as is_after
    from tokens
    inner join conversations
        on conversations.conversation_id = tokens.conversation_id
    where conversations.handoff_at is not null
    group by tokens.conversation_id, tokens.token

),

handoff_shared as (

    select
        conversation_id,
        count(*) filter (where is_before and is_after) as shared_tokens
    from handoff_sides
    group by conversation_id

),

-- each side's tokens keyed by the earlier conversation, then joined on
-- both (a join on the token alone would pair every conversation that
-- mentions a common word)
switch_earlier as (

    select distinct
        recontacts.conversation_id,
        tokens.token
    from recontacts
    inner join tokens
        on tokens.conversation_id = recontacts.conversation_id

),

switch_later as (

    select distinct
        recontacts.conversation_id,
        tokens.token
    from recontacts
    inner join tokens
        on tokens.conversation_id = recontacts.recontact_conversation_id
        and tokens.inbound_n <= 3

),

switch_shared as (

    select
        switch_earlier.conversation_id,
        count(*) as shared_tokens
    from switch_earlier
    inner join switch_later
        on switch_later.conversation_id = switch_earlier.conversation_id
        and switch_later.token = switch_earlier.token
    group by switch_earlier.conversation_id

),

final as (

    select
        conversations.conversation_id,
        conversations.contact_key,
        case
            when conversations.handoff_at is not null and inbound_after_handoff.messages_after > 0
                then coalesce(handoff_shared.shared_tokens >= 2, false)
        end as repeated_after_handoff,
        case
            when followed.recontact_other_channel
                then coalesce(switch_shared.shared_tokens >= 2, false)
        end as repeated_after_switch
    from conversations
    left join inbound_after_handoff
        on inbound_after_handoff.conversation_id = conversations.conversation_id
    left join handoff_shared
        on handoff_shared.conversation_id = conversations.conversation_id
    left join followed
        on followed.conversation_id = conversations.conversation_id
    left join switch_shared
        on switch_shared.conversation_id = conversations.conversation_id

)

select * from final
