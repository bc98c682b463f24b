//! Wire types of the alert review surface: alerts as people see them, their audit trail, and
//! the bodies of the lifecycle commands. Built from the store's rows, so the store's encoding
//! (an empty track for "the order itself", the resolution as a JSON string) stays inside.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use waypost_rules::Resolution;
use waypost_store::{AlertRow, AuditRow};

/// The alert statuses. Mirrors `waypost_rules::AlertStatus`; a test keeps the two equal.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatusName {
    Open,
    Acknowledged,
    Snoozed,
    Resolved,
}

/// The severities, least to most severe. Mirrors `waypost_rules::Severity`; a test keeps the
/// two equal.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeverityName {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// How an alert ended.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResolutionDto {
    /// `person` (resolved through the API with a note) or `detector` (the condition cleared).
    pub by: String,
    /// The person's note, or why the detector resolved it.
    pub note: String,
    /// The detector found, from facts that arrived late, that the condition never held.
    pub false_positive: bool,
}

/// An exception the detector raised, for a person to review.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertDto {
    /// The alert's id: 32 random lowercase hex digits (128 bits), so one tenant's ids tell
    /// nothing of another's alerts. The path of `GET /v1/alerts/{id}`.
    #[schema(min_length = 32, max_length = 32, pattern = "^[0-9a-f]{32}$")]
    pub id: String,
    pub order_id: String,
    /// The shipment the alert is about; absent when it is about the order as a whole.
    pub tracking_number: Option<String>,
    /// The rule's name in the configuration.
    pub rule: String,
    /// The rule's kind: dwell, silence, promise, event or source.
    pub kind: String,
    #[schema(value_type = SeverityName)]
    pub severity: String,
    #[schema(value_type = AlertStatusName)]
    pub status: String,
    /// A person or team, once assigned.
    pub assignee: Option<String>,
    /// Set while snoozed.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub snoozed_until: Option<jiff::Timestamp>,
    /// How often the rule fired for this alert (1 when opened).
    pub triggers: u32,
    /// The deadline that fired, for dwell, silence and promise rules.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due: Option<jiff::Timestamp>,
    /// When it opened, on the engine's clock.
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_triggered: jiff::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<jiff::Timestamp>,
    pub resolution: Option<ResolutionDto>,
    pub false_positive: bool,
    pub carrier: Option<String>,
    pub order_value: Option<f64>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub promised_at: Option<jiff::Timestamp>,
    /// One line a person can read.
    pub summary: String,
    /// What `sort=impact` orders by: severity first, then order value and time to promise.
    pub impact: f64,
    /// Increases with every change of this alert.
    pub version: i64,
}

impl From<&AlertRow> for AlertDto {
    fn from(a: &AlertRow) -> Self {
        AlertDto {
            id: a.public_id.clone(),
            order_id: a.subject.order_id.clone(),
            tracking_number: Some(a.subject.track.clone()).filter(|t| !t.is_empty()),
            rule: a.rule.clone(),
            kind: a.kind.clone(),
            severity: a.severity.clone(),
            status: a.status.clone(),
            assignee: a.assignee.clone(),
            snoozed_until: a.snoozed_until,
            triggers: a.triggers,
            due: a.due,
            opened_at: a.opened_at,
            last_triggered: a.last_triggered,
            resolved_at: a.resolved_at,
            resolution: a.resolution.as_deref().and_then(resolution),
            false_positive: a.false_positive,
            carrier: a.carrier.clone(),
            order_value: a.order_value,
            promised_at: a.promised_at,
            summary: a.summary.clone(),
            // JSON has no NaN or infinity; an impact is a finite score by construction, but
            // a bad row must not make the whole listing unserializable.
            impact: if a.impact.is_finite() { a.impact } else { 0.0 },
            version: a.version,
        }
    }
}

/// What a lifecycle command answers a caller that may act on alerts but not read them (a key
/// with the `operate` scope and not `read`): the alert's new state, without the order, the
/// customer's value, the carrier or the summary.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
// No other fields: so a whole alert (`AlertDto`) never also matches this schema, and the
// `oneOf` of `AlertCommandAnswer` names exactly one.
#[serde(deny_unknown_fields)]
pub struct AlertChange {
    #[schema(min_length = 32, max_length = 32, pattern = "^[0-9a-f]{32}$")]
    pub id: String,
    #[schema(value_type = AlertStatusName)]
    pub status: String,
    pub assignee: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub snoozed_until: Option<jiff::Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<jiff::Timestamp>,
    pub version: i64,
}

