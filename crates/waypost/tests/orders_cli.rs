//! `waypost orders` against the real server: a CSV import with rows refused by the reader and
//! by the server (each named with its line and reason, and a non-zero exit), the same file
//! again (every order a duplicate), then the queue, `explain` of the held order, and its
//! release.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use serde_json::{Value, json};
use std::process::{Command, Output};

const ACCOUNTS: &str = r#"
[[accounts]]
id = "web"
channel = "api"
refs = ["web"]
sla = { default = "3d" }

[[accounts]]
id = "wholesale"
channel = "api"
refs = ["wholesale"]

# Named like the channel, it replaces the catch-all: a store no account lists is refused.
[[accounts]]
id = "api"
channel = "api"
refs = ["direct"]
"#;

const PROFILE: &str = "name = \"house\"\n[checks.sku_known]\noutcome = \"hold\"\n";
const SHADOW: &str = "name = \"stricter\"\n[checks.quantity]\noutcome = \"reject\"\nmax = 1\n";

const MAP: &str = r#"
order_id = "Order"
account = "Store"
sku = "SKU"
quantity = "Qty"
unit_price = "Price"
currency = "Currency"
created_at = "Placed"
service_level = "Shipping"
[ship_to]
line1 = "Street"
city = "City"
region = "State"
postal_code = "Zip"
country = "Country"
[customer]
email = "Email"
"#;

/// Line 1 is the header. C-1 (lines 2-3) is accepted; C-2 (4) is held for its unknown SKU;
/// C-3 (5) has a negative quantity and C-5 (7) a price with four decimals: the reader refuses
/// them; C-4 (6) names a store no account lists: the server refuses it.
const CSV: &str = "\
Order,Store,SKU,Qty,Price,Currency,Placed,Shipping,Street,City,State,Zip,Country,Email
C-1,web,SKU-1,1,12.50,USD,2026-12-01T09:00:00Z,standard,1 Main St,Newark,NJ,07102,US,c1@example.com
C-1,web,SKU-2,1,3.00,USD,2026-12-01T09:00:00Z,standard,1 Main St,Newark,NJ,07102,US,c1@example.com
C-2,web,NOPE,2,40.00,USD,2026-12-01T10:00:00Z,standard,2 Oak Ave,Trenton,NJ,08608,US,c2@example.com
C-3,web,SKU-1,-1,12.50,USD,2026-12-01T11:00:00Z,standard,3 Elm St,Newark,NJ,07102,US,c3@example.com
C-4,ghost,SKU-1,1,12.50,USD,2026-12-01T12:00:00Z,standard,4 Pine St,Newark,NJ,07102,US,c4@example.com
C-5,wholesale,SKU-2,1,12.3456,USD,2026-12-01T13:00:00Z,standard,5 Birch Rd,Newark,NJ,07102,US,c5@example.com
";

