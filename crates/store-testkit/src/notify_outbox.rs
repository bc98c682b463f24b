//! The outbox's contract: per-order FIFO, the dispatcher's marks, replay, and a model of any history, run by `suite!` through `notify::cases!`.

use super::*;
use crate::alerts::{at, tenant};
use crate::notify::*;

pub fn due_ids(b: &Store, until: Timestamp) -> Vec<i64> {
    let rows = b.reader.outbox_due(P0, until, 100).unwrap();
    rows.iter().map(|r| r.id).collect()
}

pub fn outbox_due_keeps_per_order_fifo(new: fn() -> Store) {
    let mut b = new();
    let ep = endpoint(&mut b, "t", "hook");
    // Inserted in this order: ids ascend.
    let ids = b
        .writer
        .outbox_insert(&[
            new_row("t", "O1", 1, 1, ep.id, 5), // a: O1/s1 head, due at 5
            new_row("t", "O1", 2, 1, ep.id, 0), // b: behind a (due no earlier than a)
            new_row("t", "O2", 1, 1, ep.id, 1), // c: another order
            new_row("t", "O1", 1, 2, ep.id, 2), // d: another subscription
        ])
        .unwrap();
    let [a, bb, c, d] = ids[..] else {
        panic!("{ids:?}")
    };
    assert!(due_ids(&b, at(0)).is_empty());
    assert_eq!(due_ids(&b, at(2)), [c, d]);
    // a is due at 5; b, though planned due at 0, never before the row it follows.
    assert_eq!(due_ids(&b, at(10)), [c, d, a]);
    assert_eq!(b.reader.outbox_next_due(P0).unwrap(), Some(at(1)));
    let b_row = b.reader.outbox_row(&tenant("t"), bb).unwrap().unwrap();
    assert_eq!(b_row.next_at, at(5));
    // a retried to 20: b stays behind it, not due before 20 either.
    b.writer
        .outbox_mark(
            &[OutboxMark::Retry {
                id: a,
                attempt: attempt(1, Some(503), Some("unavailable")),
                next: at(20),
            }],
            at(6),
        )
        .unwrap();
    assert_eq!(due_ids(&b, at(19)), [c, d]);
    assert_eq!(due_ids(&b, at(20)), [c, d, a]);
    b.writer
        .outbox_mark(
            &[
                OutboxMark::Sent {
                    id: c,
                    attempt: attempt(1, Some(200), None),
                },
                OutboxMark::Sent {
                    id: d,
                    attempt: attempt(1, Some(200), None),
                },
            ],
            at(7),
        )
        .unwrap();
    assert_eq!(b.reader.outbox_next_due(P0).unwrap(), Some(at(20)));
    // Once a is sent, b is next.
    b.writer
        .outbox_mark(
            &[OutboxMark::Sent {
                id: a,
                attempt: attempt(2, Some(200), None),
            }],
            at(21),
        )
        .unwrap();
    assert_eq!(due_ids(&b, at(21)), [bb]);
    assert!(b.reader.outbox_due(P0, at(21), 0).unwrap().is_empty());
    // A newer row of the order waits behind b, due no earlier than b.
    let e = b
        .writer
        .outbox_insert(&[new_row("t", "O1", 3, 1, ep.id, 0)])
        .unwrap()[0];
    assert_eq!(due_ids(&b, at(21)), [bb]);
    assert_eq!(
        b.reader
            .outbox_row(&tenant("t"), e)
            .unwrap()
            .unwrap()
            .next_at,
        at(20)
    );
}

