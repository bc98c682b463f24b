use super::*;
use crate::model::{ChannelKind, Recipient, WebhookSecret};
use proptest::prelude::*;
use waypost_domain::{Status, TenantId};

fn tenant(t: &str) -> TenantId {
    TenantId::new(t).expect("tenant")
}

fn endpoint(id: i64, t: &str, kind: ChannelKind, enabled: bool) -> Endpoint {
    let spec = match kind {
        ChannelKind::Webhook => EndpointSpec::Webhook {
            url: "https://hooks.example.com/w".into(),
            secrets: vec![WebhookSecret::new("whsec_c2VjcmV0")],
            timeout_ms: 5000,
        },
        ChannelKind::Email => EndpointSpec::Email {
            to: Recipient::Customer,
        },
        ChannelKind::Sms => EndpointSpec::Sms {
            to: Recipient::Customer,
        },
    };
    Endpoint {
        id,
        tenant: tenant(t),
        name: format!("e{id}"),
        spec,
        enabled,
        disabled_reason: None,
    }
}

fn sub(id: i64, t: &str, endpoint_id: i64, on: &[Trigger], filter: Filter) -> Subscription {
    Subscription {
        id,
        tenant: tenant(t),
        name: format!("s{id}"),
        endpoint_id,
        on: on.to_vec(),
        filter,
        enabled: true,
    }
}

fn facts(status: &str, previous: Option<&str>) -> OrderFacts {
    OrderFacts {
        tenant: "acme".into(),
        order_id: "o-1".into(),
        seq: 42,
        status: status.into(),
        previous_status: previous.map(str::to_string),
        carriers: vec!["ups".into()],
        channel: Some("web".into()),
        tags: vec!["vip".into(), "eu".into()],
        ..OrderFacts::default()
    }
}

const SHIPPED: Trigger = Trigger::Status(Status::Shipped);
const DELIVERED: Trigger = Trigger::Status(Status::Delivered);

#[test]
fn plans_matching_subscriptions_in_order() {
    let endpoints: HashMap<i64, Endpoint> = [
        (1, endpoint(1, "acme", ChannelKind::Webhook, true)),
        (2, endpoint(2, "acme", ChannelKind::Email, true)),
        (3, endpoint(3, "acme", ChannelKind::Sms, false)),
        (4, endpoint(4, "other", ChannelKind::Sms, true)),
    ]
    .into();
    let subs = vec![
        sub(10, "acme", 2, &[SHIPPED, DELIVERED], Filter::default()),
        sub(11, "acme", 1, &[SHIPPED], Filter::default()),
        sub(12, "acme", 3, &[SHIPPED], Filter::default()), // endpoint disabled
        sub(13, "acme", 1, &[DELIVERED], Filter::default()), // other trigger
        sub(14, "other", 4, &[SHIPPED], Filter::default()), // other tenant
        sub(15, "acme", 4, &[SHIPPED], Filter::default()), // endpoint of another tenant
        sub(16, "acme", 99, &[SHIPPED], Filter::default()), // no such endpoint
    ];
    let got = plan(&subs, &endpoints, &facts("shipped", Some("packed")));
    let ids: Vec<(i64, i64, ChannelKind)> = got
        .iter()
        .map(|p| (p.subscription_id, p.endpoint_id, p.kind))
        .collect();
    assert_eq!(
        ids,
        [(10, 2, ChannelKind::Email), (11, 1, ChannelKind::Webhook)]
    );
    assert!(got.iter().all(|p| p.trigger == SHIPPED));
    assert_eq!(
        got[0].msg_id,
        notification_id("acme", "o-1", 42, ChannelKind::Email, 10)
    );
    // No change of status, no notification; a first status is a change.
    assert!(plan(&subs, &endpoints, &facts("shipped", Some("shipped"))).is_empty());
    assert_eq!(plan(&subs, &endpoints, &facts("shipped", None)).len(), 2);
    // A status no trigger names plans nothing.
    assert!(
        plan(
            &subs,
            &endpoints,
            &facts("partially_shipped", Some("packed"))
        )
        .is_empty()
    );
}

#[test]
fn filters() {
    let f = |channels: &[&str], carriers: &[&str], tags: &[&str]| Filter {
        channels: channels.iter().map(|s| s.to_string()).collect(),
        carriers: carriers.iter().map(|s| s.to_string()).collect(),
        tags: tags.iter().map(|s| s.to_string()).collect(),
    };
    let o = facts("shipped", None);
    let passes = |flt: Filter| flt.passes(o.channel.as_deref(), &o.carriers, &o.tags);
    assert!(passes(f(&[], &[], &[])));
    assert!(passes(f(&["web", "pos"], &[], &[])));
    assert!(!passes(f(&["pos"], &[], &[])));
    assert!(passes(f(&[], &["fedex", "ups"], &[])));
    assert!(!passes(f(&[], &["fedex"], &[])));
    assert!(passes(f(&[], &[], &["eu"])));
    assert!(!passes(f(&[], &[], &["us"])));
    assert!(!passes(f(&["web"], &["ups"], &["us"])));
    // An order with no channel fails a channel filter.
    assert!(!f(&["web"], &[], &[]).passes(None, &[], &[]));
}

