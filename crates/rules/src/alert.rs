//! The alert lifecycle, a pure state machine: `open -> acknowledged -> resolved`, with
//! `snoozed` (until an instant) beside them and assignment at any time before resolution.
//!
//! [`AlertState::apply`] either changes the state and returns the audit entry to store with it
//! (who, when, what), or changes nothing and says why. The caller persists both in one write;
//! this module never does I/O. Invariants, checked by [`AlertState::is_consistent`] and a
//! property test: `snoozed` iff `snoozed_until` is set, `resolved` iff `resolution` is set,
//! and nothing follows `resolved` (a new trigger opens a new alert).

use crate::error::UnknownName;
use crate::model::names;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Snoozed,
    Resolved,
}
names!(
    AlertStatus,
    "alert status",
    Open = "open",
    Acknowledged = "acknowledged",
    Snoozed = "snoozed",
    Resolved = "resolved"
);

/// How an alert ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Resolution {
    /// A person resolved it, with a note.
    ByPerson { note: String },
    /// The condition cleared; `false_positive` when late facts showed it never held.
    Auto {
        reason: String,
        false_positive: bool,
    },
}

/// What someone (a person, or the detector) asks of an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The rule fired again for the same subject.
    Trigger,
    Ack,
    /// To a person or a team; any non-empty name.
    Assign {
        to: String,
    },
    Snooze {
        until: Timestamp,
    },
    Resolve {
        note: String,
    },
    AutoResolve {
        reason: String,
        false_positive: bool,
    },
    /// The snooze ran out.
    Wake,
}

impl Command {
    /// The audit action and the name in errors.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Trigger => "trigger",
            Command::Ack => "ack",
            Command::Assign { .. } => "assign",
            Command::Snooze { .. } => "snooze",
            Command::Resolve { .. } => "resolve",
            Command::AutoResolve { .. } => "auto_resolve",
            Command::Wake => "wake",
        }
    }
}

/// One line of an alert's audit trail. Serialize-only: `action` is a static name, a store
/// reads it back through its own row type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: String,
    /// The command's name (`ack`, `snooze`, ...), or `open` for the first entry.
    pub action: &'static str,
    /// Human-readable: "snoozed until 2026-11-27T09:00:00Z", "assigned to ops (was bob)".
    pub detail: String,
}

/// Why a command was refused. The state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("cannot {command} an alert that is {status}")]
    NotAllowed {
        command: &'static str,
        status: AlertStatus,
    },
    #[error("cannot {command} with an empty {what}")]
    Empty {
        command: &'static str,
        what: &'static str,
    },
    #[error("cannot snooze until {until}: it is not after now ({now})")]
    SnoozeNotInFuture { until: Timestamp, now: Timestamp },
    #[error("cannot wake an alert snoozed until {until} at {now}")]
    StillSnoozed { until: Timestamp, now: Timestamp },
}

/// An alert's lifecycle state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    pub status: AlertStatus,
    pub snoozed_until: Option<Timestamp>,
    pub assignee: Option<String>,
    /// How many times the rule fired for this alert (1 when opened).
    pub triggers: u32,
    pub last_triggered: Timestamp,
    pub resolution: Option<Resolution>,
}

impl AlertState {
    /// A new open alert, triggered once at `at`.
    pub fn new(at: Timestamp) -> Self {
        AlertState {
            status: AlertStatus::Open,
            snoozed_until: None,
            assignee: None,
            triggers: 1,
            last_triggered: at,
            resolution: None,
        }
    }

    /// A new open alert and the first entry of its audit trail.
    pub fn open(at: Timestamp, actor: &str, detail: impl Into<String>) -> (Self, AuditEntry) {
        let entry = AuditEntry {
            at,
            actor: actor.to_string(),
            action: "open",
            detail: detail.into(),
        };
        (AlertState::new(at), entry)
    }

    /// The lifecycle's invariants hold (always true for states built by `new` and `apply`).
    pub fn is_consistent(&self) -> bool {
        let snooze_ok = (self.status == AlertStatus::Snoozed) == self.snoozed_until.is_some();
        let resolved_ok = (self.status == AlertStatus::Resolved) == self.resolution.is_some();
        snooze_ok && resolved_ok && self.triggers >= 1
    }

