//! Evaluation: which rules apply to an order or shipment, when their deadlines fall, which fire
//! on an arriving event, and whether a fired alert still holds in the light of newer facts.
//!
//! All of it is a pure function of the [`RuleSet`], the facts and (where needed) `now`. Times
//! in the facts are event times (when things happened); arrival order never matters here.

use crate::duration::format_duration;
use crate::model::{Filter, Rule, RuleId, RuleKind, RuleSet, Scope, Settings, Severity, Subject};
use jiff::{SignedDuration, Timestamp};
use waypost_domain::{Reason, Status};

/// One order or one shipment as the detector sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Facts<'a> {
    pub tenant: &'a str,
    pub subject: Subject,
    pub status: Status,
    pub reason: Option<Reason>,
    /// Event time at which it entered the current status.
    pub status_since: Timestamp,
    /// Event time of its newest event of any kind.
    pub last_event_at: Timestamp,
    pub promised_at: Option<Timestamp>,
    pub carrier: Option<&'a str>,
    pub service: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub warehouse: Option<&'a str>,
    pub order_value: Option<f64>,
}

impl Facts<'_> {
    /// What overrides choose on.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            tenant: self.tenant,
            channel: self.channel,
            carrier: self.carrier,
        }
    }
}

/// A timed rule's due instant for one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deadline {
    pub rule: RuleId,
    pub due: Timestamp,
}

/// The event that just arrived, as an event rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    pub status: Status,
    pub reason: Option<Reason>,
    /// The event moved a terminal subject back (taxonomy: `regression` anomaly).
    pub regression: bool,
}

/// A partner's health, as source rules see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceFacts<'a> {
    pub tenant: &'a str,
    pub source: &'a str,
    /// Last successful poll (polled partners).
    pub last_success: Option<Timestamp>,
    /// Last document or event received (pushed or polled).
    pub last_event: Option<Timestamp>,
    /// Errors / requests over the last five minutes, 0..=1.
    pub error_rate_5m: f64,
}

impl SourceFacts<'_> {
    /// The partner's last sign of life: the later of a successful poll and a received event.
    /// A partner never heard from has none, and a silence rule cannot fire for it.
    pub fn last_seen(&self) -> Option<Timestamp> {
        self.last_success.max(self.last_event)
    }

    fn scope(&self) -> Scope<'_> {
        Scope {
            tenant: self.tenant,
            channel: None,
            carrier: Some(self.source),
        }
    }
}

/// What a re-check of a fired alert found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The rule's condition still holds at `now`.
    Holds,
    /// The condition held when the alert fired and has since ended.
    Cleared { reason: String },
    /// Newer facts (a late event) show the condition never held at the deadline.
    FalsePositive { reason: String },
}

fn listed(list: &[String], value: Option<&str>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x == v))
}

impl Filter {
    /// Does this filter admit these facts? See [`Filter`] for how unknown values count.
    pub fn matches(&self, f: &Facts) -> bool {
        listed(&self.tenants, Some(f.tenant))
            && listed(&self.channels, f.channel)
            && listed(&self.carriers, f.carrier)
            && listed(&self.services, f.service)
            && listed(&self.warehouses, f.warehouse)
            && self
                .min_order_value
                .is_none_or(|m| f.order_value.is_some_and(|v| v >= m))
            && self
                .max_order_value
                .is_none_or(|m| f.order_value.is_some_and(|v| v <= m))
    }
}

/// `pending` or `pending/packed`, for messages.
fn label(statuses: &[Status]) -> String {
    statuses
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join("/")
}

