//! The notifications contract (`apply_with`, the outbox, endpoints, subscriptions, contacts),
//! run by `suite!` against every backend through [`cases!`].

use super::*;
use crate::alerts::{at, tenant};
use crate::notify_config::contact_row;
use crate::notify_outbox::due_ids;

#[doc(hidden)]
#[macro_export]
macro_rules! notify_cases {
    ($backend:ident) => {
        #[test]
        fn apply_with_writes_a_changes_notifications_with_it() {
            $crate::notify::apply_with_writes_a_changes_notifications_with_it(super::$backend);
        }
        #[test]
        fn a_refused_plan_writes_neither_the_change_nor_its_rows() {
            $crate::notify::a_refused_plan_writes_neither_the_change_nor_its_rows(super::$backend);
        }
        #[test]
        fn msg_id_is_the_idempotency_key() {
            $crate::notify::msg_id_is_the_idempotency_key(super::$backend);
        }
        #[test]
        fn outbox_due_keeps_per_order_fifo() {
            $crate::notify_outbox::outbox_due_keeps_per_order_fifo(super::$backend);
        }
        #[test]
        fn every_mark_does_what_it_says() {
            $crate::notify_outbox::every_mark_does_what_it_says(super::$backend);
        }
        #[test]
        fn replay_revives_dead_and_skipped_rows_only() {
            $crate::notify_outbox::replay_revives_dead_and_skipped_rows_only(super::$backend);
        }
        #[test]
        fn deleting_an_endpoint_takes_its_subscriptions_and_skips_its_rows() {
            $crate::notify_config::deleting_an_endpoint_takes_its_subscriptions_and_skips_its_rows(
                super::$backend,
            );
        }
        #[test]
        fn names_are_unique_per_tenant_and_endpoints_stay_in_their_tenant() {
            $crate::notify_config::names_are_unique_per_tenant_and_endpoints_stay_in_their_tenant(
                super::$backend,
            );
        }
        #[test]
        fn contacts_are_kept_paged_and_checked() {
            $crate::notify_config::contacts_are_kept_paged_and_checked(super::$backend);
        }
        #[test]
        fn notifications_are_tenant_scoped() {
            $crate::notify_config::notifications_are_tenant_scoped(super::$backend);
        }
        #[test]
        fn customer_fields_are_latest_by_event_time_and_tags_a_union() {
            $crate::notify::customer_fields_are_latest_by_event_time_and_tags_a_union(
                super::$backend,
            );
        }
        #[test]
        fn notifications_survive_reopen() {
            $crate::notify::notifications_survive_reopen(super::$backend);
        }
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            #[test]
            fn any_outbox_history_keeps_fifo_and_a_truthful_next_due(
                ops in prop::collection::vec($crate::notify_outbox::op(), 1..60),
            ) {
                $crate::notify_outbox::outbox_model(super::$backend, ops)?;
            }
        }
    };
}

pub fn endpoint(b: &mut Store, t: &str, name: &str) -> EndpointRow {
    b.writer
        .put_endpoint(&EndpointRow {
            id: 0,
            tenant: tenant(t),
            name: name.into(),
            kind: "webhook".into(),
            spec: r#"{"kind":"webhook","url":"https://example.com/hook"}"#.into(),
            enabled: true,
            disabled_reason: None,
            created_at: at(0),
            updated_at: at(0),
        })
        .unwrap()
}

pub fn subscription_row(t: &str, name: &str, endpoint_id: i64) -> SubscriptionRow {
    SubscriptionRow {
        id: 0,
        tenant: tenant(t),
        name: name.into(),
        endpoint_id,
        triggers: r#"["shipped","delivered"]"#.into(),
        filter: "{}".into(),
        enabled: true,
        created_at: at(0),
    }
}

pub fn subscription(b: &mut Store, t: &str, name: &str, endpoint_id: i64) -> SubscriptionRow {
    b.writer
        .put_subscription(&subscription_row(t, name, endpoint_id))
        .unwrap()
}

