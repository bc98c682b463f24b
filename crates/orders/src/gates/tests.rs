//! Evaluation: each check failing and passing, layering, shadow, impact, and properties.

use super::*;
use crate::model::{
    Address, Channel, ChannelOrder, ChannelState, Customer, Derived, Line, Order, Priority, Risk,
    RiskLevel,
};
use jiff::Timestamp;
use proptest::prelude::*;

pub(super) fn now() -> Timestamp {
    "2026-12-08T12:00:00Z".parse().expect("now")
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

pub(super) fn good() -> Order {
    Order {
        channel: Channel::Shopify,
        account: "acme-shop".into(),
        order_id: "#1001".into(),
        placed: ChannelOrder {
            external_id: "450789469".into(),
            lines: vec![Line {
                sku: Some("A".into()),
                quantity: 2.into(),
                unit_price: Some(dec("9.50")),
                ..Line::default()
            }],
            currency: Some("USD".into()),
            customer: Customer {
                email: Some("bob@example.com".into()),
                ..Customer::default()
            },
            ship_to: Some(Address {
                lines: vec!["1600 Pennsylvania Ave NW".into()],
                city: Some("Washington".into()),
                region: Some("DC".into()),
                postal_code: Some("20500".into()),
                country: Some("US".into()),
                ..Address::default()
            }),
            ..ChannelOrder::default()
        },
        promised_at: Some("2026-12-11T12:00:00Z".parse().expect("ts")),
        promise_from: Derived::Payload,
        priority: Priority::Standard,
        priority_because: vec![],
        customer_tier: None,
    }
}

pub(super) fn catalogue() -> ListCatalogue {
    ListCatalogue {
        skus: ["A", "B"].map(String::from).into_iter().collect(),
        stock: [("A".to_string(), Decimal::from(10))].into_iter().collect(),
    }
}

fn judge(p: &Profile, o: &Order) -> Decision {
    let cat = catalogue();
    evaluate(
        p,
        o,
        &Facts {
            now: now(),
            catalogue: &cat,
            duplicates: &[],
        },
    )
}

fn finding(d: &Decision, c: CheckId) -> &Finding {
    d.findings
        .iter()
        .find(|f| f.check == c && f.outcome != Outcome::Pass)
        .or_else(|| d.findings.iter().find(|f| f.check == c))
        .expect("a finding per check")
}

/// Runs `change` on a good order and expects `check` to fail with `outcome`, its message
/// containing `words`.
fn fails(check: CheckId, outcome: Outcome, words: &str, change: impl FnOnce(&mut Order)) {
    let p = Profile::default();
    assert_eq!(
        finding(&judge(&p, &good()), check).outcome,
        Outcome::Pass,
        "{check} passes on the good order"
    );
    let mut o = good();
    change(&mut o);
    let d = judge(&p, &o);
    let f = finding(&d, check);
    assert_eq!(f.outcome, outcome, "{check}: {f:?}");
    assert!(f.message.contains(words), "{check}: {:?}", f.message);
    assert!(d.outcome >= outcome);
}

#[test]
fn the_good_order_passes_every_check_with_a_finding_each() {
    let d = judge(&Profile::default(), &good());
    assert_eq!(d.outcome, Outcome::Pass, "{}", d.explain());
    let checks: Vec<CheckId> = d.findings.iter().map(|f| f.check).collect();
    assert_eq!(checks, CheckId::ALL.to_vec());
    assert_eq!(d.profile, "built-in");
}

#[test]
fn each_check_fails() {
    use CheckId::*;
    use Outcome::*;
    fails(Required, Reject, "missing lines", |o| {
        o.placed.lines.clear()
    });
    fails(AddressComplete, Hold, "no ship-to", |o| {
        o.placed.ship_to = None
    });
    fails(AddressComplete, Hold, "no street, postal code", |o| {
        let a = o.placed.ship_to.as_mut().expect("addr");
        a.lines.clear();
        a.postal_code = None;
    });
    fails(PostalFormat, Hold, "\"2050\" does not fit US", |o| {
        o.placed.ship_to.as_mut().expect("addr").postal_code = Some("2050".into());
    });
    fails(PostalFormat, Hold, "not an ISO 3166-1", |o| {
        o.placed.ship_to.as_mut().expect("addr").country = Some("United States".into());
    });
    fails(
        SkuKnown,
        Hold,
        "line 2: SKU \"Z-9\" is not in the catalogue",
        |o| {
            let mut l = o.placed.lines[0].clone();
            l.sku = Some("Z-9".into());
            o.placed.lines.push(l);
        },
    );
    fails(SkuKnown, Hold, "line 1 has no SKU", |o| {
        o.placed.lines[0].sku = None
    });
    fails(Quantity, Reject, "quantity 0 is not positive", |o| {
        o.placed.lines[0].quantity = Decimal::ZERO
    });
    fails(Quantity, Reject, "over the limit of 1000", |o| {
        o.placed.lines[0].quantity = 1001.into()
    });
    fails(Price, Hold, "unit price 0.00 is not positive", |o| {
        o.placed.lines[0].unit_price = Some(dec("0.00"))
    });
    fails(Price, Hold, "unit price -1 is not", |o| {
        o.placed.lines[0].unit_price = Some(dec("-1"))
    });
    fails(Price, Hold, "over the limit of 10000", |o| {
        o.placed.lines[0].unit_price = Some(dec("10000.01"))
    });
    fails(Currency, Hold, "no currency", |o| o.placed.currency = None);
    fails(Currency, Hold, "\"usd\" is not an ISO 4217", |o| {
        o.placed.currency = Some("usd".into())
    });
    fails(
        ChannelRisk,
        Hold,
        "rates it high risk: card declined twice",
        |o| {
            o.placed.risks.push(Risk {
                level: RiskLevel::High,
                message: "card declined twice".into(),
            })
        },
    );
    fails(Promise, Warn, "less than the 4h needed", |o| {
        o.promised_at = Some("2026-12-08T14:30:00Z".parse().expect("ts"))
    });
    fails(Promise, Warn, "passed 1h ago", |o| {
        o.promised_at = Some("2026-12-08T11:00:00Z".parse().expect("ts"))
    });
    fails(Stock, Backorder, "needs 12, 10 available", |o| {
        let mut l = o.placed.lines[0].clone();
        l.quantity = 10.into();
        o.placed.lines.push(l);
    });
    fails(
        ChannelState,
        Hold,
        "not complete in its channel: Pending",
        |o| {
            o.placed.state = crate::model::ChannelState::Incomplete {
                why: "Pending".into(),
            }
        },
    );
    fails(ChannelState, Hold, "on hold in its channel: on-hold", |o| {
        o.placed.state = crate::model::ChannelState::OnHold {
            why: "on-hold".into(),
        }
    });
}

#[test]
fn notes_where_a_check_cannot_judge() {
    let mut o = good();
    o.placed.risks.push(Risk {
        level: RiskLevel::Medium,
        message: "proxy".into(),
    });
    o.placed.state = ChannelState::Cancelled { reason: None };
    o.placed.ship_to.as_mut().expect("addr").country = Some("ZZ".into());
    o.promised_at = None;
    let d = evaluate(
        &Profile::default(),
        &o,
        &Facts {
            now: now(),
            catalogue: &NoCatalogue,
            duplicates: &[],
        },
    );
    assert_eq!(d.outcome, Outcome::Pass, "{}", d.explain());
    assert!(
        finding(&d, CheckId::SkuKnown)
            .message
            .contains("no catalogue")
    );
    assert!(finding(&d, CheckId::Stock).message.contains("not tracked"));
    assert!(
        finding(&d, CheckId::PostalFormat)
            .message
            .contains("no postal format known for ZZ")
    );
    assert!(
        finding(&d, CheckId::ChannelState)
            .message
            .contains("not a gate")
    );
    assert!(finding(&d, CheckId::Promise).message.contains("no promise"));
    // An address given by reference (X12 N1*ST**92) is complete without a street.
    let mut o = good();
    let a = o.placed.ship_to.as_mut().expect("addr");
    a.lines.clear();
    a.location_code = Some("W_341001".into());
    let d = judge(&Profile::default(), &o);
    assert_eq!(finding(&d, CheckId::AddressComplete).outcome, Outcome::Pass);
}

#[test]
fn duplicates_are_named_but_not_the_order_itself() {
    let o = good();
    let cat = catalogue();
    let ids = ["#1001".to_string(), "#0999".to_string()];
    let d = evaluate(
        &Profile::default(),
        &o,
        &Facts {
            now: now(),
            catalogue: &cat,
            duplicates: &ids,
        },
    );
    let f = finding(&d, CheckId::Duplicate);
    assert_eq!(f.outcome, Outcome::Hold);
    assert!(f.message.contains("#0999 within 24h"), "{}", f.message);
    assert!(!f.message.contains("#1001"));
    let me = ["#1001".to_string()];
    let d = evaluate(
        &Profile::default(),
        &o,
        &Facts {
            now: now(),
            catalogue: &cat,
            duplicates: &me,
        },
    );
    assert_eq!(finding(&d, CheckId::Duplicate).outcome, Outcome::Pass);
}

#[test]
fn fingerprint_ignores_case_spacing_and_line_order() {
    let a = good();
    let mut b = good();
    b.order_id = "#1002".into();
    b.placed.customer.email = Some("  BOB@Example.com".into());
    let addr = b.placed.ship_to.as_mut().expect("addr");
    addr.lines[0] = "1600 pennsylvania ave. nw".into();
    addr.postal_code = Some("20 500".into());
    b.placed.lines[0].quantity = dec("2.00");
    assert_eq!(fingerprint(&a), fingerprint(&b));
    b.placed.lines[0].quantity = 3.into();
    assert_ne!(fingerprint(&a), fingerprint(&b));
    let mut c = good();
    c.account = "other".into();
    assert_ne!(fingerprint(&a), fingerprint(&c));
}

const LAYERED: &str = r#"
name = "layered"
[checks.sku_known]
outcome = "reject"
[checks.currency]
allowed = ["EUR"]
[channel.shopify.checks.sku_known]
outcome = "hold"
[channel.shopify.checks.currency]
enabled = false
[account."acme-shop".checks.sku_known]
outcome = "warn"
[account."acme-shop".checks.currency]
enabled = true
outcome = "warn"
"#;

#[test]
fn account_over_channel_over_global() {
    let p = Profile::parse(LAYERED).expect("parses");
    let mut o = good();
    o.placed.lines[0].sku = Some("Z".into());
    let d = judge(&p, &o);
    let f = finding(&d, CheckId::SkuKnown);
    assert_eq!(
        (f.outcome, &f.layer),
        (Outcome::Warn, &Layer::Account("acme-shop".into()))
    );
    // The account re-enables what the channel disabled; the global allowed list still holds.
    let f = finding(&d, CheckId::Currency);
    assert_eq!(f.outcome, Outcome::Warn);
    assert!(f.message.contains("allowed: EUR"), "{}", f.message);

    o.account = "other-shop".into();
    let d = judge(&p, &o);
    let f = finding(&d, CheckId::SkuKnown);
    assert_eq!(
        (f.outcome, &f.layer),
        (Outcome::Hold, &Layer::Channel(Channel::Shopify))
    );
    let f = finding(&d, CheckId::Currency);
    assert_eq!(f.outcome, Outcome::Pass);
    assert!(f.message.contains("disabled in the channel shopify layer"));

    o.channel = Channel::Woocommerce;
    let d = judge(&p, &o);
    let f = finding(&d, CheckId::SkuKnown);
    assert_eq!((f.outcome, &f.layer), (Outcome::Reject, &Layer::Global));
    assert_eq!(d.outcome, Outcome::Reject);
    assert_eq!(d.deciding().count(), 1);
    assert!(
        d.explain().contains("reject    sku_known        global"),
        "{}",
        d.explain()
    );
}

#[test]
fn the_brief_example_gates_amazon_without_street() {
    let p = Profile::parse(super::tests_profile::EXAMPLE).expect("parses");
    let mut o = good();
    o.channel = Channel::Amazon;
    o.account = "amz-us".into();
    o.placed.ship_to.as_mut().expect("addr").lines.clear();
    let d = judge(&p, &o);
    let f = finding(&d, CheckId::AddressComplete);
    assert_eq!(f.outcome, Outcome::Pass);
    assert_eq!(f.layer, Layer::Channel(Channel::Amazon));
    assert!(f.message.contains("no street"));
    assert_eq!(
        p.duplicate_window(Channel::Amazon, "amz-us").as_secs(),
        7200
    );
}

#[test]
fn shadow_reports_what_the_candidate_would_hold() {
    let strict = Profile::parse(
        "name = \"strict\"\n[checks.promise]\noutcome = \"hold\"\nmin_lead = \"5d\"\n",
    )
    .expect("parses");
    let o = good();
    let a = judge(&Profile::default(), &o);
    let b = judge(&strict, &o);
    assert!(shadow(&a, &a).is_none());
    let diff = shadow(&a, &b).expect("differs");
    assert_eq!(
        (diff.in_force, diff.candidate),
        (Outcome::Pass, Outcome::Hold)
    );
    assert_eq!(diff.would.len(), 1);
    assert_eq!(diff.would[0].check, CheckId::Promise);

    let mut t = ShadowTally::default();
    t.add(&o, &a, &b);
    t.add(&o, &a, &b);
    assert_eq!((t.orders, t.differing), (2, 2));
    let rows = t.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].check,
            rows[0].outcome,
            rows[0].in_force,
            rows[0].candidate
        ),
        (CheckId::Promise, Outcome::Hold, 0, 2)
    );
    let ps = Profiles {
        in_force: Profile::default(),
        shadow: Some(strict),
    };
    let cat = catalogue();
    let facts = Facts {
        now: now(),
        catalogue: &cat,
        duplicates: &[],
    };
    let (d, cand) = ps.evaluate(&o, &facts);
    assert_eq!(d, a);
    assert!(cand.and_then(|(_, diff)| diff).is_some());
}

