//! `[[order_channels]]` parsing and validation.
use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    order_channels: Vec<OrderChannelConfig>,
}

/// The module's example, and one entry per channel with only what it requires.
const EXAMPLE: &str = r#"
[[order_channels]]
name = "amazon-acme-us"
tenant = "acme"
channel = "amazon"
base_url = "https://sellingpartnerapi-na.amazon.com"
seller_id = "A3TV5VQ0WPZ8XS"
marketplace_ids = ["ATVPDKIKX0DER"]
interval = "2m"
[order_channels.credentials]
lwa_client_id = "amzn1.application-oa2-client.abc"
lwa_client_secret = "env:AMZ_LWA_SECRET"
refresh_token = "file:/run/secrets/amz-refresh"
[order_channels.rate_limits.orders]
rate_per_sec = 0.0167
burst = 20

[[order_channels]]
name = "shop-acme"
tenant = "acme"
channel = "shopify"
base_url = "https://acme.myshopify.com"
credentials = { access_token = "env:SHOPIFY_TOKEN" }

[[order_channels]]
name = "woo-acme"
tenant = "acme"
channel = "woocommerce"
account = "acme-woo"
base_url = "https://candles.example/"
credentials = { consumer_key = "ck_1", consumer_secret = "cs_1" }

[[order_channels]]
name = "magento-acme"
tenant = "acme"
channel = "magento"
base_url = "https://m.example"
store_code = "default"
credentials = { bearer_token = "t" }

[[order_channels]]
name = "bc-acme"
tenant = "acme"
channel = "bigcommerce"
base_url = "https://api.bigcommerce.com/stores/3xa9h2kd"
credentials = { auth_token = "t" }
"#;

fn example() -> Vec<OrderChannelConfig> {
    toml::from_str::<File>(EXAMPLE)
        .expect("the example parses")
        .order_channels
}

#[test]
fn the_example_parses_resolves_and_validates() {
    let mut all = example();
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("refresh");
    std::fs::write(&path, "Atzr|from-file\n").expect("writes");
    all[0].credentials.refresh_token = Some(Secret::new(format!("file:{}", path.display())));
    let env = |v: &str| match v {
        "AMZ_LWA_SECRET" => Some("lwa-secret".to_owned()),
        "SHOPIFY_TOKEN" => Some("shpat".to_owned()),
        _ => None,
    };
    for c in &mut all {
        c.resolve_secrets(&env).expect("resolves");
    }
    assert_eq!(validate_channels(&all), Ok(()));
    let amz = &all[0];
    assert_eq!(amz.interval, Duration::from_secs(120));
    assert_eq!(
        amz.credentials.refresh_token.as_ref().map(Secret::expose),
        Some("Atzr|from-file")
    );
    assert_eq!(
        amz.credentials.token_url,
        "https://api.amazon.com/auth/o2/token"
    );
    assert_eq!(
        amz.limit(Endpoint::OrderItems),
        Limit {
            rate_per_sec: 0.5,
            burst: 30
        }
    );
    assert_eq!(amz.reference().as_deref(), Some("A3TV5VQ0WPZ8XS"));
    assert_eq!(all[1].reference().as_deref(), Some("acme.myshopify.com"));
    assert_eq!(all[4].reference().as_deref(), Some("stores/3xa9h2kd"));
    assert!(
        !format!("{:?}", all[2]).contains("cs_1"),
        "secrets never print"
    );
}

#[test]
fn unknown_fields_and_channels_are_refused() {
    let bad = EXAMPLE.replace("store_code = \"default\"", "store = \"default\"");
    assert!(toml::from_str::<File>(&bad).is_err());
    let bad = EXAMPLE.replace("channel = \"magento\"", "channel = \"etsy\"");
    assert!(toml::from_str::<File>(&bad).is_err());
    let bad = EXAMPLE.replace(
        "[order_channels.rate_limits.orders]",
        "[order_channels.rate_limits.refunds]",
    );
    assert!(toml::from_str::<File>(&bad).is_err());
}

#[test]
fn validate_names_the_field() {
    let all = example();
    type Breaker = Box<dyn Fn(&mut OrderChannelConfig)>;
    let cases: Vec<(usize, &str, Breaker)> = vec![
        (0, "name", Box::new(|c| c.name = "Bad Name".into())),
        (0, "base_url", Box::new(|c| c.base_url = "ftp://x".into())),
        (
            0,
            "credentials.refresh_token",
            Box::new(|c| c.credentials.refresh_token = None),
        ),
        (0, "seller_id", Box::new(|c| c.seller_id = None)),
        (
            0,
            "marketplace_ids",
            Box::new(|c| c.marketplace_ids.clear()),
        ),
        (0, "page_size", Box::new(|c| c.page_size = 101)),
        (
            1,
            "credentials.access_token",
            Box::new(|c| c.credentials.access_token = None),
        ),
        (
            2,
            "credentials.consumer_secret",
            Box::new(|c| c.credentials.consumer_secret = None),
        ),
        (
            3,
            "credentials.bearer_token",
            Box::new(|c| c.credentials.bearer_token = None),
        ),
        (
            4,
            "account_ref",
            Box::new(|c| c.base_url = "https://api.bigcommerce.com/".into()),
        ),
        (
            4,
            "rate_limits",
            Box::new(|c| {
                c.rate_limits.insert(
                    Endpoint::Orders,
                    Limit {
                        rate_per_sec: 0.0,
                        burst: 1,
                    },
                );
            }),
        ),
        (4, "interval", Box::new(|c| c.interval = Duration::ZERO)),
    ];
    for (i, field, break_it) in cases {
        let mut c = all[i].clone();
        break_it(&mut c);
        assert_eq!(c.validate().map_err(|e| e.field), Err(field), "{field}");
    }
    let twice = validate_channels(&[all[1].clone(), all[1].clone()]).expect_err("twice");
    assert_eq!(twice.field, "name");
}