/// A row for `order` of tenant `t`, as an alert's notification or a test send would be.
pub fn new_row(t: &str, order: &str, seq: u64, sub: i64, endpoint_id: i64, due: i64) -> NewOutbox {
    NewOutbox {
        tenant: tenant(t),
        order_id: order.into(),
        seq,
        subscription_id: sub,
        endpoint_id,
        kind: "webhook".into(),
        trigger: "shipped".into(),
        msg_id: format!("msg_{t}_{order}_{seq}_{sub}"),
        payload: format!(r#"{{"order_id":"{order}","seq":{seq}}}"#),
        not_before: at(due),
    }
}

/// One row per change and subscription; remembers what it was shown.
pub struct Planner {
    pub endpoint_id: i64,
    pub subs: Vec<i64>,
    /// Plans rows of this tenant instead of the change's (a planner's bug).
    pub wrong_tenant: Option<String>,
    pub seen: Vec<(Change, OrderAttrs)>,
}

impl Planner {
    pub fn new(endpoint_id: i64, subs: Vec<i64>) -> Self {
        Planner {
            endpoint_id,
            subs,
            wrong_tenant: None,
            seen: Vec::new(),
        }
    }
}

impl OutboxPlanner for Planner {
    fn plan(&mut self, change: &Change, attrs: &OrderAttrs) -> Vec<NewOutbox> {
        self.seen.push((change.clone(), attrs.clone()));
        let t = self.wrong_tenant.as_deref().unwrap_or(&change.tenant);
        self.subs
            .iter()
            .map(|s| {
                let mut row = new_row(t, &change.order_id, change.seq, *s, self.endpoint_id, 0);
                row.trigger = change.status.clone();
                row.not_before = change.changed_at;
                row
            })
            .collect()
    }
}

pub fn stored(b: &mut Store, subs: &[Submission]) -> Vec<StoredEvent> {
    let out = b.writer.append(subs).unwrap();
    out.iter().flat_map(|o| o.stored.clone()).collect()
}

/// An order's delivery log; every entry of it also reads alone, and only by its tenant.
pub fn log(b: &Store, t: &str, order: &str) -> Vec<DeliveryLogEntry> {
    let entries = b.reader.delivery_log(&tenant(t), order).unwrap();
    for e in &entries {
        let alone = b.reader.delivery_entry(&tenant(t), e.row.id).unwrap();
        assert_eq!(alone.as_ref(), Some(e));
        let other = if t == "zz-other" {
            "zz-else"
        } else {
            "zz-other"
        };
        assert_eq!(
            b.reader.delivery_entry(&tenant(other), e.row.id).unwrap(),
            None
        );
    }
    entries
}

pub fn far() -> Timestamp {
    at(100_000)
}

pub fn attempt(n: u32, code: Option<u16>, error: Option<&str>) -> AttemptRow {
    AttemptRow {
        outbox_id: 0,
        n,
        started_at: at(1),
        latency_ms: 42,
        code,
        error: error.map(str::to_string),
    }
}

pub fn apply_with_writes_a_changes_notifications_with_it(new: fn() -> Store) {
    let mut b = new();
    let ep = endpoint(&mut b, "t", "hook");
    let s1 = subscription(&mut b, "t", "s1", ep.id);
    let s2 = subscription(&mut b, "t", "s2", ep.id);
    let mut e = ev("1", "O1", Some("T1"), Status::Shipped, 1);
    e.attributes.insert("customer_id".into(), "c-1".into());
    e.attributes
        .insert("tags".into(), serde_json::json!(["vip", "gift"]));
    let evs = stored(&mut b, &[sub("t", vec![e])]);
    let mut planner = Planner::new(ep.id, vec![s1.id, s2.id]);
    let changes = b.writer.apply_with(P0, &evs, now(), &mut planner).unwrap();
    assert_eq!(changes.len(), 1);
    // The planner saw the change and this batch's attributes, with the folded carriers.
    let (seen, attrs) = &planner.seen[0];
    assert_eq!(seen, &changes[0]);
    assert_eq!(attrs.customer_id.as_deref(), Some("c-1"));
    assert_eq!(attrs.tags, ["gift", "vip"]);
    assert_eq!(attrs.carriers, ["ups"]);
    let rows = log(&b, "t", "O1");
    assert_eq!(rows.len(), 2);
    let r = &rows[0].row;
    assert_eq!((r.subscription_id, r.endpoint_id), (s1.id, ep.id));
    assert_eq!((r.seq, r.trigger.as_str()), (changes[0].seq, "shipped"));
    assert_eq!((r.state.as_str(), r.attempts), ("pending", 0));
    assert_eq!((r.next_at, r.created_at, r.done_at), (now(), now(), None));
    assert!(rows[0].attempts.is_empty());
    assert_eq!(
        b.reader.outbox_row(&tenant("t"), r.id).unwrap().as_ref(),
        Some(r)
    );

    // The same events again: at or below the checkpoint, no change, nothing planned.
    assert!(
        b.writer
            .apply_with(P0, &evs, now(), &mut planner)
            .unwrap()
            .is_empty()
    );
    assert_eq!(planner.seen.len(), 1);
    // Plain apply plans nothing.
    let more = stored(
        &mut b,
        &[sub("t", vec![ev("2", "O2", None, Status::Packed, 1)])],
    );
    assert_eq!(b.writer.apply(P0, &more, now()).unwrap().len(), 1);
    assert!(log(&b, "t", "O2").is_empty());
    assert_eq!(log(&b, "t", "O1").len(), 2);
}

pub fn a_refused_plan_writes_neither_the_change_nor_its_rows(new: fn() -> Store) {
    let mut b = new();
    let ep = endpoint(&mut b, "t", "hook");
    let s = subscription(&mut b, "t", "s", ep.id);
    let evs = stored(
        &mut b,
        &[sub(
            "t",
            vec![
                ev("1", "O1", None, Status::Packed, 1),
                ev("2", "O2", None, Status::Packed, 1),
            ],
        )],
    );
    let before = b.writer.applied_seq(P0).unwrap();
    // The first order's rows are fine, the second's name another tenant: the whole apply fails.
    struct Bad(Planner);
    impl OutboxPlanner for Bad {
        fn plan(&mut self, c: &Change, a: &OrderAttrs) -> Vec<NewOutbox> {
            self.0.wrong_tenant = (c.order_id == "O2").then(|| "u".to_string());
            self.0.plan(c, a)
        }
    }
    let mut bad = Bad(Planner::new(ep.id, vec![s.id]));
    let err = b.writer.apply_with(P0, &evs, now(), &mut bad).unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    assert_eq!(bad.0.seen.len(), 2);
    assert_eq!(b.writer.applied_seq(P0).unwrap(), before);
    assert!(log(&b, "t", "O1").is_empty());
    assert!(b.reader.order(&tenant("t"), "O1").unwrap().is_none());
    assert!(
        b.reader
            .changes_after(&tenant("t"), 0, 10)
            .unwrap()
            .is_empty()
    );
    // Applied again with a sound planner: the changes and their rows appear together, and the
    // change seqs have no gap from the failed attempt.
    let mut good = Planner::new(ep.id, vec![s.id]);
    let changes = b.writer.apply_with(P0, &evs, now(), &mut good).unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1].seq, changes[0].seq + 1);
    assert_eq!(log(&b, "t", "O1").len(), 1);
    assert_eq!(log(&b, "t", "O2").len(), 1);
    assert_eq!(
        b.reader.changes_after(&tenant("t"), 0, 10).unwrap(),
        changes
    );
}

