//! Source rules: a partner silent for too long, or failing too often. The binary reports each
//! partner's health now and then ([`SourceReport`]); the detector raises one alert per
//! (partner, rule) while the condition holds and resolves it when it clears. A partner's
//! alerts are keyed as an order named `source:<name>`, so they list, filter and are reviewed
//! like every other alert.

use super::convert::audit_in;
use super::{ACTOR, Detector, Round, update};
use jiff::Timestamp;
use waypost_domain::TenantId;
use waypost_rules::{AlertState, Command, Rule, SourceFacts, Verdict, impact};
use waypost_store::{AlertRow, AlertWrite, StoreError, SubjectKey, WriteStore};

/// One partner's health as the rules need it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceReport {
    pub tenant: TenantId,
    /// The source name (`ups`, `wms`...).
    pub source: String,
    pub last_success: Option<Timestamp>,
    pub last_event: Option<Timestamp>,
    /// Errors over requests in the last five minutes, 0..=1.
    pub error_rate_5m: f64,
}

impl SourceReport {
    fn facts(&self) -> SourceFacts<'_> {
        SourceFacts {
            tenant: self.tenant.as_str(),
            source: &self.source,
            last_success: self.last_success,
            last_event: self.last_event,
            error_rate_5m: self.error_rate_5m,
        }
    }

    fn subject(&self) -> SubjectKey {
        SubjectKey {
            tenant: self.tenant.clone(),
            order_id: format!("source:{}", self.source),
            track: String::new(),
        }
    }
}

impl Detector {
    /// Raises and resolves source rules' alerts for these partners.
    pub fn sources(
        &mut self,
        store: &mut dyn WriteStore,
        reports: &[SourceReport],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if !self.active() {
            return Ok(());
        }
        let mut round = Round::default();
        for r in reports {
            let facts = r.facts();
            let subject = r.subject();
            let open = store.open_alerts_of(&subject.tenant, &subject.order_id)?;
            for alert in &open {
                let Some(rule) = self.rules.by_name(&alert.rule) else {
                    continue;
                };
                let (reason, false_positive) = match self.rules.recheck_source(rule.id, &facts, now)
                {
                    Verdict::Holds => continue,
                    Verdict::Cleared { reason } => (reason, false),
                    Verdict::FalsePositive { reason } => (reason, true),
                };
                let cmd = Command::AutoResolve {
                    reason,
                    false_positive,
                };
                if let Some(w) = update(alert.clone(), cmd, ACTOR, now) {
                    round.alerts.push(w);
                }
            }
            for id in self.rules.source_rules(&facts, now) {
                let Some(rule) = self.rules.get(id) else {
                    continue;
                };
                // Still failing is not news: one alert while it lasts.
                if open.iter().any(|a| a.rule == rule.name) {
                    continue;
                }
                round
                    .alerts
                    .push(raise(self, rule, r, subject.clone(), now));
            }
        }
        self.commit(store, round, now)
    }
}

fn raise(
    d: &Detector,
    rule: &Rule,
    r: &SourceReport,
    subject: SubjectKey,
    now: Timestamp,
) -> AlertWrite {
    let silent = r.last_success.max(r.last_event);
    let summary = match (rule.after, silent) {
        (Some(_), Some(seen)) if r.error_rate_5m <= rule.max_error_rate.unwrap_or(f64::MAX) => {
            format!("partner {} silent since {seen}", r.source)
        }
        _ => format!(
            "partner {} failing: {:.0} % of requests in the last 5 minutes",
            r.source,
            r.error_rate_5m * 100.0
        ),
    };
    let scope = waypost_rules::Scope {
        tenant: r.tenant.as_str(),
        channel: None,
        carrier: Some(&r.source),
    };
    let severity = d.rules.severity(rule.id, &scope).unwrap_or(rule.severity);
    let (state, entry) = AlertState::open(now, ACTOR, summary.clone());
    let row = AlertRow {
        id: 0,
        public_id: String::new(),
        subject,
        rule: rule.name.clone(),
        kind: rule.kind.as_str().to_owned(),
        severity: severity.as_str().to_owned(),
        status: String::new(),
        assignee: None,
        snoozed_until: None,
        triggers: 1,
        due: None,
        opened_at: now,
        last_triggered: now,
        resolved_at: None,
        resolution: None,
        false_positive: false,
        carrier: Some(r.source.clone()),
        order_value: None,
        promised_at: None,
        summary,
        impact: impact(severity, None, None),
        version: 0,
    };
    AlertWrite::Raise {
        alert: super::convert::with_state(row, &state, now),
        audit: audit_in(&entry),
    }
}