    /// Applies `cmd` by `actor` at `now`. On success the state has changed and the returned
    /// entry describes the change; on error nothing changed.
    pub fn apply(
        &mut self,
        cmd: Command,
        actor: &str,
        now: Timestamp,
    ) -> Result<AuditEntry, TransitionError> {
        use AlertStatus::*;
        let command = cmd.name();
        let refuse = |status| Err(TransitionError::NotAllowed { command, status });
        if self.status == Resolved {
            return refuse(Resolved);
        }
        let detail = match cmd {
            Command::Trigger => {
                self.triggers = self.triggers.saturating_add(1);
                self.last_triggered = now;
                format!("triggered again ({} times)", self.triggers)
            }
            Command::Ack => {
                if self.status == Acknowledged {
                    return refuse(Acknowledged);
                }
                self.status = Acknowledged;
                self.snoozed_until = None;
                "acknowledged".to_string()
            }
            Command::Assign { to } => {
                let to = to.trim();
                if to.is_empty() {
                    return Err(TransitionError::Empty {
                        command,
                        what: "assignee",
                    });
                }
                let detail = match &self.assignee {
                    Some(was) => format!("assigned to {to} (was {was})"),
                    None => format!("assigned to {to}"),
                };
                self.assignee = Some(to.to_string());
                detail
            }
            Command::Snooze { until } => {
                if until <= now {
                    return Err(TransitionError::SnoozeNotInFuture { until, now });
                }
                self.status = Snoozed;
                self.snoozed_until = Some(until);
                format!("snoozed until {until}")
            }
            Command::Wake => {
                // A wake before the snooze ends is a stale timer (the snooze was extended):
                // refusing it keeps the alert snoozed as the person asked.
                match self.snoozed_until {
                    None => return refuse(self.status),
                    Some(until) if now < until => {
                        return Err(TransitionError::StillSnoozed { until, now });
                    }
                    Some(until) => {
                        self.status = Open;
                        self.snoozed_until = None;
                        format!("snooze until {until} ended")
                    }
                }
            }
            Command::Resolve { note } => {
                let note = note.trim();
                if note.is_empty() {
                    return Err(TransitionError::Empty {
                        command,
                        what: "note",
                    });
                }
                let detail = format!("resolved: {note}");
                self.resolve(Resolution::ByPerson {
                    note: note.to_string(),
                });
                detail
            }
            Command::AutoResolve {
                reason,
                false_positive,
            } => {
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(TransitionError::Empty {
                        command,
                        what: "reason",
                    });
                }
                let detail = if false_positive {
                    format!("resolved automatically as a false positive: {reason}")
                } else {
                    format!("resolved automatically: {reason}")
                };
                self.resolve(Resolution::Auto {
                    reason: reason.to_string(),
                    false_positive,
                });
                detail
            }
        };
        Ok(AuditEntry {
            at: now,
            actor: actor.to_string(),
            action: command,
            detail,
        })
    }

    fn resolve(&mut self, resolution: Resolution) {
        self.status = AlertStatus::Resolved;
        self.snoozed_until = None;
        self.resolution = Some(resolution);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_common_path_leaves_a_readable_trail() {
        let t0 = t("2026-11-27T08:00:00Z");
        let (mut a, first) = AlertState::open(t0, "detector", "pending for 4h");
        assert_eq!(first.action, "open");
        let trail: Vec<_> = [
            (Command::Trigger, "detector", "2026-11-27T08:05:00Z"),
            (
                Command::Assign { to: "bob".into() },
                "alice",
                "2026-11-27T08:10:00Z",
            ),
            (Command::Ack, "bob", "2026-11-27T08:11:00Z"),
            (
                Command::Snooze {
                    until: t("2026-11-27T12:00:00Z"),
                },
                "bob",
                "2026-11-27T08:12:00Z",
            ),
            (Command::Wake, "detector", "2026-11-27T12:00:00Z"),
            (
                Command::Assign { to: "ops".into() },
                "bob",
                "2026-11-27T12:01:00Z",
            ),
            (
                Command::Resolve {
                    note: "called the warehouse".into(),
                },
                "bob",
                "2026-11-27T13:00:00Z",
            ),
        ]
        .into_iter()
        .map(|(cmd, who, at)| a.apply(cmd, who, t(at)).unwrap())
        .map(|e| format!("{} {} {}", e.actor, e.action, e.detail))
        .collect();
        assert_eq!(
            trail,
            [
                "detector trigger triggered again (2 times)",
                "alice assign assigned to bob",
                "bob ack acknowledged",
                "bob snooze snoozed until 2026-11-27T12:00:00Z",
                "detector wake snooze until 2026-11-27T12:00:00Z ended",
                "bob assign assigned to ops (was bob)",
                "bob resolve resolved: called the warehouse",
            ]
        );
        assert_eq!(a.status, AlertStatus::Resolved);
        assert!(a.is_consistent());
    }

    #[test]
    fn refusals_say_what_and_change_nothing() {
        let t0 = t("2026-11-27T08:00:00Z");
        let mut a = AlertState::new(t0);
        a.apply(Command::Ack, "bob", t0).unwrap();
        let before = a.clone();
        let e = a.apply(Command::Ack, "bob", t0).unwrap_err();
        assert_eq!(e.to_string(), "cannot ack an alert that is acknowledged");
        let e = a
            .apply(Command::Snooze { until: t0 }, "bob", t0)
            .unwrap_err();
        assert!(matches!(e, TransitionError::SnoozeNotInFuture { .. }));
        let e = a
            .apply(Command::Resolve { note: "  ".into() }, "bob", t0)
            .unwrap_err();
        assert_eq!(e.to_string(), "cannot resolve with an empty note");
        assert_eq!(
            a.apply(Command::Wake, "x", t0).unwrap_err().to_string(),
            "cannot wake an alert that is acknowledged"
        );
        assert_eq!(a, before);
    }

    #[test]
    fn resolved_is_terminal_and_trigger_does_not_reopen() {
        let t0 = t("2026-11-27T08:00:00Z");
        let mut a = AlertState::new(t0);
        let e = a
            .apply(
                Command::AutoResolve {
                    reason: "left pending at 2026-11-27T07:00:00Z".into(),
                    false_positive: true,
                },
                "detector",
                t0,
            )
            .unwrap();
        assert!(
            e.detail
                .starts_with("resolved automatically as a false positive: ")
        );
        for cmd in [
            Command::Trigger,
            Command::Ack,
            Command::Wake,
            Command::Assign { to: "x".into() },
        ] {
            let e = a.apply(cmd, "x", t0).unwrap_err();
            assert!(matches!(
                e,
                TransitionError::NotAllowed {
                    status: AlertStatus::Resolved,
                    ..
                }
            ));
        }
    }

    #[test]
    fn an_early_wake_is_a_stale_timer() {
        let t0 = t("2026-11-27T08:00:00Z");
        let mut a = AlertState::new(t0);
        a.apply(
            Command::Snooze {
                until: t("2026-11-27T10:00:00Z"),
            },
            "bob",
            t0,
        )
        .unwrap();
        // Re-snoozed later: the wake for 10:00 must not end the new snooze.
        a.apply(
            Command::Snooze {
                until: t("2026-11-27T12:00:00Z"),
            },
            "bob",
            t0,
        )
        .unwrap();
        let e = a
            .apply(Command::Wake, "detector", t("2026-11-27T10:00:00Z"))
            .unwrap_err();
        assert!(matches!(e, TransitionError::StillSnoozed { .. }));
        assert_eq!(a.status, AlertStatus::Snoozed);
        // A trigger while snoozed counts but stays snoozed.
        a.apply(Command::Trigger, "detector", t("2026-11-27T11:00:00Z"))
            .unwrap();
        assert_eq!((a.status, a.triggers), (AlertStatus::Snoozed, 2));
    }

    #[test]
    fn status_names_round_trip() {
        for s in AlertStatus::ALL {
            assert_eq!(s.as_str().parse::<AlertStatus>(), Ok(*s));
        }
        assert!("closed".parse::<AlertStatus>().is_err());
    }
}