pub fn every_mark_does_what_it_says(new: fn() -> Store) {
    let mut b = new();
    let t = tenant("t");
    let ep = endpoint(&mut b, "t", "hook");
    let ids = b
        .writer
        .outbox_insert(
            &(1..=6)
                .map(|i| new_row("t", &format!("O{i}"), 1, 1, ep.id, 0))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let row = |b: &Store, id: i64| b.reader.outbox_row(&t, id).unwrap().unwrap();
    let marks = [
        OutboxMark::Sent {
            id: ids[0],
            attempt: attempt(9, Some(204), None),
        },
        OutboxMark::Retry {
            id: ids[1],
            attempt: attempt(1, None, Some("timed out")),
            next: at(30),
        },
        OutboxMark::Defer {
            id: ids[2],
            next: at(40),
        },
        OutboxMark::Dead {
            id: ids[3],
            attempt: Some(attempt(1, Some(410), Some("gone"))),
        },
        OutboxMark::Dead {
            id: ids[4],
            attempt: None,
        },
        OutboxMark::Skipped {
            id: ids[5],
            why: "customer opted out of webhook".into(),
        },
        OutboxMark::SpendAdd {
            tenant: t.clone(),
            day: "2026-01-01".into(),
            segments: 2,
            cents: 16,
        },
        OutboxMark::SpendAdd {
            tenant: t.clone(),
            day: "2026-01-01".into(),
            segments: 1,
            cents: 8,
        },
        // A report on a row the store does not have is passed over.
        OutboxMark::Defer {
            id: 999_999,
            next: at(1),
        },
    ];
    b.writer.outbox_mark(&marks, at(10)).unwrap();

    let sent = row(&b, ids[0]);
    assert_eq!(
        (sent.state.as_str(), sent.attempts, sent.done_at),
        ("sent", 1, Some(at(10)))
    );
    assert_eq!((sent.last_code, sent.last_error), (Some(204), None));
    let entry = &log(&b, "t", "O1")[0];
    // Numbered by the store, not by the mark.
    assert_eq!(
        entry.attempts,
        vec![AttemptRow {
            outbox_id: ids[0],
            n: 1,
            ..attempt(1, Some(204), None)
        }]
    );

    let retry = row(&b, ids[1]);
    assert_eq!(
        (retry.state.as_str(), retry.attempts, retry.next_at),
        ("pending", 1, at(30))
    );
    assert_eq!(
        (retry.last_code, retry.last_error.as_deref()),
        (None, Some("timed out"))
    );
    assert_eq!(log(&b, "t", "O2")[0].attempts.len(), 1);

    let deferred = row(&b, ids[2]);
    assert_eq!(
        (deferred.state.as_str(), deferred.attempts, deferred.next_at),
        ("pending", 0, at(40))
    );
    assert!(log(&b, "t", "O3")[0].attempts.is_empty());

    let dead = row(&b, ids[3]);
    assert_eq!(
        (dead.state.as_str(), dead.attempts, dead.done_at),
        ("dead", 1, Some(at(10)))
    );
    assert_eq!(
        (dead.last_code, dead.last_error.as_deref()),
        (Some(410), Some("gone"))
    );
    let dead_bare = row(&b, ids[4]);
    assert_eq!((dead_bare.state.as_str(), dead_bare.attempts), ("dead", 0));
    let dead_letters = b.reader.outbox_dead(&t, 0, 10).unwrap();
    assert_eq!(
        dead_letters.iter().map(|e| e.row.id).collect::<Vec<_>>(),
        [ids[3], ids[4]]
    );
    assert_eq!(dead_letters[0].attempts.len(), 1);
    assert_eq!(b.reader.outbox_dead(&t, ids[3], 10).unwrap().len(), 1);
    assert_eq!(b.reader.outbox_dead(&t, 0, 1).unwrap().len(), 1);

    let skipped = row(&b, ids[5]);
    assert_eq!(
        (skipped.state.as_str(), skipped.done_at),
        ("skipped", Some(at(10)))
    );
    assert_eq!(
        skipped.last_error.as_deref(),
        Some("customer opted out of webhook")
    );

    assert_eq!(b.reader.sms_spent(&t, "2026-01-01").unwrap(), (3, 24));
    assert_eq!(b.reader.sms_spent(&t, "2026-01-02").unwrap(), (0, 0));

    // Finished rows are not moved back by a late report; Sent always ends a row as sent.
    b.writer
        .outbox_mark(
            &[
                OutboxMark::Retry {
                    id: ids[3],
                    attempt: attempt(2, Some(500), None),
                    next: at(50),
                },
                OutboxMark::Skipped {
                    id: ids[0],
                    why: "late".into(),
                },
                OutboxMark::Sent {
                    id: ids[5],
                    attempt: attempt(1, Some(200), None),
                },
            ],
            at(11),
        )
        .unwrap();
    assert_eq!(row(&b, ids[3]).state, "dead");
    assert_eq!(
        row(&b, ids[3]).attempts,
        2,
        "the attempt happened and is logged"
    );
    assert_eq!(row(&b, ids[0]).state, "sent");
    assert_eq!(row(&b, ids[5]).state, "sent");

    // The breaker: disabled, then recovered (pending rows due now, not at their backoff).
    b.writer
        .outbox_mark(
            &[OutboxMark::EndpointDisabled {
                endpoint_id: ep.id,
                reason: "410 Gone".into(),
            }],
            at(12),
        )
        .unwrap();
    let disabled = b.reader.endpoint(&t, ep.id).unwrap().unwrap();
    assert_eq!(
        (disabled.enabled, disabled.disabled_reason.as_deref()),
        (false, Some("410 Gone"))
    );
    assert_eq!(disabled.updated_at, at(12));
    b.writer
        .outbox_mark(
            &[OutboxMark::EndpointRecovered {
                endpoint_id: ep.id,
                now: at(13),
            }],
            at(13),
        )
        .unwrap();
    assert_eq!(row(&b, ids[1]).next_at, at(13));
    assert_eq!(row(&b, ids[2]).next_at, at(13));
    assert_eq!(due_ids(&b, at(13)), [ids[1], ids[2]]);

    let counts = b.reader.outbox_counts().unwrap();
    let n = |s: &str| {
        counts
            .iter()
            .find(|c| c.0 == "t" && c.1 == s)
            .map_or(0, |c| c.2)
    };
    assert_eq!(
        (n("pending"), n("sent"), n("dead"), n("skipped")),
        (2, 2, 2, 0)
    );
    // A state once counted stays listed, at 0.
    assert!(counts.iter().any(|c| c.1 == "skipped"));
}

pub fn replay_revives_dead_and_skipped_rows_only(new: fn() -> Store) {
    let mut b = new();
    let t = tenant("t");
    let ep = endpoint(&mut b, "t", "hook");
    let ids = b
        .writer
        .outbox_insert(
            &(1..=4)
                .map(|i| new_row("t", &format!("O{i}"), 1, 1, ep.id, 0))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    b.writer
        .outbox_mark(
            &[
                OutboxMark::Dead {
                    id: ids[0],
                    attempt: Some(attempt(1, Some(400), Some("bad"))),
                },
                OutboxMark::Skipped {
                    id: ids[1],
                    why: "spend cap".into(),
                },
                OutboxMark::Sent {
                    id: ids[2],
                    attempt: attempt(1, Some(200), None),
                },
            ],
            at(5),
        )
        .unwrap();
    let back = b.writer.outbox_replay(&t, ids[0], at(60)).unwrap().unwrap();
    assert_eq!(
        (
            back.state.as_str(),
            back.attempts,
            back.next_at,
            back.done_at
        ),
        // The retry schedule starts afresh; the attempt log keeps the earlier attempt.
        ("pending", 0, at(60), None)
    );
    assert_eq!(back.last_error.as_deref(), Some("bad"), "its history stays");
    assert_eq!(
        b.writer
            .outbox_replay(&t, ids[1], at(60))
            .unwrap()
            .unwrap()
            .state,
        "pending"
    );
    // Sent, pending, unknown, or another tenant's: nothing to replay.
    assert!(
        b.writer
            .outbox_replay(&t, ids[2], at(60))
            .unwrap()
            .is_none()
    );
    assert!(
        b.writer
            .outbox_replay(&t, ids[3], at(60))
            .unwrap()
            .is_none()
    );
    assert!(b.writer.outbox_replay(&t, 999, at(60)).unwrap().is_none());
    assert!(
        b.writer
            .outbox_replay(&tenant("u"), ids[0], at(60))
            .unwrap()
            .is_none()
    );
    assert!(b.reader.outbox_dead(&t, 0, 10).unwrap().is_empty());
    assert_eq!(due_ids(&b, at(60)), [ids[3], ids[0], ids[1]]);
    // Its attempt log continues from where it was.
    b.writer
        .outbox_mark(
            &[OutboxMark::Sent {
                id: ids[0],
                attempt: attempt(1, Some(200), None),
            }],
            at(61),
        )
        .unwrap();
    let attempts = &log(&b, "t", "O1")[0].attempts;
    assert_eq!(attempts.iter().map(|a| a.n).collect::<Vec<_>>(), [1, 2]);
}

/// One step of the outbox model: a new notification, or a report on the `pick`-th pending row.
#[derive(Debug, Clone)]
pub enum Op {
    Insert { order: u8, sub: u8, due: i64 },
    Sent { pick: usize },
    Retry { pick: usize, next: i64 },
    Defer { pick: usize, next: i64 },
    Dead { pick: usize },
    Replay { pick: usize },
    Recover { now: i64 },
}

pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..3, 0u8..2, 0i64..50).prop_map(|(order, sub, due)| Op::Insert { order, sub, due }),
        2 => any::<usize>().prop_map(|pick| Op::Sent { pick }),
        2 => (any::<usize>(), 0i64..80).prop_map(|(pick, next)| Op::Retry { pick, next }),
        1 => (any::<usize>(), 0i64..80).prop_map(|(pick, next)| Op::Defer { pick, next }),
        1 => any::<usize>().prop_map(|pick| Op::Dead { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Replay { pick }),
        1 => (0i64..80).prop_map(|now| Op::Recover { now }),
    ]
}

