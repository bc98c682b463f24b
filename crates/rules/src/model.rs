//! The validated rule model: what a [`RuleSet`] holds once [`RuleSet::from_toml`] accepted a
//! file. Every value here has been checked; evaluation never re-validates.

use crate::calendar::Calendar;
use crate::error::UnknownName;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use waypost_domain::{Reason, Status};

/// A rule's position in its [`RuleSet`]. Stable only within one loaded set: a reload may
/// renumber, so anything persisted (alerts, timers on disk) should key on [`Rule::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RuleId(pub u16);

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

macro_rules! names {
    ($ty:ident, $what:literal, $($variant:ident = $name:literal),+ $(,)?) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($name),+];
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName { what: $what, value: s.to_string(), valid: $ty::NAMES })
            }
        }
    };
}
pub(crate) use names;

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// In one of `statuses` for longer than `after`, counted from entering the status.
    Dwell,
    /// No event at all for `after` while in one of `statuses`.
    Silence,
    /// The promised delivery instant has passed (or will within `within`) and the subject is
    /// not delivered, returned or cancelled.
    Promise,
    /// Fires when a matching event arrives.
    Event,
    /// A partner sent nothing for `after`, or its 5-minute error rate is above the limit.
    Source,
}
names!(
    RuleKind,
    "kind",
    Dwell = "dwell",
    Silence = "silence",
    Promise = "promise",
    Event = "event",
    Source = "source"
);

impl RuleKind {
    /// Dwell, silence and promise rules have deadlines; event and source rules do not.
    pub fn is_timed(self) -> bool {
        matches!(
            self,
            RuleKind::Dwell | RuleKind::Silence | RuleKind::Promise
        )
    }
}

/// Whether a rule looks at orders or at shipments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Order,
    Shipment,
}
names!(Subject, "subject", Order = "order", Shipment = "shipment");

/// How bad an alert is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    #[default]
    Medium,
    High,
    Critical,
}
names!(
    Severity,
    "severity",
    Info = "info",
    Low = "low",
    Medium = "medium",
    High = "high",
    Critical = "critical"
);

impl Severity {
    /// 0 (info) ..= 4 (critical).
    pub fn rank(self) -> u8 {
        self as u8
    }
}

/// Which subjects a rule applies to. An empty list matches everything; a non-empty list matches
/// only a subject whose value is known and in the list (a rule for carrier `ups` does not fire
/// for a shipment whose carrier is not known yet).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub tenants: Vec<String>,
    pub channels: Vec<String>,
    pub carriers: Vec<String>,
    pub services: Vec<String>,
    pub warehouses: Vec<String>,
    /// Inclusive bounds; a set bound needs a known order value to match.
    pub min_order_value: Option<f64>,
    pub max_order_value: Option<f64>,
}

/// The attributes an override chooses on. For source rules `carrier` is the source's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    pub tenant: &'a str,
    pub channel: Option<&'a str>,
    pub carrier: Option<&'a str>,
}

/// `when = { tenant = "acme", carrier = "fedex" }`: every field set must equal the scope's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct When {
    pub tenant: Option<String>,
    pub channel: Option<String>,
    pub carrier: Option<String>,
}

impl When {
    pub fn matches(&self, scope: &Scope) -> bool {
        fn eq(want: &Option<String>, have: Option<&str>) -> bool {
            want.as_deref().is_none_or(|w| have == Some(w))
        }
        eq(&self.tenant, Some(scope.tenant))
            && eq(&self.channel, scope.channel)
            && eq(&self.carrier, scope.carrier)
    }
}

/// A per-tenant/channel/carrier change to a rule; unset fields keep the rule's value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Override {
    pub when: When,
    pub after: Option<SignedDuration>,
    pub within: Option<SignedDuration>,
    pub severity: Option<Severity>,
    pub enabled: Option<bool>,
    pub calendar: Option<String>,
}

/// A rule's values for one scope, after the first matching override.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings<'r> {
    pub enabled: bool,
    pub after: Option<SignedDuration>,
    pub within: Option<SignedDuration>,
    pub severity: Severity,
    pub calendar: Option<&'r str>,
}