#[test]
fn impact_names_its_parts() {
    let mut o = good();
    o.placed.total = Some(dec("129.00"));
    o.promised_at = Some("2026-12-08T15:00:00Z".parse().expect("ts"));
    o.customer_tier = Some("vip".into());
    o.channel = Channel::Amazon;
    let mut w = ImpactWeights::default();
    w.channel_sla.insert(Channel::Amazon, 50.0);
    let i = impact(&o, now(), &w);
    let names: Vec<&str> = i.parts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "value 129.00 USD",
            "promise in 3 h",
            "tier vip",
            "channel amazon SLA"
        ]
    );
    assert!((i.parts[0].1 - 12.9).abs() < 1e-9);
    assert!((i.parts[1].1 - 45.0).abs() < 1e-9);
    assert!((i.score - (12.9 + 45.0 + 30.0 + 50.0)).abs() < 1e-9);
    // A passed promise weighs the whole horizon.
    o.promised_at = Some("2026-12-07T12:00:00Z".parse().expect("ts"));
    let late = impact(&o, now(), &w);
    assert_eq!(late.parts[1], ("promise passed 24 h ago".to_string(), 48.0));
    let mut q = vec![("low", impact(&good(), now(), &w)), ("late", late)];
    sort_queue(&mut q);
    assert_eq!(q[0].0, "late");
}

