//! The order-intake settings the simulated shops are judged by, written as an operator would:
//! an accounts file whose accounts make some orders high priority (express service levels, a
//! VIP tag, a marketplace-SLA account), a profile that holds unknown SKUs, incomplete
//! addresses and duplicates and rejects absurd quantities, and the catalogue the SKU check
//! reads. The truth ([`super::IntakeTruth`]) is what this profile must decide.
pub const SHOP_DOMAIN: &str = "bench-outfitters.myshopify.com";
pub const SHOP_SECRET: &str = "shpss_bench_secret";
pub const WOO_SITE: &str = "https://bench-candles.example/";
pub const WOO_SECRET: &str = "woo-bench-secret";

/// The profile's `quantity` maximum; planted rejects order more.
pub const MAX_QUANTITY: u32 = 100;

/// SKUs the tenant sells, with a unit price.
pub const CATALOGUE: [(&str, &str); 8] = [
    ("MUG-12-SLATE", "24.00"),
    ("BLK-WOOL", "89.50"),
    ("APRON-OLV-M", "32.00"),
    ("SOY-CEDAR", "18.00"),
    ("0459002210", "4.75"),
    ("0650003318", "52.40"),
    ("LAMP-LED-150", "106.95"),
    ("TOTE-CANVAS", "21.00"),
];

/// `[orders.tenants.<tenant>]` of a configuration whose files are in `dir`, as written by
/// [`ACCOUNTS`] and [`profile`] into `orders-accounts.toml` and `orders-profile.toml`.
pub fn config_toml(tenant: &str, dir: &str) -> String {
    format!(
        "[orders.tenants.{tenant}]\naccounts = \"{dir}/orders-accounts.toml\"\nprofile = \"{dir}/orders-profile.toml\"\n"
    )
}

pub const ACCOUNTS: &str = r#"
[[accounts]]
id = "web"
channel = "api"
sla = { default = "3d", express = "1d" }
express_services = ["express"]
vip_tags = ["vip"]

[[accounts]]
id = "marketplace"
channel = "api"
refs = ["marketplace"]
sla = { default = "2d" }
all_high_priority = true

[[accounts]]
id = "shop"
channel = "shopify"
refs = ["bench-outfitters.myshopify.com"]
order_id = "shop-{external_id}"
sla = { default = "5d" }
vip_tags = ["vip"]
webhook_secrets = ["shpss_bench_secret"]

[[accounts]]
id = "candles"
channel = "woocommerce"
refs = ["https://bench-candles.example/"]
order_id = "woo-{external_id}"
sla = { default = "4d" }
express_services = ["express"]
webhook_secrets = ["woo-bench-secret"]

[[accounts]]
id = "partner"
channel = "x12"
order_id = "po-{external_id}"
currency = "USD"
"#;

/// The profile in force: the built-in checks, with these spelled out because the truth
/// relies on them.
pub fn profile() -> String {
    format!(
        "name = \"shops\"\n\n[checks.sku_known]\noutcome = \"hold\"\n\n[checks.address_complete]\noutcome = \"hold\"\n\n[checks.duplicate]\noutcome = \"hold\"\n\n[checks.quantity]\noutcome = \"reject\"\nmax = {MAX_QUANTITY}\n"
    )
}

/// The body of `PUT /v1/catalogue`.
pub fn catalogue() -> serde_json::Value {
    CATALOGUE
        .iter()
        .map(|(sku, _)| serde_json::json!({ "sku": sku }))
        .collect()
}
