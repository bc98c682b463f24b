//! The command line: help, key management, config errors. No server runs here.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::BIN;
use std::process::{Command, Output};

fn waypost(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .expect("run waypost")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_lists_every_subcommand() {
    let out = Command::new(BIN)
        .arg("--help")
        .output()
        .expect("run waypost");
    assert!(out.status.success());
    let help = text(&out.stdout);
    for cmd in [
        "serve",
        "demo",
        "keys",
        "bench",
        "verify",
        "normalize",
        "mappings",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(cmd)),
            "{cmd} missing from:\n{help}"
        );
    }
}

#[test]
fn keys_create_prints_exactly_one_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = waypost(
        &[
            "keys",
            "create",
            "--tenant",
            "acme",
            "--scopes",
            "ingest,read,admin",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout:?}");
    assert!(lines[0].starts_with("wp_"), "{stdout:?}");
    assert_eq!(lines[0].len(), 3 + 43, "{stdout:?}");
    assert!(!lines[0].contains(char::is_whitespace));

    // Two keys are different, and the list shows both without their secrets.
    let second = waypost(&["keys", "create", "--tenant", "acme"], dir.path());
    assert!(second.status.success());
    assert_ne!(text(&second.stdout), stdout);
    let list = waypost(&["keys", "list"], dir.path());
    assert!(list.status.success(), "{}", text(&list.stderr));
    let list = text(&list.stdout);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(!list.contains("wp_"), "key list shows a secret: {list}");
    assert!(
        list.lines()
            .all(|l| l.starts_with("key_") && l.contains("\tacme\t")),
        "{list}"
    );
}

#[test]
fn revoke_marks_the_key_and_refuses_unknown_ids() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(
        waypost(&["keys", "create", "--tenant", "acme"], dir.path())
            .status
            .success()
    );
    let list = text(&waypost(&["keys", "list"], dir.path()).stdout);
    let id = list.split('\t').next().expect("key id").to_string();
    let out = waypost(&["keys", "revoke", &id], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = text(&waypost(&["keys", "list"], dir.path()).stdout);
    assert!(list.trim_end().ends_with("\trevoked"), "{list}");
    let again = waypost(&["keys", "revoke", &id], dir.path());
    assert!(!again.status.success(), "revoking twice should fail");
    let unknown = waypost(&["keys", "revoke", "key_000000000000"], dir.path());
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("key_000000000000"),
        "{}",
        text(&unknown.stderr)
    );
}

#[test]
fn unknown_scope_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = waypost(
        &[
            "keys",
            "create",
            "--tenant",
            "acme",
            "--scopes",
            "ingest,superuser",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "printed a key: {}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("superuser") && err.contains("unknown scope"),
        "{err}"
    );
    let none = waypost(
        &["keys", "create", "--tenant", "acme", "--scopes", ","],
        dir.path(),
    );
    assert!(!none.status.success());
    let bad_tenant = waypost(&["keys", "create", "--tenant", "Not A Slug"], dir.path());
    assert!(!bad_tenant.status.success());
    assert!(bad_tenant.stdout.is_empty());
}

#[test]
fn config_file_with_an_unknown_key_names_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = dir.path().join("waypost.toml");
    for (toml, name) in [
        ("[server]\nlisen = \"127.0.0.1:9000\"\n", "lisen"),
        ("[sever]\nlisten = \"127.0.0.1:9000\"\n", "sever"),
        ("[queue]\nmax_event = 5000\n", "max_event"),
    ] {
        std::fs::write(&cfg, toml).expect("write config");
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&cfg)
            .args(["keys", "list", "--data-dir"])
            .arg(dir.path())
            .output()
            .expect("run waypost");
        assert!(!out.status.success(), "accepted {toml:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains(name),
            "error for {toml:?} does not name {name}: {err}"
        );
    }
}

#[test]
fn config_values_are_validated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = dir.path().join("waypost.toml");
    std::fs::write(&cfg, "[queue]\nmax_events = 10\n").expect("write config");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&cfg)
        .args(["verify", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run waypost");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("queue.max_events"),
        "{}",
        text(&out.stderr)
    );

    let missing = Command::new(BIN)
        .args(["--config", "/nonexistent/waypost.toml", "verify"])
        .output()
        .expect("run waypost");
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("does not exist"),
        "{}",
        text(&missing.stderr)
    );

    let env = Command::new(BIN)
        .args(["verify", "--data-dir"])
        .arg(dir.path())
        .env("WAYPOST_QUEUE__MAX_WAITING_REQUESTS", "3")
        .output()
        .expect("run waypost");
    assert!(!env.status.success());
    assert!(
        text(&env.stderr).contains("queue.max_waiting_requests"),
        "{}",
        text(&env.stderr)
    );
}

/// `WAYPOST_LOG` is the documented log filter (main.rs reads it with `EnvFilter::try_from_env`);
/// setting it must not break loading the configuration.
#[test]
fn log_filter_variable_does_not_break_the_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(BIN)
        .args(["keys", "create", "--tenant", "acme", "--data-dir"])
        .arg(dir.path())
        .env("WAYPOST_LOG", "debug")
        .output()
        .expect("run waypost");
    assert!(
        out.status.success(),
        "WAYPOST_LOG=debug broke the CLI: {}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).starts_with("wp_"));
}

#[test]
fn verify_reports_an_empty_store_as_consistent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = waypost(&["verify"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["events"], 0);
    assert_eq!(report["mismatches"], serde_json::json!([]));
}