fn waypost(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("WAYPOST_KEY")
        .env_remove("WAYPOST_URL")
        .output()
        .expect("run waypost")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn import_reports_every_refused_row_then_explain_and_release_the_held_order() {
    let files = tempfile::tempdir().unwrap();
    let f = |name: &str| files.path().join(name).display().to_string();
    std::fs::write(f("accounts.toml"), ACCOUNTS).unwrap();
    std::fs::write(f("profile.toml"), PROFILE).unwrap();
    std::fs::write(f("shadow.toml"), SHADOW).unwrap();
    std::fs::write(f("map.toml"), MAP).unwrap();
    std::fs::write(f("march.csv"), CSV).unwrap();
    let config = format!(
        "[orders.tenants.acme]\naccounts = \"{}\"\nprofile = \"{}\"\nshadow = \"{}\"\n",
        f("accounts.toml"),
        f("profile.toml"),
        f("shadow.toml")
    );
    let s = spawn_server_with_config(&config).await;
    let key = s.key("acme", "ingest,read,operate,admin");
    let put = s
        .http
        .put(s.url("/v1/catalogue"))
        .bearer_auth(&key)
        .json(&json!([{"sku": "SKU-1"}, {"sku": "SKU-2"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let server = ["--url", s.base.as_str(), "--key", key.as_str()];

    // The import: two orders taken, three rows refused, each with its line; exit non-zero.
    let csv = f("march.csv");
    let map = f("map.toml");
    let mut args = vec!["orders", "import", csv.as_str(), "--map", map.as_str()];
    args.extend(server);
    let out = waypost(&args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("2 imported (1 accepted, 0 backordered, 1 held, 0 rejected"),
        "{stdout}"
    );
    assert!(stdout.contains("3 refused"), "{stdout}");
    let row = |line: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{line} ")))
            .unwrap_or_else(|| panic!("no line {line} in\n{stdout}"))
            .to_string()
    };
    assert!(row("5").contains("reader") && row("5").contains("quantity -1 is not positive"));
    assert!(row("6").contains("C-4") && row("6").contains("server"));
    assert!(row("6").contains("\"ghost\""), "{}", row("6"));
    assert!(
        row("7").contains("has more than 2 decimal places"),
        "{}",
        row("7")
    );
    assert!(stderr.contains("3 rows of"), "{stderr}");

    // Again, as JSON: the same orders are known, the same rows refused.
    args.push("--json");
    let out = waypost(&args);
    assert!(!out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["imported"].as_u64(), report["duplicates"].as_u64()),
        (Some(2), Some(2)),
        "{report}"
    );
    let lines: Vec<u64> = report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![5, 6, 7]);
    assert_eq!(report["refused"][1]["by"], "server");
    assert_eq!(report["refused"][1]["order_id"], "C-4");

    // The queue lists the held order with why.
    let mut args = vec!["orders", "queue"];
    args.extend(server);
    let out = waypost(&args);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let held = stdout.lines().nth(1).unwrap_or_default();
    assert!(held.starts_with("C-2 "), "{stdout}");
    assert!(
        held.contains("csv/web") && held.contains("80.00 USD"),
        "{stdout}"
    );
    assert!(held.contains("sku_known: "), "{stdout}");

    // Explain: who decided what, from which layer, and the shadow that would reject.
    let mut args = vec!["orders", "explain", "C-2"];
    args.extend(server);
    let out = waypost(&args);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.starts_with("order C-2  held  (version 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("decision: hold (profile house)"),
        "{stdout}"
    );
    let sku = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("sku_known"))
        .unwrap_or_else(|| panic!("no sku_known in\n{stdout}"));
    assert!(sku.contains(" hold ") && sku.contains(" global "), "{sku}");
    assert!(
        stdout
            .contains("shadow: reject (profile stricter), where the profile in force decided hold"),
        "{stdout}"
    );
    let mut args = vec!["orders", "explain", "C-2", "--json"];
    args.extend(server);
    let raw: Value = serde_json::from_slice(&waypost(&args).stdout).unwrap();
    assert_eq!(raw["decision"]["outcome"], "hold");

    // Released at the version reviewed; a stale version is refused with the server's reason.
    let mut args = vec![
        "orders",
        "release",
        "C-2",
        "--version",
        "1",
        "--actor",
        "ana",
    ];
    args.extend(server);
    let out = waypost(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "order C-2: accepted (version 1)");
    let out = waypost(&args);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("409"), "{}", text(&out.stderr));

    // An unknown order is named.
    let mut args = vec!["orders", "explain", "C-404"];
    args.extend(server);
    let out = waypost(&args);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("C-404"), "{}", text(&out.stderr));
}