pub fn msg_id_is_the_idempotency_key(new: fn() -> Store) {
    let mut b = new();
    let ep = endpoint(&mut b, "t", "hook");
    let other = endpoint(&mut b, "u", "hook");
    let row = new_row("t", "O1", 7, 1, ep.id, 0);
    let ids = b.writer.outbox_insert(&[row.clone(), row.clone()]).unwrap();
    assert_eq!(ids.len(), 1);
    assert!(
        b.writer
            .outbox_insert(std::slice::from_ref(&row))
            .unwrap()
            .is_empty()
    );
    // Even with other contents, the same msg_id is the same notification.
    let mut changed = row.clone();
    changed.payload = "{}".into();
    assert!(b.writer.outbox_insert(&[changed]).unwrap().is_empty());
    assert_eq!(log(&b, "t", "O1").len(), 1);
    assert_eq!(log(&b, "t", "O1")[0].row.payload, row.payload);
    // An endpoint that is not the row's tenant's (or none at all) gets nothing.
    let foreign = new_row("t", "O1", 8, 1, other.id, 0);
    let gone = new_row("t", "O1", 9, 1, other.id + 100, 0);
    assert!(b.writer.outbox_insert(&[foreign, gone]).unwrap().is_empty());
    // A planner that returns the same notification twice writes it once.
    let evs = stored(
        &mut b,
        &[sub("t", vec![ev("1", "O2", None, Status::Packed, 1)])],
    );
    let mut twice = Planner::new(ep.id, vec![3, 3]);
    b.writer.apply_with(P0, &evs, now(), &mut twice).unwrap();
    assert_eq!(log(&b, "t", "O2").len(), 1);
}