/// One validated rule. Fields that do not apply to the rule's kind are empty/`None`/`false`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: RuleId,
    pub name: String,
    pub kind: RuleKind,
    /// Dwell, silence, promise: what the rule watches (default shipment). Event rules use it
    /// only when the file sets it ([`Rule::subject_is_set`]); source rules have none.
    pub subject: Subject,
    pub severity: Severity,
    pub description: Option<String>,
    pub enabled: bool,
    pub statuses: Vec<Status>,
    /// Event rules only.
    pub reasons: Vec<Reason>,
    /// Event rules: fire on an event whose vendor code is unmapped (status `unknown`).
    pub unknown: bool,
    /// Event rules: fire on an event that caused a regression.
    pub regression: bool,
    /// Dwell/silence: the duration; source: the silence window.
    pub after: Option<SignedDuration>,
    /// Promise: fire this long before the promised instant.
    pub within: Option<SignedDuration>,
    /// Source: fire when the 5-minute error rate is above this (0..1).
    pub max_error_rate: Option<f64>,
    /// Source: which partners (empty = all).
    pub sources: Vec<String>,
    pub calendar: Option<String>,
    pub filter: Filter,
    pub overrides: Vec<Override>,
    pub(crate) subject_set: bool,
}

impl Rule {
    /// Whether the file named a subject (matters for event rules only).
    pub fn subject_is_set(&self) -> bool {
        self.subject_set
    }

    /// The rule's values for `scope`: the first override whose `when` matches, laid over the
    /// rule's own values.
    pub fn settings(&self, scope: &Scope) -> Settings<'_> {
        let base = Settings {
            enabled: self.enabled,
            after: self.after,
            within: self.within,
            severity: self.severity,
            calendar: self.calendar.as_deref(),
        };
        match self.overrides.iter().find(|o| o.when.matches(scope)) {
            None => base,
            Some(o) => Settings {
                enabled: o.enabled.unwrap_or(base.enabled),
                after: o.after.or(base.after),
                within: o.within.or(base.within),
                severity: o.severity.unwrap_or(base.severity),
                calendar: o.calendar.as_deref().or(base.calendar),
            },
        }
    }
}

/// A validated set of rules and the calendars they use.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    pub(crate) calendars: BTreeMap<String, Calendar>,
}

impl RuleSet {
    /// No rules: nothing ever fires.
    pub fn empty() -> RuleSet {
        RuleSet::default()
    }

    /// In file order; `rules()[i].id == RuleId(i)`.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, id: RuleId) -> Option<&Rule> {
        self.rules.get(usize::from(id.0))
    }

    pub fn by_name(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    pub fn calendar(&self, name: &str) -> Option<&Calendar> {
        self.calendars.get(name)
    }

    pub fn calendar_names(&self) -> impl Iterator<Item = &str> {
        self.calendars.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_severity_orders() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>(), Ok(*s));
        }
        for k in RuleKind::ALL {
            assert_eq!(k.as_str().parse::<RuleKind>(), Ok(*k));
        }
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        assert_eq!(Severity::default(), Severity::Medium);
        let e = "urgent".parse::<Severity>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown severity \"urgent\" (valid: info, low, medium, high, critical)"
        );
    }

    #[test]
    fn first_matching_override_wins_over_the_rule() {
        let rule = Rule {
            id: RuleId(0),
            name: "r".into(),
            kind: RuleKind::Dwell,
            subject: Subject::Shipment,
            severity: Severity::Low,
            description: None,
            enabled: true,
            statuses: vec![Status::Pending],
            reasons: vec![],
            unknown: false,
            regression: false,
            after: Some(SignedDuration::from_hours(4)),
            within: None,
            max_error_rate: None,
            sources: vec![],
            calendar: None,
            filter: Filter::default(),
            overrides: vec![
                Override {
                    when: When {
                        tenant: Some("acme".into()),
                        carrier: Some("fedex".into()),
                        ..When::default()
                    },
                    after: Some(SignedDuration::from_hours(6)),
                    ..Override::default()
                },
                Override {
                    when: When {
                        tenant: Some("acme".into()),
                        ..When::default()
                    },
                    severity: Some(Severity::High),
                    enabled: Some(false),
                    ..Override::default()
                },
            ],
            subject_set: false,
        };
        let scope = |carrier| Scope {
            tenant: "acme",
            channel: None,
            carrier,
        };
        let s = rule.settings(&scope(Some("fedex")));
        assert_eq!(s.after, Some(SignedDuration::from_hours(6)));
        assert_eq!(s.severity, Severity::Low);
        assert!(s.enabled);
        let s = rule.settings(&scope(None));
        assert_eq!(s.after, Some(SignedDuration::from_hours(4)));
        assert_eq!((s.severity, s.enabled), (Severity::High, false));
        let other = rule.settings(&Scope {
            tenant: "zeta",
            channel: None,
            carrier: Some("fedex"),
        });
        assert_eq!(other.after, Some(SignedDuration::from_hours(4)));
    }
}