impl From<&AlertRow> for AlertChange {
    fn from(a: &AlertRow) -> Self {
        AlertChange {
            id: a.public_id.clone(),
            status: a.status.clone(),
            assignee: a.assignee.clone(),
            snoozed_until: a.snoozed_until,
            resolved_at: a.resolved_at,
            version: a.version,
        }
    }
}

/// A lifecycle command's answer: the whole alert for a caller with the `read` scope, only its
/// new state ([`AlertChange`]) for one with `operate` alone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AlertCommandAnswer {
    // Boxed: an answer is built once per request, and the two differ fourfold in size.
    Full(Box<AlertDto>),
    Change(AlertChange),
}

/// The store keeps the lifecycle's own serialization; clients get a flat, stable shape.
fn resolution(json: &str) -> Option<ResolutionDto> {
    match serde_json::from_str::<Resolution>(json).ok()? {
        Resolution::ByPerson { note } => Some(ResolutionDto {
            by: "person".into(),
            note,
            false_positive: false,
        }),
        Resolution::Auto {
            reason,
            false_positive,
        } => Some(ResolutionDto {
            by: "detector".into(),
            note: reason,
            false_positive,
        }),
    }
}

/// One line of an alert's audit trail.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditItem {
    /// 1, 2, 3... per alert.
    pub n: u32,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    /// `waypost` for the detector; for a person, the API key's id, or `<actor> via <key id>`
    /// when the request named a person.
    pub actor: String,
    /// `open`, `trigger`, `ack`, `assign`, `snooze`, `wake`, `resolve` or `auto_resolve`.
    pub action: String,
    pub detail: String,
}

impl From<&AuditRow> for AuditItem {
    fn from(r: &AuditRow) -> Self {
        AuditItem {
            n: r.n,
            at: r.at,
            actor: r.actor.clone(),
            action: r.action.clone(),
            detail: r.detail.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertPage {
    pub alerts: Vec<AlertDto>,
    /// Pass as `offset` for the next page; null on the last page.
    pub next_offset: Option<u64>,
}

/// An alert with its whole audit trail.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: AlertDto,
    /// Oldest first.
    pub audit: Vec<AuditItem>,
}

/// `POST /v1/alerts/{id}/ack`. The body may be empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    /// The person acting (an email, say), recorded in the audit trail beside the API key,
    /// which stays accountable for the change.
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub actor: Option<String>,
}

/// `POST /v1/alerts/{id}/assign`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// A person or a team.
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub to: String,
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub actor: Option<String>,
}

/// `POST /v1/alerts/{id}/snooze`: exactly one of `until` and `for`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    /// RFC 3339 with an offset; must be later than now on the engine's clock.
    #[schema(format = DateTime)]
    pub until: Option<String>,
    /// A duration from now, like `2h` or `1d`.
    #[serde(rename = "for")]
    #[schema(example = "2h")]
    pub for_: Option<String>,
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub actor: Option<String>,
}

/// `POST /v1/alerts/{id}/resolve`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// What was done, for the audit trail.
    #[schema(min_length = 1, max_length = 4096, pattern = "\\S")]
    pub note: String,
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub actor: Option<String>,
}

/// What `POST /v1/admin/reload` did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReloadReport {
    /// Rules now in force.
    pub rules: usize,
    /// Tenants with order-intake settings of their own now in force.
    pub order_tenants: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    fn names(s: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>) -> Vec<String> {
        serde_json::to_value(s).unwrap()["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn documented_vocabularies_match_the_rules_crate() {
        let want: Vec<String> = waypost_rules::AlertStatus::NAMES
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names(AlertStatusName::schema()), want);
        assert_eq!(waypost_store::ALERT_STATUSES.as_slice(), want.as_slice());
        let want: Vec<String> = waypost_rules::Severity::NAMES
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names(SeverityName::schema()), want);
    }

    #[test]
    fn resolutions_flatten_to_one_shape() {
        let person = serde_json::to_string(&Resolution::ByPerson {
            note: "rebooked".into(),
        })
        .unwrap();
        let r = resolution(&person).unwrap();
        assert_eq!((r.by.as_str(), r.note.as_str()), ("person", "rebooked"));
        let auto = serde_json::to_string(&Resolution::Auto {
            reason: "packed arrived".into(),
            false_positive: true,
        })
        .unwrap();
        let r = resolution(&auto).unwrap();
        assert_eq!(r.by, "detector");
        assert!(r.false_positive);
        assert!(resolution("not json").is_none());
    }
}
