//! The bodies of notification management, read field by field so every refusal is
//! problem+json naming the field, then checked by `waypost-notify`'s own validation (the one
//! the planner trusts).

use crate::AppState;
use crate::auth::Caller;
use crate::problem::Problem;
use crate::public_id::IdKind;
use crate::routes::alerts::body::{BodyFields, invalid_field};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use base64::Engine as _;
use jiff::Timestamp;
use rand::RngCore;
use std::str::FromStr;
use waypost_notify::{ChannelKind, EndpointSpec, ModelError, Phone, Trigger};
use waypost_store::{ContactRow, EndpointRow, NewOutbox, SubscriptionRow};

const MAX_NAME: usize = 128;
const MAX_URL: usize = 2048;
const MAX_ADDRESS: usize = 320;

/// A fresh Standard Webhooks secret: 24 random bytes.
fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::rng().fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// The endpoint a body describes, checked (a webhook's host resolved and every address held
/// against the SSRF policy), and the secrets made for it when it named none.
pub async fn endpoint_row(
    state: &AppState,
    caller: &Caller,
    id: i64,
    body: Result<Bytes, BytesRejection>,
) -> Result<(EndpointRow, Option<Vec<String>>), Problem> {
    let mut f = BodyFields::read(
        body,
        &[
            "name",
            "kind",
            "url",
            "secrets",
            "timeout_ms",
            "to",
            "enabled",
        ],
    )?;
    let name = f.required_text("name", MAX_NAME)?;
    let kind_text = f.required_text("kind", 16)?;
    let kind =
        ChannelKind::from_str(&kind_text).map_err(|e| invalid_field("kind", e.to_string()))?;
    let enabled = f.optional_bool("enabled")?.unwrap_or(true);
    let mut made = None;
    let spec = match kind {
        ChannelKind::Webhook => {
            let url = f.required_text("url", MAX_URL)?;
            let secrets = match f.optional_list("secrets", 200, 8)? {
                Some(s) if !s.is_empty() => s,
                _ => {
                    let s = vec![new_secret()];
                    made = Some(s.clone());
                    s
                }
            };
            let timeout_ms = f.optional_int("timeout_ms", 100..=30_000)?.unwrap_or(5000);
            if f.optional_text("to", MAX_ADDRESS)?.is_some() {
                return Err(invalid_field("to", "a webhook has a url, not a to".into()));
            }
            serde_json::json!({"kind": "webhook", "url": url, "secrets": secrets, "timeout_ms": timeout_ms})
        }
        ChannelKind::Email | ChannelKind::Sms => {
            let to = f.required_text("to", MAX_ADDRESS)?;
            for field in ["url", "secrets", "timeout_ms"] {
                if f.optional_text(field, MAX_URL).is_ok_and(|v| v.is_some()) {
                    return Err(invalid_field(
                        field,
                        format!("an {kind} endpoint has only to"),
                    ));
                }
            }
            serde_json::json!({"kind": kind.to_string(), "to": to})
        }
    };
    let parsed: EndpointSpec = serde_json::from_value(spec.clone())
        .map_err(|e| invalid_field("", format!("not a valid endpoint: {e}")))?;
    parsed
        .validate()
        .map_err(|e| invalid_field(field_of(&e), e.to_string()))?;
    if let EndpointSpec::Webhook { url, .. } = &parsed {
        state
            .notify_guard
            .check_url(url)
            .await
            .map_err(|why| invalid_field("url", why))?;
    }
    let now = state.clock.now();
    Ok((
        EndpointRow {
            id,
            tenant: caller.tenant.clone(),
            name,
            kind: kind.to_string(),
            spec: spec.to_string(),
            enabled,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        },
        made,
    ))
}

pub async fn subscription_row(
    state: &AppState,
    caller: &Caller,
    id: i64,
    body: Result<Bytes, BytesRejection>,
) -> Result<SubscriptionRow, Problem> {
    let mut f = BodyFields::read(
        body,
        &[
            "name",
            "endpoint_id",
            "on",
            "channels",
            "carriers",
            "tags",
            "enabled",
        ],
    )?;
    let name = f.required_text("name", MAX_NAME)?;
    let public = f.optional_text("endpoint_id", 64)?.ok_or_else(|| {
        invalid_field("endpoint_id", "required: an endpoint's id (ep_...)".into())
    })?;
    let missing = || Problem::not_found(format!("no endpoint {public:?}"));
    let endpoint_id = state
        .public_ids
        .decode(IdKind::Endpoint, &public)
        .filter(|id| *id > 0)
        .ok_or_else(missing)?;
    let on = f
        .optional_list("on", 64, 32)?
        .filter(|l| !l.is_empty())
        .ok_or_else(|| invalid_field("on", "required: at least one transition".into()))?;
    for (i, t) in on.iter().enumerate() {
        Trigger::from_str(t).map_err(|e| invalid_field(&format!("on[{i}]"), e.to_string()))?;
    }
    let channels = f.optional_list("channels", 128, 64)?.unwrap_or_default();
    let carriers = f.optional_list("carriers", 128, 64)?.unwrap_or_default();
    let tags = f.optional_list("tags", 64, 64)?.unwrap_or_default();
    let enabled = f.optional_bool("enabled")?.unwrap_or(true);
    let tenant = caller.tenant.clone();
    let exists = super::read(state, move |r| r.endpoint(&tenant, endpoint_id))
        .await?
        .is_some();
    if !exists {
        return Err(missing());
    }
    Ok(SubscriptionRow {
        id,
        tenant: caller.tenant.clone(),
        name,
        endpoint_id,
        triggers: serde_json::Value::from(on).to_string(),
        filter: serde_json::json!({"channels": channels, "carriers": carriers, "tags": tags})
            .to_string(),
        enabled,
        created_at: state.clock.now(),
    })
}

