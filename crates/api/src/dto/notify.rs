//! Wire types of notification management (`docs/notifications.md`): endpoints, subscriptions,
//! customers' contact preferences, and the delivery log. Built from the store's rows; a
//! webhook's secrets are shown once, when they are made, and never again.

use crate::public_id::{IdKind, PublicIds};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use waypost_store::{AttemptRow, ContactRow, DeliveryLogEntry, EndpointRow, SubscriptionRow};

/// Where notifications go: a webhook URL, or an email or SMS recipient.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointDto {
    /// `ep_` and 16 hex digits: opaque, not a count.
    pub id: String,
    pub name: String,
    /// `webhook`, `email` or `sms`.
    pub kind: String,
    /// A webhook's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An email or SMS endpoint's recipient: `customer` (the order's customer) or an address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// How many signing secrets a webhook has (more than one during a rotation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets: Option<usize>,
    /// The secrets, only in the answer that created them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_secrets: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    pub enabled: bool,
    /// Why it is disabled (a `410 Gone`, or an operator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl EndpointDto {
    pub fn from_row(ids: &PublicIds, row: &EndpointRow) -> Self {
        let spec: serde_json::Value = serde_json::from_str(&row.spec).unwrap_or_default();
        let text = |k: &str| spec.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        EndpointDto {
            id: ids.encode(IdKind::Endpoint, row.id),
            name: row.name.clone(),
            kind: row.kind.clone(),
            url: text("url"),
            to: text("to"),
            secrets: spec.get("secrets").and_then(|v| v.as_array()).map(Vec::len),
            new_secrets: None,
            timeout_ms: spec.get("timeout_ms").and_then(|v| v.as_u64()),
            enabled: row.enabled,
            disabled_reason: row.disabled_reason.clone(),
            created_at: row.created_at.to_string(),
            updated_at: row.updated_at.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointPage {
    pub endpoints: Vec<EndpointDto>,
}

/// Creates or replaces an endpoint. For a webhook, `url` (https, or http to an allow-listed
/// network) and optionally `secrets` (`whsec_` + base64; one is made when none is given);
/// for email and SMS, `to`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointRequest {
    pub name: String,
    /// `webhook`, `email` or `sms`.
    pub kind: String,
    pub url: Option<String>,
    pub secrets: Option<Vec<String>>,
    pub timeout_ms: Option<u64>,
    pub to: Option<String>,
    pub enabled: Option<bool>,
}

/// Which transitions notify which endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionDto {
    /// `sub_` and 16 hex digits.
    pub id: String,
    pub name: String,
    /// The endpoint's `ep_` id.
    pub endpoint_id: String,
    /// Status names (`shipped`, `out_for_delivery`, `delivered`, ...) and `alert.raised`.
    pub on: Vec<String>,
    /// Sales channels, carriers and order tags the order must match (empty: any).
    pub channels: Vec<String>,
    pub carriers: Vec<String>,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub created_at: String,
}

impl SubscriptionDto {
    pub fn from_row(ids: &PublicIds, row: &SubscriptionRow) -> Self {
        let on: Vec<String> = serde_json::from_str(&row.triggers).unwrap_or_default();
        let filter: serde_json::Value = serde_json::from_str(&row.filter).unwrap_or_default();
        let list = |k: &str| -> Vec<String> {
            filter
                .get(k)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        SubscriptionDto {
            id: ids.encode(IdKind::Subscription, row.id),
            name: row.name.clone(),
            endpoint_id: ids.encode(IdKind::Endpoint, row.endpoint_id),
            on,
            channels: list("channels"),
            carriers: list("carriers"),
            tags: list("tags"),
            enabled: row.enabled,
            created_at: row.created_at.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionPage {
    pub subscriptions: Vec<SubscriptionDto>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionRequest {
    pub name: String,
    /// The endpoint's `ep_` id.
    pub endpoint_id: String,
    pub on: Vec<String>,
    pub channels: Option<Vec<String>>,
    pub carriers: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// A customer's contact details and what they do not want to hear about.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContactDto {
    pub customer_id: String,
    pub email: Option<String>,
    /// E.164, like `+14155550123`.
    pub phone: Option<String>,
    pub locale: Option<String>,
    /// Channels the customer opted out of: `email`, `sms`, `webhook`. Never messaged on them.
    pub opted_out: Vec<String>,
    pub updated_at: String,
}

impl From<&ContactRow> for ContactDto {
    fn from(row: &ContactRow) -> Self {
        ContactDto {
            customer_id: row.customer_id.clone(),
            email: row.email.clone(),
            phone: row.phone.clone(),
            locale: row.locale.clone(),
            opted_out: row.opted_out.clone(),
            updated_at: row.updated_at.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContactPage {
    pub contacts: Vec<ContactDto>,
    /// Pass as `after` for the next page.
    pub next_after: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContactRequest {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locale: Option<String>,
    pub opted_out: Option<Vec<String>>,
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttemptDto {
    pub n: u32,
    pub started_at: String,
    pub latency_ms: u64,
    /// The receiver's HTTP status or SMTP reply code.
    pub code: Option<u16>,
    pub error: Option<String>,
}

impl From<&AttemptRow> for AttemptDto {
    fn from(a: &AttemptRow) -> Self {
        AttemptDto {
            n: a.n,
            started_at: a.started_at.to_string(),
            latency_ms: a.latency_ms,
            code: a.code,
            error: a.error.clone(),
        }
    }
}

/// A notification and every attempt at it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotificationDto {
    /// `ntf_` and 16 hex digits: opaque, not a count.
    pub id: String,
    pub order_id: String,
    /// The state change (or alert) it tells of.
    pub seq: u64,
    /// `sub_...`; a test send's is the id of subscription 0, which names none.
    pub subscription_id: String,
    /// `ep_...`.
    pub endpoint_id: String,
    pub kind: String,
    pub trigger: String,
    /// The idempotency key: `webhook-id`, the email's Message-ID, the SMS's
    /// X-Waypost-Notification-Id.
    pub msg_id: String,
    /// `pending`, `sent`, `dead`, `skipped` or `superseded`.
    pub state: String,
    /// Attempts since it was planned or last replayed (a replay starts the retry schedule
    /// afresh); `attempt_log` holds every attempt.
    pub attempts: u32,
    pub next_at: String,
    pub created_at: String,
    pub done_at: Option<String>,
    pub last_code: Option<u16>,
    pub last_error: Option<String>,
    pub attempt_log: Vec<AttemptDto>,
}

impl NotificationDto {
    pub fn new(ids: &PublicIds, e: &DeliveryLogEntry) -> Self {
        let r = &e.row;
        NotificationDto {
            id: ids.encode(IdKind::Notification, r.id),
            order_id: r.order_id.clone(),
            seq: r.seq,
            subscription_id: ids.encode(IdKind::Subscription, r.subscription_id),
            endpoint_id: ids.encode(IdKind::Endpoint, r.endpoint_id),
            kind: r.kind.clone(),
            trigger: r.trigger.clone(),
            msg_id: r.msg_id.clone(),
            state: r.state.clone(),
            attempts: r.attempts,
            next_at: r.next_at.to_string(),
            created_at: r.created_at.to_string(),
            done_at: r.done_at.map(|t| t.to_string()),
            last_code: r.last_code,
            last_error: r.last_error.clone(),
            attempt_log: e.attempts.iter().map(AttemptDto::from).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotificationPage {
    pub notifications: Vec<NotificationDto>,
    /// Pass as `after` for the next page (dead letters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}
