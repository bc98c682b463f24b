//! Between the store's rows and the rules crate's types.

use jiff::Timestamp;
use waypost_domain::TenantId;
use waypost_rules::{
    AlertState, AlertStatus, AuditEntry, Facts, Resolution, Rule, RuleKind, RuleSet,
    Subject as RuleSubject, format_duration, impact,
};
use waypost_store::{AlertRow, AlertWrite, AuditEntryIn, SubjectFacts, SubjectKey};

/// One order or shipment with a status the rules can reason about.
pub(super) struct Subject {
    pub key: SubjectKey,
    f: SubjectFacts,
    status: waypost_domain::Status,
    since: Timestamp,
}

impl Subject {
    /// `None` when it has no single status or no time for it: nothing to dwell in.
    pub fn of(tenant: &TenantId, order_id: &str, f: &SubjectFacts) -> Option<Subject> {
        let status = f.status?;
        let since = f.status_since?;
        Some(Subject {
            key: SubjectKey {
                tenant: tenant.clone(),
                order_id: order_id.to_owned(),
                track: f.track.clone(),
            },
            f: f.clone(),
            status,
            since,
        })
    }

    pub fn facts(&self) -> Facts<'_> {
        Facts {
            tenant: self.key.tenant.as_str(),
            subject: if self.key.track.is_empty() {
                RuleSubject::Order
            } else {
                RuleSubject::Shipment
            },
            status: self.status,
            reason: self.f.reason,
            status_since: self.since,
            last_event_at: self.f.last_event_at.unwrap_or(self.since),
            promised_at: self.f.promised_at,
            carrier: self.f.carrier.as_deref(),
            service: self.f.service.as_deref(),
            channel: self.f.channel.as_deref(),
            warehouse: self.f.warehouse.as_deref(),
            order_value: self.f.order_value,
        }
    }

    /// A new alert (or one more trigger of the open one) for `rule`.
    pub fn raise(
        &self,
        rules: &RuleSet,
        rule: &Rule,
        due: Option<Timestamp>,
        now: Timestamp,
        summary: String,
    ) -> AlertWrite {
        let facts = self.facts();
        let severity = rules
            .severity(rule.id, &facts.scope())
            .unwrap_or(rule.severity);
        let (state, entry) = AlertState::open(now, super::ACTOR, summary.clone());
        let to_promise = self.f.promised_at.map(|p| p.duration_since(now));
        let row = AlertRow {
            id: 0,
            public_id: String::new(),
            subject: self.key.clone(),
            rule: rule.name.clone(),
            kind: rule.kind.as_str().to_owned(),
            severity: severity.as_str().to_owned(),
            status: String::new(),
            assignee: None,
            snoozed_until: None,
            triggers: 1,
            due,
            opened_at: now,
            last_triggered: now,
            resolved_at: None,
            resolution: None,
            false_positive: false,
            carrier: self.f.carrier.clone(),
            order_value: self.f.order_value,
            promised_at: self.f.promised_at,
            summary,
            impact: impact(severity, self.f.order_value, to_promise),
            version: 0,
        };
        AlertWrite::Raise {
            alert: with_state(row, &state, now),
            audit: audit_in(&entry),
        }
    }
}

/// What a timed alert says: the rule, the subject's status and how long.
pub(super) fn summary(rule: &Rule, s: &Subject, due: Timestamp) -> String {
    let what = if s.key.track.is_empty() {
        format!("order {}", s.key.order_id)
    } else {
        format!("shipment {}", s.key.track)
    };
    let after = rule.after.map(format_duration).unwrap_or_default();
    match rule.kind {
        RuleKind::Dwell => format!("{what} {} for more than {after}", s.status),
        RuleKind::Silence => format!("{what} silent for more than {after} while {}", s.status),
        RuleKind::Promise => format!(
            "{what} not delivered by its promised date ({})",
            s.f.promised_at.map(|p| p.to_string()).unwrap_or_default()
        ),
        _ => format!("{what}: {} since {due}", rule.name),
    }
}

pub(super) fn audit_in(e: &AuditEntry) -> AuditEntryIn {
    AuditEntryIn {
        at: e.at,
        actor: e.actor.clone(),
        action: e.action.to_owned(),
        detail: e.detail.clone(),
    }
}

/// The lifecycle state a stored alert is in.
pub(super) fn row_state(a: &AlertRow) -> AlertState {
    let status = a.status.parse().unwrap_or(AlertStatus::Open);
    let resolution = a
        .resolution
        .as_deref()
        .and_then(|r| serde_json::from_str::<Resolution>(r).ok())
        .or_else(|| {
            (status == AlertStatus::Resolved).then(|| Resolution::Auto {
                reason: "resolved".into(),
                false_positive: a.false_positive,
            })
        });
    AlertState {
        status,
        snoozed_until: a.snoozed_until.filter(|_| status == AlertStatus::Snoozed),
        assignee: a.assignee.clone(),
        triggers: a.triggers.max(1),
        last_triggered: a.last_triggered,
        resolution,
    }
}

/// `a` with the lifecycle fields of `s`.
pub(super) fn with_state(mut a: AlertRow, s: &AlertState, now: Timestamp) -> AlertRow {
    a.status = s.status.as_str().to_owned();
    a.snoozed_until = s.snoozed_until;
    a.assignee = s.assignee.clone();
    a.triggers = s.triggers;
    a.last_triggered = s.last_triggered;
    a.false_positive = matches!(
        s.resolution,
        Some(Resolution::Auto {
            false_positive: true,
            ..
        })
    );
    a.resolution = s
        .resolution
        .as_ref()
        .and_then(|r| serde_json::to_string(r).ok());
    if s.status == AlertStatus::Resolved && a.resolved_at.is_none() {
        a.resolved_at = Some(now);
    }
    a
}