pub fn contact_row(
    state: &AppState,
    caller: &Caller,
    customer_id: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<ContactRow, Problem> {
    let id = customer_id.trim();
    if id.is_empty() || id.chars().count() > 256 || id.chars().any(char::is_control) {
        return Err(Problem::bad_request(
            "invalid-path",
            "a customer id is 1 to 256 characters on one line",
        ));
    }
    let mut f = BodyFields::read(body, &["email", "phone", "locale", "opted_out"])?;
    let email = f.optional_text("email", MAX_ADDRESS)?;
    if let Some(e) = &email {
        waypost_notify::model::check_email(e)
            .map_err(|_| invalid_field("email", format!("{e:?} is not an email address")))?;
    }
    let phone = f
        .optional_text("phone", 32)?
        .map(|p| Phone::parse(&p).map(|p| p.to_string()))
        .transpose()
        .map_err(|e| invalid_field("phone", e.to_string()))?;
    let locale = f.optional_text("locale", 35)?;
    let opted_out = f.optional_list("opted_out", 16, 3)?.unwrap_or_default();
    let mut kinds = Vec::new();
    for (i, k) in opted_out.iter().enumerate() {
        let kind = ChannelKind::from_str(k)
            .map_err(|e| invalid_field(&format!("opted_out[{i}]"), e.to_string()))?;
        if !kinds.contains(&kind.to_string()) {
            kinds.push(kind.to_string());
        }
    }
    kinds.sort();
    Ok(ContactRow {
        tenant: caller.tenant.clone(),
        customer_id: id.to_owned(),
        email,
        phone,
        locale,
        opted_out: kinds,
        updated_at: state.clock.now(),
    })
}

/// The body field a validation error is about.
fn field_of(e: &ModelError) -> &'static str {
    match e {
        ModelError::Url { .. } => "url",
        ModelError::NoSecrets | ModelError::InvalidSecret { .. } => "secrets",
        ModelError::Timeout { .. } => "timeout_ms",
        ModelError::Email { .. } | ModelError::Phone { .. } => "to",
        ModelError::Name { .. } => "name",
        ModelError::NoTriggers { .. } => "on",
        ModelError::CustomerId { .. } => "customer_id",
    }
}

/// A test notification to `endpoint`: a made-up order, status `shipped`, sent now, outside
/// every subscription (subscription 0) so it never waits behind a real one.
pub fn test_row(endpoint: &EndpointRow, now: Timestamp) -> NewOutbox {
    let order_id = format!("TEST-{}", now.as_millisecond());
    let seq = u64::try_from(now.as_nanosecond()).unwrap_or(0);
    let kind = ChannelKind::from_str(&endpoint.kind).unwrap_or(ChannelKind::Webhook);
    let facts = waypost_notify::OrderFacts {
        tenant: endpoint.tenant.to_string(),
        order_id: order_id.clone(),
        seq,
        status: "shipped".into(),
        previous_status: Some("packed".into()),
        carriers: vec!["test".into()],
        shipments: vec![waypost_notify::ShipmentFacts {
            tracking_number: "TEST0000000000".into(),
            status: "shipped".into(),
            carrier: Some("test".into()),
            ..Default::default()
        }],
        changed_at: Some(now),
        ..Default::default()
    };
    NewOutbox {
        tenant: endpoint.tenant.clone(),
        order_id: order_id.clone(),
        seq,
        subscription_id: 0,
        endpoint_id: endpoint.id,
        kind: endpoint.kind.clone(),
        trigger: "shipped".into(),
        msg_id: waypost_notify::notification_id(endpoint.tenant.as_str(), &order_id, seq, kind, 0),
        payload: serde_json::to_string(&facts).unwrap_or_default(),
        not_before: now,
    }
}
