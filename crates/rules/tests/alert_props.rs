//! The alert lifecycle under any sequence of commands: it never reaches an inconsistent state,
//! every accepted command leaves exactly one audit entry, refused ones change nothing, and
//! nothing follows a resolution.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use waypost_rules::{AlertState, AlertStatus, Command};

fn arb_command() -> impl Strategy<Value = (Command, i64)> {
    let cmd = prop_oneof![
        3 => Just(Command::Trigger),
        2 => Just(Command::Ack),
        1 => prop::sample::select(vec!["bob", "ops", "", "  "]).prop_map(|s| Command::Assign { to: s.into() }),
        2 => (-30i64..120).prop_map(|m| Command::Snooze { until: base().checked_add(SignedDuration::from_mins(m)).unwrap() }),
        1 => prop::sample::select(vec!["fixed", ""]).prop_map(|s| Command::Resolve { note: s.into() }),
        1 => (any::<bool>(), prop::sample::select(vec!["cleared", ""])).prop_map(|(fp, r)| Command::AutoResolve { reason: r.into(), false_positive: fp }),
        2 => Just(Command::Wake),
    ];
    // Each command comes some minutes after the previous one (time never goes back).
    (cmd, 0i64..60)
}

fn base() -> Timestamp {
    "2026-11-27T08:00:00Z".parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn any_sequence_keeps_the_invariants(cmds in prop::collection::vec(arb_command(), 0..40)) {
        let mut now = base();
        let mut state = AlertState::new(now);
        let mut audit = Vec::new();
        let mut accepted = 0usize;
        let mut triggers = 1u32;
        for (cmd, step) in cmds {
            now = now.checked_add(SignedDuration::from_mins(step)).unwrap();
            let before = state.clone();
            let was_resolved = state.status == AlertStatus::Resolved;
            let is_trigger = cmd == Command::Trigger;
            match state.apply(cmd.clone(), "someone", now) {
                Ok(entry) => {
                    prop_assert!(!was_resolved, "{:?} accepted after resolution", cmd);
                    prop_assert_eq!(entry.at, now);
                    prop_assert_eq!(entry.action, cmd.name());
                    prop_assert!(!entry.detail.is_empty());
                    accepted += 1;
                    triggers += u32::from(is_trigger);
                    audit.push(entry);
                }
                Err(e) => {
                    prop_assert_eq!(&state, &before, "refused {:?} ({}) changed the state", cmd, e);
                    prop_assert!(!e.to_string().is_empty());
                }
            }
            prop_assert!(state.is_consistent(), "{:?}", state);
        }
        prop_assert_eq!(audit.len(), accepted);
        prop_assert_eq!(state.triggers, triggers);
    }
}