#[tokio::test]
async fn the_dashboard_serves_the_intake_view() {
    let s = spawn_server().await;
    let client = plain_client();
    let shell = client.get(s.url("/")).send().await.unwrap();
    assert!(shell.text().await.unwrap().contains("href=\"#/intake\""));
    let js = client
        .get(s.url("/assets/app/intake.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    let js = js.text().await.unwrap();
    for call in [
        "/v1/intake/queue",
        "/v1/intake/gates",
        "/v1/intake/revalidate",
        "/intake`",
    ] {
        assert!(js.contains(call), "{call} not in intake.js");
    }
    let main = client
        .get(s.url("/assets/app/main.js"))
        .send()
        .await
        .unwrap();
    assert!(main.text().await.unwrap().contains("renderIntake"));
}

#[test]
fn every_orders_subcommand_has_help_ending_with_an_example() {
    for cmd in [
        "import",
        "explain",
        "queue",
        "release",
        "reject",
        "revalidate",
        "catalogue",
        "stock",
    ] {
        let out = waypost(&["orders", cmd, "--help"]);
        assert!(out.status.success(), "{cmd}: {}", text(&out.stderr));
        let help = text(&out.stdout);
        let tail = help
            .trim_end()
            .rsplit("Example:")
            .next()
            .unwrap_or_default();
        assert!(
            help.contains("Example:") && tail.contains(&format!("waypost orders {cmd}")),
            "{cmd}:\n{help}"
        );
    }
}

/// The user's guide's examples are what the server and the CLI accept.
#[test]
fn the_guides_examples_are_accepted() {
    let guide =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/orders.md"))
            .unwrap();
    let blocks: Vec<&str> = guide
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    let find = |start: &str| {
        *blocks
            .iter()
            .find(|b| b.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no block starting {start:?}"))
    };
    let accounts = find("[[accounts]]");
    let profile = find("name = \"house\"");
    waypost_order_intake::TenantOrders::parse(
        Some(("accounts.toml", accounts)),
        Some(("profile.toml", profile)),
        Some(("shadow.toml", profile)),
    )
    .unwrap();
    let map: waypost_orders::channels::tabular::ColumnMap =
        toml::from_str(find("order_id = \"Order Number\"")).unwrap();
    assert_eq!(map.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn catalogue_and_stock_files_are_imported_and_stock_releases_a_backorder() {
    let s = spawn_server().await;
    let key = s.key("acme", "ingest,read");
    let files = tempfile::tempdir().unwrap();
    let f = |name: &str| files.path().join(name).display().to_string();
    std::fs::write(
        f("skus.csv"),
        "\u{feff}SKU,Title\nMUG-1,Mug\n,Nameless\nTEE-2,\n",
    )
    .unwrap();
    let server = ["--url", s.base.as_str(), "--key", key.as_str()];
    let skus = f("skus.csv");
    let mut args = vec!["orders", "catalogue", skus.as_str()];
    args.extend(server);
    let out = waypost(&args);
    assert!(
        !out.status.success(),
        "a refused row makes the exit non-zero"
    );
    assert!(
        text(&out.stdout).contains("2 SKUs written"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("line 3: no sku"),
        "{}",
        text(&out.stderr)
    );
    // One in stock, two wanted: backordered; the count file brings five.
    let put = s
        .http
        .put(s.url("/v1/stock"))
        .bearer_auth(&key)
        .json(&json!([{"warehouse": "EWR", "sku": "MUG-1", "available": 1}]))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let order = json!({"order_id": "S-1", "created_at": "2026-12-01T09:00:00Z",
        "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "9.00"}], "currency": "USD",
        "ship_to": {"lines": ["1 Main St"], "city": "Newark", "region": "NJ", "postal_code": "07102", "country": "US"}});
    let r = s.post(&key, "/v1/orders", order).await;
    assert_eq!(
        r.body["results"][0]["status"], "backordered",
        "{:?}",
        r.body
    );
    std::fs::write(
        f("counts.csv"),
        "warehouse,sku,available,counted_at\nEWR,MUG-1,5,2030-01-01T00:00:00Z\nEWR,TEE-2,lots,\n",
    )
    .unwrap();
    let counts = f("counts.csv");
    let mut args = vec!["orders", "stock", counts.as_str()];
    args.extend(server);
    let out = waypost(&args);
    assert!(
        text(&out.stdout).contains("released: S-1"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("line 3: available \"lots\""),
        "{}",
        text(&out.stderr)
    );
    s.wait_for_status(&key, "S-1", "pending").await;
}