impl RuleSet {
    /// The rule's settings for these facts if it applies to them at all: enabled (after
    /// overrides), the right subject, and admitted by its filter. The kind is not checked.
    fn applies<'r>(&self, rule: &'r Rule, facts: &Facts) -> Option<Settings<'r>> {
        let subject_ok = match rule.kind {
            RuleKind::Event => !rule.subject_set || rule.subject == facts.subject,
            RuleKind::Source => false,
            _ => rule.subject == facts.subject,
        };
        let settings = rule.settings(&facts.scope());
        (subject_ok && settings.enabled && rule.filter.matches(facts)).then_some(settings)
    }

    /// `from + after`, counted in the calendar's working time when there is one. `None` when
    /// the answer is out of range (never due).
    fn plus(
        &self,
        from: Timestamp,
        after: SignedDuration,
        calendar: Option<&str>,
    ) -> Option<Timestamp> {
        let due = match calendar {
            None => from.checked_add(after).ok()?,
            Some(name) => self.calendars.get(name)?.add(from, after),
        };
        (due != Timestamp::MAX).then_some(due)
    }

    /// A timed rule's due instant for facts it applies to, if its status condition holds.
    fn due(&self, rule: &Rule, s: &Settings, facts: &Facts) -> Option<Timestamp> {
        let in_status = rule.statuses.contains(&facts.status);
        match rule.kind {
            RuleKind::Dwell if in_status => self.plus(facts.status_since, s.after?, s.calendar),
            RuleKind::Silence if in_status => self.plus(facts.last_event_at, s.after?, s.calendar),
            RuleKind::Promise
                if !facts.status.is_terminal() && (rule.statuses.is_empty() || in_status) =>
            {
                let promised = facts.promised_at?;
                match s.within {
                    None => Some(promised),
                    Some(lead) => promised.checked_sub(lead).ok(),
                }
            }
            _ => None,
        }
    }

    /// Every timed rule (dwell, silence, promise) that applies to these facts, with its due
    /// instant (calendar-aware). A due instant may already be past: the caller fires it now.
    pub fn deadlines(&self, facts: &Facts) -> Vec<Deadline> {
        self.rules
            .iter()
            .filter(|r| r.kind.is_timed())
            .filter_map(|rule| {
                let s = self.applies(rule, facts)?;
                let due = self.due(rule, &s, facts)?;
                Some(Deadline { rule: rule.id, due })
            })
            .collect()
    }

    /// One rule's deadline for these facts, if it has one.
    pub fn deadline(&self, rule: RuleId, facts: &Facts) -> Option<Timestamp> {
        let rule = self.get(rule).filter(|r| r.kind.is_timed())?;
        let s = self.applies(rule, facts)?;
        self.due(rule, &s, facts)
    }

    /// The severity a rule has for these attributes (overrides may change it).
    pub fn severity(&self, rule: RuleId, scope: &Scope) -> Option<Severity> {
        self.get(rule).map(|r| r.settings(scope).severity)
    }

    /// Event rules triggered by one arriving event, filtered by the facts' attributes. A rule
    /// with statuses and reasons needs both to match (`exception` because `damaged`); `unknown`
    /// and `regression` fire on their own.
    pub fn triggered(&self, facts: &Facts, event: &Arrival) -> Vec<RuleId> {
        self.rules
            .iter()
            .filter(|r| r.kind == RuleKind::Event)
            .filter(|rule| {
                if self.applies(rule, facts).is_none() {
                    return false;
                }
                let status_ok = rule.statuses.is_empty() || rule.statuses.contains(&event.status);
                let reason_ok = rule.reasons.is_empty()
                    || event.reason.is_some_and(|r| rule.reasons.contains(&r));
                let matched = !(rule.statuses.is_empty() && rule.reasons.is_empty())
                    && status_ok
                    && reason_ok;
                matched
                    || (rule.unknown && event.status == Status::Unknown)
                    || (rule.regression && event.regression)
            })
            .map(|r| r.id)
            .collect()
    }

    /// Re-checks an open alert of `rule` that fired for the deadline `fired_due`, against newer
    /// facts. The state changed before the deadline (in event time) means the alert should
    /// never have fired: a false positive. Changed after it: cleared. Otherwise it holds.
    ///
    /// "When it left the status" is read from `status_since` (when it entered the current
    /// one). With several late events at once that can be later than the real departure, which
    /// errs towards `Cleared`, never towards a wrong `FalsePositive`.
    pub fn recheck(
        &self,
        rule: RuleId,
        fired_due: Timestamp,
        facts: &Facts,
        now: Timestamp,
    ) -> Verdict {
        let cleared = |reason: String| Verdict::Cleared { reason };
        let false_positive = |reason: String| Verdict::FalsePositive { reason };
        let Some(rule) = self.get(rule) else {
            return cleared("the rule no longer exists".into());
        };
        let Some(s) = self.applies(rule, facts) else {
            return cleared(format!("rule {} no longer applies", rule.name));
        };
        let what = label(&rule.statuses);
        let after = s.after.map(format_duration).unwrap_or_default();
        let in_status = rule.statuses.contains(&facts.status);
        let since = facts.status_since;
        // Left the watched statuses: before or after the deadline?
        let left = || {
            if since < fired_due {
                false_positive(format!(
                    "left {what} at {since}, before the {after} deadline {fired_due}"
                ))
            } else {
                cleared(format!("left {what} at {since}"))
            }
        };
        match rule.kind {
            RuleKind::Dwell | RuleKind::Silence if !in_status => left(),
            RuleKind::Dwell | RuleKind::Silence => match self.due(rule, &s, facts) {
                Some(due) if due <= now => Verdict::Holds,
                due => {
                    let due = due.map_or("never".to_string(), |d| d.to_string());
                    let ev = facts.last_event_at;
                    match (rule.kind, since < fired_due, ev < fired_due) {
                        (RuleKind::Dwell, true, _) => false_positive(format!(
                            "in {} only since {since}: the {after} deadline is {due}, not {fired_due}",
                            facts.status
                        )),
                        (RuleKind::Dwell, false, _) => cleared(format!(
                            "{} since {since}, after the deadline",
                            facts.status
                        )),
                        (_, _, true) => false_positive(format!(
                            "an event at {ev} broke the silence before the {after} deadline {fired_due}"
                        )),
                        (_, _, false) => cleared(format!("an event at {ev} ended the silence")),
                    }
                }
            },
            RuleKind::Promise => {
                let promised = facts
                    .promised_at
                    .map_or(String::new(), |p| format!(" (promised {p})"));
                if facts.status.is_terminal() {
                    let st = facts.status;
                    return if since < fired_due {
                        false_positive(format!(
                            "{st} at {since}, before the deadline {fired_due}{promised}"
                        ))
                    } else {
                        cleared(format!("{st} at {since}{promised}"))
                    };
                }
                if !rule.statuses.is_empty() && !in_status {
                    return left();
                }
                match (facts.promised_at, self.due(rule, &s, facts)) {
                    (None, _) => cleared("the promise was withdrawn".into()),
                    (Some(_), Some(due)) if due <= now => Verdict::Holds,
                    (Some(p), _) => cleared(format!("promise moved to {p}")),
                }
            }
            RuleKind::Event if !rule.statuses.is_empty() && !in_status => {
                cleared(format!("{} since {since}", facts.status))
            }
            RuleKind::Event | RuleKind::Source => Verdict::Holds,
        }
    }

    fn source_rules_for<'s>(
        &'s self,
        src: &'s SourceFacts,
    ) -> impl Iterator<Item = (&'s Rule, Settings<'s>)> {
        self.rules.iter().filter_map(move |rule| {
            if rule.kind != RuleKind::Source
                || !listed(&rule.filter.tenants, Some(src.tenant))
                || !listed(&rule.sources, Some(src.source))
            {
                return None;
            }
            let s = rule.settings(&src.scope());
            s.enabled.then_some((rule, s))
        })
    }

    /// When each source rule's silence window would run out for this partner (the detector can
    /// file these in its timer index instead of polling).
    pub fn source_deadlines(&self, src: &SourceFacts) -> Vec<Deadline> {
        let Some(seen) = src.last_seen() else {
            return Vec::new();
        };
        self.source_rules_for(src)
            .filter_map(|(rule, s)| {
                let due = self.plus(seen, s.after?, s.calendar)?;
                Some(Deadline { rule: rule.id, due })
            })
            .collect()
    }

    fn source_fires(&self, rule: &Rule, s: &Settings, src: &SourceFacts, now: Timestamp) -> bool {
        let silent = match (s.after, src.last_seen()) {
            (Some(after), Some(seen)) => {
                self.plus(seen, after, s.calendar).is_some_and(|d| d <= now)
            }
            _ => false,
        };
        // A NaN rate compares false: no data is not an error.
        let erroring = rule.max_error_rate.is_some_and(|m| src.error_rate_5m > m);
        silent || erroring
    }

    /// Source rules whose condition holds for this partner at `now`.
    pub fn source_rules(&self, src: &SourceFacts, now: Timestamp) -> Vec<RuleId> {
        self.source_rules_for(src)
            .filter(|(rule, s)| self.source_fires(rule, s, src, now))
            .map(|(rule, _)| rule.id)
            .collect()
    }

    /// Re-checks an open source alert: holds while the partner is still silent or erroring.
    pub fn recheck_source(&self, rule: RuleId, src: &SourceFacts, now: Timestamp) -> Verdict {
        let Some((rule, s)) = self.source_rules_for(src).find(|(r, _)| r.id == rule) else {
            return Verdict::Cleared {
                reason: "the rule no longer applies to this source".into(),
            };
        };
        if self.source_fires(rule, &s, src, now) {
            return Verdict::Holds;
        }
        let seen = src
            .last_seen()
            .map_or("never".to_string(), |t| t.to_string());
        Verdict::Cleared {
            reason: format!(
                "{} is healthy again: last seen {seen}, error rate {:.1}%",
                src.source,
                src.error_rate_5m * 100.0
            ),
        }
    }
}

/// A score to sort alerts by impact, higher first:
/// `severity_rank * 1e6 + value_band * 1e3 + urgency`, where
/// - `severity_rank` is 0 (info) ..= 4 (critical), so severity always dominates;
/// - `value_band` is `floor(100 * log10(1 + value))`, capped at 999 (0 when unknown or not
///   positive): an integer, so value strictly dominates urgency; each band is ~2.3 % of value;
/// - `urgency` is `500 * (1 - tanh(hours_to_promise / 48))`, in [0, 1000): 500 at the promise,
///   rising towards 1000 the more overdue, falling towards 0 the further away; 0 with no promise.
pub fn impact(
    severity: Severity,
    order_value: Option<f64>,
    time_to_promise: Option<SignedDuration>,
) -> f64 {
    let value_band = match order_value {
        Some(v) if v > 0.0 => (100.0 * (1.0 + v).log10()).floor().min(999.0),
        _ => 0.0,
    };
    let urgency = time_to_promise.map_or(0.0, |d| {
        let hours = d.as_secs_f64() / 3600.0;
        (500.0 * (1.0 - (hours / 48.0).tanh())).clamp(0.0, 999.999)
    });
    f64::from(severity.rank()) * 1e6 + value_band * 1e3 + urgency
}
