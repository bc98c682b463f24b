//! The gates on any order: the input, read as a JSON `Order`, is judged by the built-in
//! profile; the decision must be the most severe of its findings and name every check.
#![no_main]

use waypost_orders::Order;
use waypost_orders::gates::{CheckId, Facts, ListCatalogue, Outcome, Profile, evaluate, impact};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
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
    let worst = d.findings.iter().map(|f| f.outcome).max().unwrap_or(Outcome::Pass);
    assert_eq!(d.outcome, worst);
    let mut checks: Vec<CheckId> = d.findings.iter().map(|f| f.check).collect();
    checks.dedup();
    assert_eq!(checks, CheckId::ALL.to_vec());
    let _ = waypost_orders::gates::fingerprint(&order);
    let i = impact(&order, now, &profile.impact);
    assert!(i.score.is_finite());
});