#[test]
fn alerts_plan_alert_subscriptions_with_their_own_ids() {
    let endpoints: HashMap<i64, Endpoint> =
        [(1, endpoint(1, "acme", ChannelKind::Webhook, true))].into();
    let subs = vec![
        sub(10, "acme", 1, &[Trigger::AlertRaised], Filter::default()),
        sub(11, "acme", 1, &[SHIPPED], Filter::default()),
    ];
    let alert = AlertFacts {
        tenant: "acme".into(),
        order_id: "o-1".into(),
        alert_id: 42,
        rule: "late".into(),
        severity: "high".into(),
        opened_at: jiff::Timestamp::UNIX_EPOCH,
        ..AlertFacts::default()
    };
    let got = plan_alert(&subs, &endpoints, &alert);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].trigger, Trigger::AlertRaised);
    assert_eq!(
        got[0].msg_id,
        alert_notification_id("acme", "o-1", 42, ChannelKind::Webhook, 10)
    );
    assert_ne!(
        got[0].msg_id,
        notification_id("acme", "o-1", 42, ChannelKind::Webhook, 10)
    );
}

#[test]
fn ids_have_the_documented_shape_and_are_stable() {
    let id = notification_id("acme", "o-1", 42, ChannelKind::Email, 10);
    assert_eq!(id.len(), 30);
    assert!(id.starts_with("msg_"));
    assert!(
        id[4..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c))
    );
    // Pinned: a change of the scheme would re-send every pending notification.
    assert_eq!(
        id,
        notification_id("acme", "o-1", 42, ChannelKind::Email, 10)
    );
    assert_eq!(base32_lower(b"foobar"), "mzxw6ytboi");
    assert_eq!(base32_lower(b""), "");
    assert_eq!(base32_lower(b"f"), "my");
}

#[test]
fn opt_out_and_recipients() {
    let email = endpoint(2, "acme", ChannelKind::Email, true);
    let mut fixed = endpoint(3, "acme", ChannelKind::Sms, true);
    fixed.spec = EndpointSpec::Sms {
        to: Recipient::Fixed("+4915112345678".into()),
    };
    let hook = endpoint(1, "acme", ChannelKind::Webhook, true);
    let contact = Contact {
        customer_id: "c1".into(),
        email: Some("c1@example.com".into()),
        phone: None,
        locale: None,
        opted_out: vec![ChannelKind::Email, ChannelKind::Sms],
    };
    assert!(suppressed(&email, Some(&contact)));
    assert!(
        !suppressed(&fixed, Some(&contact)),
        "the team is not the customer"
    );
    assert!(!suppressed(&hook, Some(&contact)));
    assert!(!suppressed(&email, None));
    assert_eq!(
        recipient_address(&email, Some(&contact), Some("attr@example.com"), None),
        Some("c1@example.com".into())
    );
    assert_eq!(
        recipient_address(&email, None, Some("attr@example.com"), None),
        Some("attr@example.com".into())
    );
    assert_eq!(
        recipient_address(&fixed, Some(&contact), None, None),
        Some("+4915112345678".into())
    );
    let sms = endpoint(4, "acme", ChannelKind::Sms, true);
    assert_eq!(recipient_address(&sms, Some(&contact), None, None), None);
    assert_eq!(recipient_address(&hook, None, None, None), None);
}

fn arb_trigger() -> impl Strategy<Value = Trigger> {
    (0usize..21).prop_map(|i| Trigger::all().nth(i).expect("21 triggers"))
}

fn arb_list(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(pool, 0..=pool.len())
        .prop_map(|v| v.into_iter().map(str::to_string).collect())
}

const CHANNELS: &[&str] = &["web", "pos", "app"];
const CARRIERS: &[&str] = &["ups", "dhl", "fedex"];
const TAGS: &[&str] = &["vip", "eu", "us", "gift"];

fn arb_filter() -> impl Strategy<Value = Filter> {
    (arb_list(CHANNELS), arb_list(CARRIERS), arb_list(TAGS)).prop_map(
        |(channels, carriers, tags)| Filter {
            channels,
            carriers,
            tags,
        },
    )
}

