//! The tidy tests: the house's rules, checked on the real workspace, and each shown failing on
//! a fixture (`fixtures/`) through the same checker functions.

use std::path::{Path, PathBuf};
use waypost_tidy::{Finding, Member, check_layers, pure_dependencies, report, walk};

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workspace_root() -> PathBuf {
    here().join("../..")
}

fn metadata() -> serde_json::Value {
    // The harness runs tests with the `CARGO` that builds them.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    waypost_tidy::cargo_metadata(&cargo, &rustc, &workspace_root()).expect("cargo metadata")
}

fn fixture_metadata() -> serde_json::Value {
    let text = std::fs::read_to_string(here().join("fixtures/metadata.json")).expect("fixture");
    serde_json::from_str(&text).expect("fixture metadata is JSON")
}

fn as_text(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(ToString::to_string).collect()
}

#[test]
fn every_crate_declares_its_layer_and_the_pure_ones_are_pure() {
    let meta = metadata();
    let members = waypost_tidy::members(&meta);
    assert!(
        members.iter().any(|m| m.name == "waypost-domain"),
        "the workspace's metadata lists no waypost-domain"
    );
    let findings = check_layers(&meta);
    assert!(findings.is_empty(), "layers:\n{}", report(&findings));
    for name in [
        "waypost-domain",
        "waypost-rules",
        "waypost-adapters",
        "waypost-notify",
    ] {
        assert!(
            members
                .iter()
                .any(|m| m.name == name && m.layer.as_deref() == Some("pure")),
            "{name} is missing or not pure"
        );
    }
}

#[test]
fn pure_crates_reach_no_runtime_http_stack_or_database() {
    let findings = pure_dependencies(&metadata());
    assert!(findings.is_empty(), "pure crates:\n{}", report(&findings));
}

#[test]
fn sql_stays_in_backends_and_the_clock_and_environment_in_the_binary() {
    let meta = metadata();
    let root = workspace_root().canonicalize().expect("the workspace root");
    let findings: Vec<Finding> = waypost_tidy::members(&meta)
        .iter()
        .flat_map(|m| walk(&root, m, ".rs"))
        .collect();
    assert!(findings.is_empty(), "sources:\n{}", report(&findings));
}

#[test]
fn the_layer_rules_fail_on_the_fixture() {
    let meta = fixture_metadata();
    assert_eq!(
        as_text(&check_layers(&meta)),
        [
            "crates/notify/Cargo.toml: waypost-notify must be declared `layer = \"pure\"` (no I/O, \
             no async, no clock): move what needs I/O into a service crate instead of opting out",
            "crates/nolayer/Cargo.toml: fake-nolayer declares no layer: add \
             `[package.metadata.waypost] layer = \"...\"`, one of pure, backend, service, edge, \
             binary, tooling",
            "crates/odd/Cargo.toml: fake-odd declares the unknown layer \"attic\": use one of \
             pure, backend, service, edge, binary, tooling",
        ]
    );
}

#[test]
fn the_pure_dependency_rule_fails_on_the_fixture() {
    // Dev and build dependencies do not count; normal ones do, however deep.
    assert_eq!(
        as_text(&pure_dependencies(&fixture_metadata())),
        [
            "crates/domain/Cargo.toml: fake-domain is pure but depends on tokio (fake-domain -> \
             fake-helper -> tokio): a pure crate does no I/O; move that code to a service crate \
             or drop the dependency",
            "crates/rules/Cargo.toml: fake-rules is pure but depends on reqwest (fake-rules -> \
             reqwest): a pure crate does no I/O; move that code to a service crate or drop the \
             dependency",
        ]
    );
}

fn fixture_crate(name: &str, layer: &str) -> Member {
    Member {
        name: format!("fake-{name}"),
        layer: Some(layer.to_owned()),
        dir: Path::new("crates").join(name),
        manifest: format!("crates/{name}/Cargo.toml"),
    }
}

#[test]
fn the_source_rules_fail_on_the_fixture() {
    let root = here().join("fixtures/workspace");
    let scan =
        |name: &str, layer: &str| as_text(&walk(&root, &fixture_crate(name, layer), ".rs.txt"));
    let clock = "outside the binary: take a `waypost_domain::Clock` and let the binary hand in \
                 its `SystemClock`";
    let env = "reads the environment outside the binary: let the binary read it and pass the \
               value in through the crate's configuration";
    assert_eq!(
        scan("api", "edge"),
        [
            "crates/api/migrations/0001_init.sql: an .sql file in a edge crate: only a backend \
             crate holds SQL; move it there"
                .to_owned(),
            "crates/api/src/lib.rs.txt:7: SQL (SELECT ... FROM) in a edge crate: only a backend \
             crate holds SQL; move the query behind a store trait and into the backend"
                .to_owned(),
            format!(
                "crates/api/src/lib.rs.txt:14: `Timestamp::now` reads the system clock {clock}"
            ),
            format!("crates/api/src/lib.rs.txt:18: `env::var` {env}"),
            format!("crates/api/src/lib.rs.txt:22: `env::var` {env}"),
            format!("crates/api/src/lib.rs.txt:23: `var_os` {env}"),
        ]
    );
    assert_eq!(
        scan("store", "backend"),
        [format!(
            "crates/store/src/lib.rs.txt:10: `SystemTime::now` reads the system clock {clock}"
        )]
    );
    assert_eq!(
        scan("waypost", "binary"),
        [
            "crates/waypost/src/main.rs.txt:6: SQL (PRAGMA user_version) in a binary crate: only \
          a backend crate holds SQL; move the query behind a store trait and into the backend"
        ]
    );
}
