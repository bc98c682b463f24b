//! The quality gates from outside the crate, as the intake service uses them: a profile from
//! its text, an order as stored (JSON), the decision and its explanation, shadow and impact.
//! The body of `fuzz/fuzz_targets/gates_evaluate.rs` runs here on a real-shaped order too.

use waypost_orders::Order;
use waypost_orders::gates::{
    CheckId, Facts, ImpactWeights, Layer, ListCatalogue, Outcome, Profile, Profiles, ShadowTally,
    evaluate, fingerprint, impact,
};

const ORDER: &str = r#"{
  "channel": "amazon",
  "account": "amz-us",
  "order_id": "902-3159896-1390916",
  "placed": {
    "external_id": "902-3159896-1390916",
    "created_at": "2026-12-08T09:00:00Z",
    "state": {"state": "open"},
    "lines": [
      {"sku": "NABetaASINB00551Q3CS", "quantity": "1", "unit_price": "25.99"},
      {"sku": "UNKNOWN-1", "quantity": "3", "unit_price": "0.00"}
    ],
    "currency": "USD",
    "customer": {},
    "ship_to": {"city": "SEATTLE", "region": "WA", "postal_code": "98101-1234", "country": "US"}
  },
  "promised_at": "2026-12-08T14:00:00Z",
  "promise_from": "payload",
  "priority": "high",
  "priority_because": ["account amz-us is a marketplace SLA account"]
}"#;

const PROFILE: &str = r#"
name = "2026-12 default"
[checks.required]
fields = ["lines", "ship_to", "currency"]
[checks.promise]
min_lead = "6h"
[channel.amazon.checks.address_complete]
outcome = "pass"
[account."amz-us".checks.sku_known]
outcome = "warn"
[impact.channel_sla]
amazon = 50
"#;

fn catalogue() -> ListCatalogue {
    ListCatalogue {
        skus: ["NABetaASINB00551Q3CS".to_string()].into_iter().collect(),
        stock: [("NABetaASINB00551Q3CS".to_string(), 0.into())]
            .into_iter()
            .collect(),
    }
}

#[test]
fn an_amazon_order_through_the_gates() {
    let order: Order = serde_json::from_str(ORDER).expect("order");
    let profile = Profile::parse(PROFILE).expect("profile");
    let now: jiff::Timestamp = "2026-12-08T12:00:00Z".parse().expect("now");
    let cat = catalogue();
    let facts = Facts {
        now,
        catalogue: &cat,
        duplicates: &[],
    };
    let d = evaluate(&profile, &order, &facts);
    let got: Vec<(CheckId, Outcome, Layer, Option<usize>)> = d
        .findings
        .iter()
        .filter(|f| f.outcome != Outcome::Pass)
        .map(|f| (f.check, f.outcome, f.layer.clone(), f.line))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                CheckId::SkuKnown,
                Outcome::Warn,
                Layer::Account("amz-us".into()),
                Some(1)
            ),
            (CheckId::Price, Outcome::Hold, Layer::Global, Some(1)),
            (CheckId::Promise, Outcome::Warn, Layer::Global, None),
            (CheckId::Stock, Outcome::Backorder, Layer::Global, Some(0)),
        ],
        "{}",
        d.explain()
    );
    assert_eq!(d.outcome, Outcome::Hold);
    let explained = d.explain();
    assert!(explained.contains("address_complete"), "{explained}");
    assert!(
        explained.contains("line 2: unit price 0.00 is not positive"),
        "{explained}"
    );
    assert!(explained.contains("less than the 6h needed"), "{explained}");
    // The decision is data the API returns.
    let json = serde_json::to_value(&d).expect("json");
    assert_eq!(json["outcome"], "hold");
    assert_eq!(json["findings"][3]["check"], "sku_known");
    assert_eq!(
        json["findings"][3]["layer"],
        serde_json::json!({"account": "amz-us"})
    );

    // The built-in profile runs in its shadow: it would not let the address through.
    let ps = Profiles {
        in_force: profile.clone(),
        shadow: Some(Profile::default()),
    };
    let (_, cand) = ps.evaluate(&order, &facts);
    let (cd, diff) = cand.expect("a candidate");
    assert_eq!(cd.outcome, Outcome::Hold);
    assert!(diff.is_none(), "same outcome, no diff");
    let mut tally = ShadowTally::default();
    tally.add(&order, &d, &cd);
    let rows = tally.rows();
    let addr = rows
        .iter()
        .find(|r| r.check == CheckId::AddressComplete)
        .expect("address row");
    assert_eq!(
        (addr.in_force, addr.candidate, addr.outcome),
        (0, 1, Outcome::Hold)
    );

    let i = impact(&order, now, &profile.impact);
    let names: Vec<&str> = i.parts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["value 25.99 USD", "promise in 2 h", "channel amazon SLA"]
    );
    assert!(i.score > 50.0);
    assert_eq!(fingerprint(&order).len(), 32);
    let _ = ImpactWeights::default();
}

/// What `fuzz/fuzz_targets/gates_evaluate.rs` runs on each input.
fn fuzz_body(data: &[u8]) {
    let Ok(order) = serde_json::from_slice::<Order>(data) else {
        return;
    };
    let now: jiff::Timestamp = "2026-12-08T12:00:00Z".parse().expect("a fixed instant");
    let catalogue = ListCatalogue::default();
    let dups = ["o-1".to_string()];
    let facts = Facts {
        now,
        catalogue: &catalogue,
        duplicates: &dups,
    };
    let profile = Profile::default();
    let d = evaluate(&profile, &order, &facts);
    let worst = d
        .findings
        .iter()
        .map(|f| f.outcome)
        .max()
        .unwrap_or(Outcome::Pass);
    assert_eq!(d.outcome, worst);
    let mut checks: Vec<CheckId> = d.findings.iter().map(|f| f.check).collect();
    checks.dedup();
    assert_eq!(checks, CheckId::ALL.to_vec());
    let _ = fingerprint(&order);
    let i = impact(&order, now, &profile.impact);
    assert!(i.score.is_finite());
}

#[test]
fn the_fuzz_body_on_the_order_and_its_truncations() {
    fuzz_body(ORDER.as_bytes());
    let extreme = ORDER
        .replace("\"25.99\"", "\"79228162514264337593543950335\"")
        .replace(
            "\"quantity\": \"3\"",
            "\"quantity\": \"79228162514264337593543950335\"",
        );
    fuzz_body(extreme.as_bytes());
    for cut in 0..ORDER.len() {
        fuzz_body(&ORDER.as_bytes()[..cut]);
    }
}
