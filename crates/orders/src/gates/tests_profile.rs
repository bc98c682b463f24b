//! Reading profiles: the documented example, every problem at once, paths and lines.

use super::*;
use proptest::prelude::*;

pub(super) const EXAMPLE: &str = r#"
name = "2026-12 default"
[checks.required]        # global layer
outcome = "reject"
fields = ["lines", "ship_to", "customer.email|customer.phone", "currency"]
[checks.address_complete]
outcome = "hold"
[checks.postal_format]
outcome = "hold"
[checks.sku_known]
outcome = "hold"
[checks.quantity]
outcome = "reject"
max = 500
[checks.price]
outcome = "hold"
max_unit = "10000"     # zero or negative unit prices are also caught
[checks.currency]
outcome = "reject"
allowed = ["USD", "EUR", "GBP", "CAD"]
[checks.duplicate]
outcome = "hold"
window = "2h"
[checks.channel_risk]
outcome = "hold"
at_least = "medium"
[checks.promise]
outcome = "warn"
min_lead = "4h"        # promise closer than this to now (or passed) fails
[checks.stock]
outcome = "backorder"
[checks.channel_state] # Incomplete / OnHold in the channel → hold (cancelled is not a gate)
outcome = "hold"
[channel.amazon.checks.address_complete]
outcome = "pass"       # no street without a restricted data token
[account."acme-shop".checks.sku_known]
outcome = "warn"

[impact]
per_unit_value = 0.2
vip = 40
[impact.channel_sla]
amazon = 50
"#;

#[test]
fn the_documented_example_reads() {
    let p = Profile::parse(EXAMPLE).expect("the example parses");
    assert_eq!(p.name, "2026-12 default");
    let s = p.settings(CheckId::Quantity, crate::model::Channel::Shopify, "x");
    assert_eq!((s.outcome, s.max), (Outcome::Reject, Decimal::from(500)));
    let s = p.settings(CheckId::Required, crate::model::Channel::Shopify, "x");
    assert_eq!(
        s.fields,
        vec![
            vec![Field::Lines],
            vec![Field::ShipTo],
            vec![Field::CustomerEmail, Field::CustomerPhone],
            vec![Field::Currency]
        ]
    );
    let s = p.settings(
        CheckId::SkuKnown,
        crate::model::Channel::Shopify,
        "acme-shop",
    );
    assert_eq!(
        (s.outcome, s.outcome_from),
        (Outcome::Warn, Layer::Account("acme-shop".into()))
    );
    assert_eq!(p.impact.vip, 40.0);
    assert_eq!(p.impact.per_unit_value, 0.2);
    assert_eq!(
        p.impact.channel_sla.get(&crate::model::Channel::Amazon),
        Some(&50.0)
    );
    assert_eq!(
        p.impact.horizon_hours, 48.0,
        "unset weights keep their defaults"
    );
}

#[test]
fn a_profile_naming_nothing_but_its_name_is_the_built_in_one() {
    let p = Profile::parse("name = \"empty\"").expect("parses");
    assert_eq!(
        p,
        Profile {
            name: "empty".into(),
            ..Profile::default()
        }
    );
}

#[test]
fn every_problem_is_reported_at_once_with_path_and_line() {
    let text = r#"name = "five mistakes"
[checks.quantity]
max = "lots"
[checks.duplicate]
window = "2 weeks"
[checks.speed]
outcome = "hold"
[channel.ebay.checks.price]
outcome = "hold"
[account."acme-shop".checks.sku_known]
outcom = "warn"
"#;
    let problems = Profile::parse(text).expect_err("five mistakes");
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 5, "{shown:#?}");
    let expect = [
        ("checks.quantity.max", 3, "\"lots\" is not a decimal number"),
        (
            "checks.duplicate.window",
            5,
            "\"2 weeks\" is not a duration",
        ),
        ("checks.speed", 6, "unknown check (valid: required,"),
        ("channel.ebay", 8, "unknown channel (valid: shopify,"),
        (
            "account.\"acme-shop\".checks.sku_known.outcom",
            11,
            "unknown key",
        ),
    ];
    for (path, line, words) in expect {
        let p = problems
            .iter()
            .find(|p| p.path == path)
            .unwrap_or_else(|| panic!("no problem at {path}: {shown:#?}"));
        assert_eq!(p.line, Some(line), "{p}");
        assert!(p.message.starts_with(words), "{p}");
    }
    assert_eq!(
        shown[4],
        "account.\"acme-shop\".checks.sku_known.outcom: unknown key (valid: outcome, enabled) (line 11)"
    );
}