fn arb_world() -> impl Strategy<Value = (Vec<Subscription>, HashMap<i64, Endpoint>)> {
    let endpoints = proptest::collection::vec((0u8..3, any::<bool>()), 1..5).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (k, on))| {
                let id = i as i64 + 1;
                (id, endpoint(id, "acme", ChannelKind::ALL[k as usize], on))
            })
            .collect::<HashMap<_, _>>()
    });
    let subs = proptest::collection::vec(
        (
            1i64..6,
            proptest::collection::vec(arb_trigger(), 1..4),
            arb_filter(),
            any::<bool>(),
        ),
        0..8,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (e, on, filter, enabled))| {
                let mut s = sub(i as i64 + 100, "acme", e, &on, filter);
                s.enabled = enabled;
                s
            })
            .collect::<Vec<_>>()
    });
    (subs, endpoints)
}

fn arb_facts() -> impl Strategy<Value = OrderFacts> {
    (
        0usize..20,
        proptest::option::of(0usize..20),
        proptest::option::of(proptest::sample::select(CHANNELS)),
        arb_list(CARRIERS),
        arb_list(TAGS),
        any::<u64>(),
    )
        .prop_map(|(s, p, channel, carriers, tags, seq)| OrderFacts {
            tenant: "acme".into(),
            order_id: "o-1".into(),
            seq,
            status: Status::ALL[s].as_str().into(),
            previous_status: p.map(|p| Status::ALL[p].as_str().to_string()),
            channel: channel.map(str::to_string),
            carriers,
            tags,
            ..OrderFacts::default()
        })
}

proptest! {
    #[test]
    fn plan_is_exactly_the_matching_enabled_pairs(
        (subs, endpoints) in arb_world(),
        f in arb_facts(),
    ) {
        let got = plan(&subs, &endpoints, &f);
        prop_assert_eq!(&got, &plan(&subs, &endpoints, &f), "deterministic");
        if f.previous_status.as_deref() == Some(f.status.as_str()) {
            prop_assert!(got.is_empty());
        }
        for p in &got {
            let s = subs.iter().find(|s| s.id == p.subscription_id).expect("from subs");
            let e = &endpoints[&p.endpoint_id];
            prop_assert!(s.enabled && e.enabled);
            prop_assert_eq!(p.trigger.as_str(), f.status.as_str());
            prop_assert!(s.on.contains(&p.trigger));
            prop_assert!(s.filter.passes(f.channel.as_deref(), &f.carriers, &f.tags));
            prop_assert_eq!(p.kind, e.kind());
        }
        // Completeness: every eligible subscription is planned, once.
        let eligible = subs.iter().filter(|s| {
            s.enabled
                && s.on.iter().any(|t| t.as_str() == f.status)
                && f.previous_status.as_deref() != Some(f.status.as_str())
                && s.filter.passes(f.channel.as_deref(), &f.carriers, &f.tags)
                && endpoints.get(&s.endpoint_id).is_some_and(|e| e.enabled)
        });
        let want: Vec<i64> = eligible.map(|s| s.id).collect();
        let have: Vec<i64> = got.iter().map(|p| p.subscription_id).collect();
        prop_assert_eq!(have, want);
    }

    #[test]
    fn ids_differ_whenever_a_field_differs(
        a in ("[a-c]{1,3}", "[a-c]{1,3}", 0u64..4, 0usize..3, 0i64..4),
        b in ("[a-c]{1,3}", "[a-c]{1,3}", 0u64..4, 0usize..3, 0i64..4),
        alert in any::<bool>(),
    ) {
        let id = |(t, o, n, k, s): &(String, String, u64, usize, i64), alert: bool| {
            if alert {
                alert_notification_id(t, o, *n, ChannelKind::ALL[*k], *s)
            } else {
                notification_id(t, o, *n, ChannelKind::ALL[*k], *s)
            }
        };
        prop_assert_eq!(id(&a, false) == id(&b, false), a == b);
        prop_assert_ne!(id(&a, alert), id(&b, !alert));
        prop_assert_eq!(id(&a, alert), id(&a.clone(), alert));
    }
}

proptest! {
    #[test]
    fn a_filter_passes_iff_every_nonempty_list_meets_the_order(
        filter in arb_filter(),
        channel in proptest::option::of(proptest::sample::select(CHANNELS)),
        carriers in arb_list(CARRIERS),
        tags in arb_list(TAGS),
    ) {
        let meets = |list: &[String], values: &[String]| {
            list.is_empty() || values.iter().any(|v| list.contains(v))
        };
        let channel_values: Vec<String> = channel.iter().map(|c| c.to_string()).collect();
        let want = meets(&filter.channels, &channel_values)
            && meets(&filter.carriers, &carriers)
            && meets(&filter.tags, &tags);
        prop_assert_eq!(filter.passes(channel, &carriers, &tags), want);
        // The empty filter passes everything.
        prop_assert!(Filter::default().passes(channel, &carriers, &tags));
    }
}