fn arb_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        Just(String::new()),
        Just(" ".to_string()),
        "[A-Za-z0-9 -]{0,10}",
        ".{0,12}",
        Just("US".to_string()),
        Just("GB".to_string()),
    ])
}

fn arb_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (any::<i64>(), 0u32..=28).prop_map(|(n, s)| Decimal::new(n, s)),
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        Just(Decimal::ZERO),
    ]
}

fn arb_order() -> impl Strategy<Value = Order> {
    let line = (
        arb_text(),
        arb_decimal(),
        prop::option::of(arb_decimal()),
        prop::option::of(arb_decimal()),
    )
        .prop_map(|(sku, quantity, unit_price, tax)| Line {
            sku,
            quantity,
            unit_price,
            tax,
            ..Line::default()
        });
    let addr = (arb_text(), arb_text(), arb_text(), arb_text(), arb_text()).prop_map(
        |(street, city, postal_code, country, location_code)| Address {
            lines: street.into_iter().collect(),
            city,
            postal_code,
            country,
            location_code,
            ..Address::default()
        },
    );
    let ts = prop::option::of(
        (-10_000_000_000i64..10_000_000_000)
            .prop_map(|s| Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)),
    );
    let risk = (0u8..3, ".{0,8}").prop_map(|(l, message)| Risk {
        level: [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High][usize::from(l)],
        message,
    });
    (
        prop::collection::vec(line, 0..5),
        prop::option::of(addr),
        arb_text(),
        ts,
        prop::collection::vec(risk, 0..3),
        (0u8..4, ".{0,6}"),
        prop::option::of(arb_decimal()),
        (0usize..Channel::ALL.len(), "[a-z-]{1,8}", arb_text()),
    )
        .prop_map(
            |(
                lines,
                ship_to,
                currency,
                promised_at,
                risks,
                (state, why),
                total,
                (c, account, email),
            )| Order {
                channel: Channel::ALL[c],
                account,
                order_id: "o-1".into(),
                placed: ChannelOrder {
                    lines,
                    ship_to,
                    currency,
                    risks,
                    total,
                    customer: Customer {
                        email,
                        ..Customer::default()
                    },
                    state: match state {
                        0 => ChannelState::Open,
                        1 => ChannelState::Incomplete { why },
                        2 => ChannelState::OnHold { why },
                        _ => ChannelState::Cancelled { reason: Some(why) },
                    },
                    ..ChannelOrder::default()
                },
                promised_at,
                promise_from: Derived::Missing,
                priority: Priority::Standard,
                priority_because: vec![],
                customer_tier: Some("vip".into()),
            },
        )
}