#[test]
fn wrong_types_and_values_are_named() {
    let text = r#"
nmae = "typo"
[checks.required]
fields = ["lines", "ship_to.street"]
enabled = "yes"
[checks.currency]
allowed = ["usd", "EUR"]
outcome = "refuse"
[checks.channel_risk]
at_least = "severe"
max = 3
[checks.price]
max_unit = -1
[account."Bad Shop".checks.stock]
enabled = false
[account.ok.extra]
x = 1
[impact]
vip = -5
speed = 1
[impact.channel_sla]
ebay = 10
"#;
    let problems = Profile::parse(text).expect_err("many mistakes");
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "nmae",
            "checks.required.fields[1]",
            "checks.required.enabled",
            "checks.currency.allowed[0]",
            "checks.currency.outcome",
            "checks.channel_risk.at_least",
            "checks.channel_risk.max",
            "checks.price.max_unit",
            "account.\"Bad Shop\"",
            "account.\"ok\".extra",
            "impact.vip",
            "impact.speed",
            "impact.channel_sla.ebay",
            "name",
        ],
        "{problems:#?}"
    );
    assert!(problems.iter().all(|p| !p.message.is_empty()));
}

#[test]
fn a_syntax_error_names_its_line() {
    let problems = Profile::parse("name = \"x\"\n[checks.quantity\nmax = 3\n").expect_err("bad");
    assert!(!problems.is_empty());
    assert_eq!(problems[0].line, Some(2), "{problems:?}");
    assert!(problems[0].to_string().starts_with("not TOML"));
}

proptest! {
    #[test]
    fn parsing_never_panics(text in ".{0,200}") {
        let _ = Profile::parse(&text);
    }

    #[test]
    fn parsing_mutated_examples_never_panics(cut in 0usize..1200, junk in ".{0,6}") {
        let mut t = EXAMPLE.to_string();
        let at = (0..=cut.min(t.len())).rev().find(|i| t.is_char_boundary(*i)).unwrap_or(0);
        t.insert_str(at, &junk);
        let _ = Profile::parse(&t);
    }
}

#[test]
fn hostile_profiles_are_refused_in_bounded_time() {
    let deep = format!("name = \"x\"\na = {}", "[".repeat(100_000));
    assert!(Profile::parse(&deep).is_err());
    let deep = format!(
        "name = \"x\"\na = {}1{}",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    assert!(Profile::parse(&deep).is_err());
    let inline = format!("name = \"x\"\na = {}", "{b = ".repeat(50_000));
    assert!(Profile::parse(&inline).is_err());
    // Many problems on many lines: line numbers must not cost a scan each.
    let mut many = String::from("name = \"x\"\n[checks.quantity]\n");
    for i in 0..50_000 {
        many.push_str(&format!("k{i} = 1\n"));
    }
    let started = std::time::Instant::now();
    let problems = Profile::parse(&many).expect_err("unknown keys");
    assert_eq!(problems.len(), 50_000);
    assert_eq!(problems[49_999].line, Some(50_002));
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}

#[test]
fn an_array_item_names_its_own_line() {
    let text = "name = \"x\"\n[checks.currency]\nallowed = [\n  \"USD\",\n  \"euro\",\n]\n";
    let problems = Profile::parse(text).expect_err("euro");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "checks.currency.allowed[1]");
    assert_eq!(problems[0].line, Some(5));
}
