-- config: materialized=incremental unique_key=conversation_id scope=contacts:contact_key
-- test: unique conversation_id
-- test: not_null conversation_id contact_key is_fcr_window_closed
--
-- What followed each resolved conversation: whether the same person opened
-- another conversation, on any channel and on another channel, within the
-- FCR window after its resolution, and from that FCR and cross-channel
-- recontact. Both are known only once the window has fully passed (ended
-- before the build's clock, never the latest event); until then they are null.

with conversations as (

    select
        conversation_id,
        contact_key,
        channel,
        opened_at,
        resolved_at,
        reopened
    from {{ ref "int_conversations_aggregated" }}
    {{- if .Incremental }}
    where contact_key in (select contact_key from {{ scope "contacts" }})
    {{- end }}

),

followers as (

    select
        resolved.conversation_id,
        count(later.conversation_id) > 0 as has_followup,
        coalesce(bool_or(later.channel <> resolved.channel), false) as has_followup_other_channel,
        min(later.opened_at) as next_opened_at
    from conversations as resolved
    join conversations as later
        on later.contact_key = resolved.contact_key
        and later.conversation_id <> resolved.conversation_id
        and later.opened_at > resolved.resolved_at
        and later.opened_at <= {{ fcr_window_end "resolved.resolved_at" .FCRWindowUS }}
    where resolved.resolved_at is not null
    group by resolved.conversation_id

),

final as (

    select
        conversations.conversation_id,
        conversations.contact_key,
        coalesce({{ fcr_window_end "conversations.resolved_at" .FCRWindowUS }} < {{ .Now }}, false) as is_fcr_window_closed,
        followers.next_opened_at as recontact_at,
        case
            when {{ fcr_window_end "conversations.resolved_at" .FCRWindowUS }} < {{ .Now }}
                then not conversations.reopened and not coalesce(followers.has_followup, false)
        end as fcr,
        case
            when {{ fcr_window_end "conversations.resolved_at" .FCRWindowUS }} < {{ .Now }}
                then coalesce(followers.has_followup_other_channel, false)
        end as recontact_other_channel
    from conversations
    left join followers
        on followers.conversation_id = conversations.conversation_id

)

select * from final