proptest! {
    #[test]
    fn evaluation_never_panics_and_decides_by_the_worst_finding(
        o in arb_order(),
        dups in prop::collection::vec("[a-z0-9-]{1,6}", 0..3),
    ) {
        let cat = catalogue();
        for p in [Profile::default(), Profile::parse(LAYERED).expect("parses")] {
            let d = evaluate(&p, &o, &Facts { now: now(), catalogue: &cat, duplicates: &dups });
            let worst = d.findings.iter().map(|f| f.outcome).max().unwrap_or(Outcome::Pass);
            prop_assert_eq!(d.outcome, worst);
            // Every check speaks, in the stable order.
            let mut seen: Vec<CheckId> = d.findings.iter().map(|f| f.check).collect();
            seen.dedup();
            prop_assert_eq!(seen, CheckId::ALL.to_vec());
            let keys: Vec<_> = d.findings.iter().map(|f| (f.check, f.line)).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            prop_assert_eq!(keys, sorted);
            // Same input, same decision.
            prop_assert_eq!(&d, &evaluate(&p, &o, &Facts { now: now(), catalogue: &cat, duplicates: &dups }));
        }
        let _ = fingerprint(&o);
        let i = impact(&o, now(), &ImpactWeights::default());
        prop_assert!(i.score.is_finite() && i.score >= 0.0);
    }
}