/// An event of order O1 that names customer fields and tags.
fn attr_event(id: &str, minute: i64, customer: &str, tags: serde_json::Value) -> Event {
    let mut e = ev(id, "O1", None, Status::Packed, minute);
    e.attributes.insert("customer_id".into(), customer.into());
    e.attributes.insert(
        "customer_email".into(),
        format!("{customer}@example.com").into(),
    );
    e.attributes.insert(
        "customer_phone".into(),
        format!("+1555000{minute:04}").into(),
    );
    e.attributes.insert("tags".into(), tags);
    e
}

pub fn customer_fields_are_latest_by_event_time_and_tags_a_union(new: fn() -> Store) {
    let mut b = new();
    let ep = endpoint(&mut b, "t", "hook");
    let mut planner = Planner::new(ep.id, vec![1]);
    // The latest by event time arrives first; the older ones later must not replace it.
    let batches = [
        vec![attr_event("1", 30, "new", serde_json::json!(["b", "a"]))],
        vec![attr_event(
            "2",
            10,
            "old",
            serde_json::json!(["c", "a", 7, "x".repeat(65)]),
        )],
        vec![
            ev("3", "O1", Some("T1"), Status::Shipped, 20),
            attr_event("4", 20, "middle", serde_json::json!(["d"])),
        ],
    ];
    for batch in batches {
        let evs = stored(&mut b, &[sub("t", batch)]);
        b.writer.apply_with(P0, &evs, now(), &mut planner).unwrap();
    }
    let (_, attrs) = planner.seen.last().unwrap();
    assert_eq!(attrs.customer_id.as_deref(), Some("new"));
    assert_eq!(attrs.customer_email.as_deref(), Some("new@example.com"));
    assert_eq!(attrs.customer_phone.as_deref(), Some("+15550000030"));
    // Strings only, at most 64 chars, sorted and distinct.
    assert_eq!(attrs.tags, ["a", "b", "c", "d"]);
    assert_eq!(attrs.carriers, ["ups"]);
    // At most 32 tags: the smallest, whatever the order they came in.
    let many: Vec<String> = (0..40).rev().map(|i| format!("t{i:02}")).collect();
    let evs = stored(
        &mut b,
        &[sub(
            "t",
            vec![
                attr_event("5", 1, "x", serde_json::json!(many)),
                ev("6", "O1", Some("T1"), Status::Delivered, 40),
            ],
        )],
    );
    b.writer.apply_with(P0, &evs, now(), &mut planner).unwrap();
    let (_, attrs) = planner.seen.last().unwrap();
    assert_eq!(attrs.tags.len(), 32);
    assert_eq!(attrs.tags[..4], ["a", "b", "c", "d"]);
    assert_eq!(attrs.tags.last().map(String::as_str), Some("t27"));
}

pub fn notifications_survive_reopen(new: fn() -> Store) {
    let mut b = new();
    let t = tenant("t");
    let ep = endpoint(&mut b, "t", "hook");
    let s = subscription(&mut b, "t", "s", ep.id);
    b.writer
        .put_contact(&contact_row("t", "c1", &["sms"]))
        .unwrap();
    let id = b
        .writer
        .outbox_insert(&[new_row("t", "O1", 1, s.id, ep.id, 3)])
        .unwrap()[0];
    let before = (log(&b, "t", "O1"), b.reader.outbox_counts().unwrap());
    let b = b.reopen();
    assert_eq!(
        (log(&b, "t", "O1"), b.reader.outbox_counts().unwrap()),
        before
    );
    assert_eq!(b.reader.endpoints(&t).unwrap(), vec![ep]);
    assert_eq!(b.reader.subscriptions(&t).unwrap(), vec![s]);
    assert_eq!(
        b.reader.contact_of(&t, "c1").unwrap().unwrap().opted_out,
        ["sms"]
    );
    assert_eq!(b.reader.outbox_next_due(P0).unwrap(), Some(at(3)));
    assert_eq!(due_ids(&b, far()), [id]);
}
