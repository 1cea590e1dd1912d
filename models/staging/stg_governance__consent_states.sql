-- config: materialized=view
-- test: not_null purpose granted decided_at
--
-- One row per person and purpose (governance's consent_state): the
-- decision in force, without the person's contact_key or the deciding
-- event's id. A decision's basis and source are not here: they are free
-- text, sealed in the deciding event's content, which SQL cannot open
-- (the access export shows them). Empty when governance is not configured (see "Optional
-- sources" in docs/models.md).

{{- if .Exists "consent_state" }}

with source as (

    select * from {{ source "consent_state" }}

),

final as (

    select
        purpose,
        granted,
        decided_at,
        enforced_at
    from source

)

{{- else }}

with final as (

    select
        null::varchar as purpose,
        null::boolean as granted,
        null::timestamptz as decided_at,
        null::timestamptz as enforced_at
    where false

)

{{- end }}

select * from final