/// Any history of inserts and reports keeps: outbox_due never hands out a row with an older
/// pending sibling (same subscription and order), a pending row is never due before an older
/// sibling, and outbox_next_due is the earliest time outbox_due hands anything out.
pub fn outbox_model(new: fn() -> Store, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut b = new();
    let t = tenant("t");
    let ep = endpoint(&mut b, "t", "hook");
    let mut seq = 0;
    for op in ops {
        let all: Vec<OutboxRow> = (0..3)
            .flat_map(|o| log(&b, "t", &format!("O{o}")))
            .map(|e| e.row)
            .collect();
        let pick = |k: usize, state: &[&str]| {
            let c: Vec<&OutboxRow> = all
                .iter()
                .filter(|r| state.contains(&r.state.as_str()))
                .collect();
            (!c.is_empty()).then(|| c[k % c.len()].id)
        };
        let a = attempt(1, Some(500), None);
        let mark = match op {
            Op::Insert { order, sub, due } => {
                seq += 1;
                b.writer
                    .outbox_insert(&[new_row(
                        "t",
                        &format!("O{order}"),
                        seq,
                        i64::from(sub),
                        ep.id,
                        due,
                    )])
                    .unwrap();
                None
            }
            Op::Sent { pick: k } => {
                pick(k, &["pending"]).map(|id| OutboxMark::Sent { id, attempt: a })
            }
            Op::Retry { pick: k, next } => pick(k, &["pending"]).map(|id| OutboxMark::Retry {
                id,
                attempt: a,
                next: at(next),
            }),
            Op::Defer { pick: k, next } => {
                pick(k, &["pending"]).map(|id| OutboxMark::Defer { id, next: at(next) })
            }
            Op::Dead { pick: k } => {
                pick(k, &["pending"]).map(|id| OutboxMark::Dead { id, attempt: None })
            }
            Op::Replay { pick: k } => {
                if let Some(id) = pick(k, &["dead"]) {
                    prop_assert!(b.writer.outbox_replay(&t, id, at(25)).unwrap().is_some());
                }
                None
            }
            Op::Recover { now } => Some(OutboxMark::EndpointRecovered {
                endpoint_id: ep.id,
                now: at(now),
            }),
        };
        if let Some(m) = mark {
            b.writer.outbox_mark(&[m], at(1)).unwrap();
        }
        let all: Vec<OutboxRow> = (0..3)
            .flat_map(|o| log(&b, "t", &format!("O{o}")))
            .map(|e| e.row)
            .collect();
        let pending: Vec<&OutboxRow> = all.iter().filter(|r| r.state == "pending").collect();
        let older = |r: &OutboxRow| {
            pending
                .iter()
                .filter(|p| {
                    p.subscription_id == r.subscription_id
                        && p.order_id == r.order_id
                        && p.id < r.id
                })
                .copied()
                .collect::<Vec<_>>()
        };
        for r in &pending {
            for p in older(r) {
                prop_assert!(
                    p.next_at <= r.next_at,
                    "{} due before its elder {}",
                    r.id,
                    p.id
                );
            }
        }
        let due = b.reader.outbox_due(P0, far(), 1000).unwrap();
        let mut heads: Vec<i64> = pending
            .iter()
            .filter(|r| older(r).is_empty())
            .map(|r| r.id)
            .collect();
        heads.sort_unstable();
        let mut got: Vec<i64> = due.iter().map(|r| r.id).collect();
        got.sort_unstable();
        prop_assert_eq!(got, heads);
        prop_assert!(
            due.windows(2)
                .all(|w| (w[0].next_at, w[0].id) < (w[1].next_at, w[1].id))
        );
        let next = b.reader.outbox_next_due(P0).unwrap();
        prop_assert_eq!(next, due.first().map(|r| r.next_at));
        if let Some(n) = next {
            prop_assert!(!b.reader.outbox_due(P0, n, 1).unwrap().is_empty());
        }
    }
    Ok(())
}
