//! Unit tests. Known-answer vectors were computed independently with Python's `hmac` module
//! (command quoted next to each), not with this code.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

use super::*;

/// 2024-06-10T06:13:20Z.
pub(super) const T0: i64 = 1_718_000_000;

pub(super) fn at(seconds: i64) -> Timestamp {
    match Timestamp::from_second(seconds) {
        Ok(ts) => ts,
        Err(e) => panic!("test timestamp {seconds}: {e}"),
    }
}

pub(super) fn secret(text: &str) -> Secret {
    match Secret::from_config(text) {
        Ok(s) => s,
        Err(e) => panic!("test secret: {e}"),
    }
}

pub(super) fn check(
    scheme: &Scheme,
    secrets: &[Secret],
    headers: &[(&str, &str)],
    body: &[u8],
    now: i64,
) -> Result<Verified, SignatureError> {
    verify(
        scheme,
        secrets,
        headers,
        body,
        at(now),
        scheme.default_tolerance(),
    )
}

pub(super) fn signed(
    scheme: &Scheme,
    secret: &Secret,
    body: &[u8],
    now: i64,
) -> Vec<(String, String)> {
    match sign(scheme, secret, "delivery-42", body, at(now)) {
        Ok(h) => h,
        Err(e) => panic!("sign {scheme}: {e}"),
    }
}

pub(super) fn check_owned(
    scheme: &Scheme,
    secrets: &[Secret],
    headers: &[(String, String)],
    body: &[u8],
    now: i64,
) -> Result<Verified, SignatureError> {
    verify(
        scheme,
        secrets,
        headers,
        body,
        at(now),
        scheme.default_tolerance(),
    )
}

/// Every scheme, with a secret each can use.
pub(super) fn all_schemes() -> Vec<(Scheme, Secret)> {
    vec![
        (
            Scheme::StandardWebhooks,
            secret("whsec_d2F5cG9zdC10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVm"),
        ),
        (Scheme::EasyPost, secret("waypost-easypost-secret")),
        (
            Scheme::EasyPostV2 {
                path: Some("/v1/webhooks/easypost".to_owned()),
            },
            secret("waypost-easypost-secret"),
        ),
        (Scheme::aftership(), secret("waypost-aftership-secret")),
        (Scheme::shopify(), secret("waypost-shopify-secret")),
        (Scheme::Shippo, secret("waypost-shippo-secret")),
    ]
}

/// The header carrying the MAC, for tampering with it.
pub(super) fn signature_header(scheme: &Scheme) -> &'static str {
    match scheme {
        Scheme::StandardWebhooks => "webhook-signature",
        Scheme::EasyPost => "X-Hmac-Signature",
        Scheme::EasyPostV2 { .. } => "x-hmac-signature-v2",
        Scheme::AfterShip { .. } => "aftership-hmac-sha256",
        Scheme::Shopify { .. } => "X-Shopify-Hmac-Sha256",
        Scheme::Shippo => "Shippo-Auth-Signature",
    }
}

pub(super) const BODY: &[u8] = br#"{"id":"evt_1","status":"in_transit"}"#;

// ---- known answers -------------------------------------------------------------------------

#[test]
fn standard_webhooks_known_answer() {
    // python3 -c 'import hmac,hashlib,base64; k=b"waypost-test-key-0123456789abcdef";
    //   print(base64.b64encode(k).decode()); print(base64.b64encode(hmac.new(k,
    //   b"msg_2Wp0sTq1k9.1718000000." + b"{\"type\":\"order.updated\",\"data\":{\"id\":\"ord_1\"}}",
    //   hashlib.sha256).digest()).decode())'
    const SIG: &str = "v1,FOj1u9MB+Ukg2EDBgYjT+XCHGTbMvjXOccgyNIemj/g=";
    let body = br#"{"type":"order.updated","data":{"id":"ord_1"}}"#;
    let headers = [
        ("Webhook-Id", "msg_2Wp0sTq1k9"),
        ("Webhook-Timestamp", "1718000000"),
        ("Webhook-Signature", SIG),
    ];
    let s = secret("whsec_d2F5cG9zdC10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVm");
    let ok = check(
        &Scheme::StandardWebhooks,
        std::slice::from_ref(&s),
        &headers,
        body,
        T0 + 30,
    );
    assert_eq!(
        ok,
        Ok(Verified {
            delivery_id: Some("msg_2Wp0sTq1k9".to_owned()),
            secret_index: 0,
            timestamp: Some(at(T0)),
        })
    );
    // Our signer produces the same headers.
    let ours = sign(
        &Scheme::StandardWebhooks,
        &s,
        "msg_2Wp0sTq1k9",
        body,
        at(T0),
    );
    assert_eq!(
        ours,
        Ok(vec![
            ("webhook-id".to_owned(), "msg_2Wp0sTq1k9".to_owned()),
            ("webhook-timestamp".to_owned(), "1718000000".to_owned()),
            ("webhook-signature".to_owned(), SIG.to_owned()),
        ])
    );
}

#[test]
fn easypost_known_answer() {
    // python3 -c 'import hmac,hashlib; print(hmac.new(b"waypost-easypost-secret",
    //   b"{\"id\":\"evt_123\",\"object\":\"Event\",\"description\":\"tracker.updated\"}",
    //   hashlib.sha256).hexdigest())'
    const HEX: &str = "d4ceb133c61d22a1423cf705953e8b96cd3307d84e42815cd9f3a8881e7ab5c7";
    let body = br#"{"id":"evt_123","object":"Event","description":"tracker.updated"}"#;
    let value = format!("hmac-sha256-hex={HEX}");
    let s = secret("waypost-easypost-secret");
    let ok = check(
        &Scheme::EasyPost,
        std::slice::from_ref(&s),
        &[("x-hmac-signature", &value)],
        body,
        T0,
    );
    assert_eq!(
        ok,
        Ok(Verified {
            delivery_id: None,
            secret_index: 0,
            timestamp: None
        })
    );
    assert_eq!(
        signed(&Scheme::EasyPost, &s, body, T0),
        vec![("X-Hmac-Signature".to_owned(), value)]
    );
    // Without the prefix and in upper case it is the same digest.
    let upper = HEX.to_ascii_uppercase();
    let bare = check(
        &Scheme::EasyPost,
        &[s],
        &[("X-Hmac-Signature", &upper)],
        body,
        T0,
    );
    assert!(bare.is_ok());
}

#[test]
fn easypost_v2_known_answer() {
    // python3 -c 'import hmac,hashlib; print(hmac.new(b"waypost-easypost-secret",
    //   b"Mon, 10 Jun 2024 06:13:20 -0000" + b"POST" + b"/v1/webhooks/easypost" +
    //   b"{\"id\":\"evt_123\",\"object\":\"Event\",\"description\":\"tracker.updated\"}",
    //   hashlib.sha256).hexdigest())'
    const HEX: &str = "c960466d4866c5d1437c7327f44750921583526b5cfae20d01a613546ef6a3a0";
    let body = br#"{"id":"evt_123","object":"Event","description":"tracker.updated"}"#;
    let value = format!("hmac-sha256-hex={HEX}");
    let headers = [
        ("X-Timestamp", "Mon, 10 Jun 2024 06:13:20 -0000"),
        ("X-Path", "/v1/webhooks/easypost"),
        ("X-Hmac-Signature-V2", value.as_str()),
    ];
    let s = secret("waypost-easypost-secret");
    let v2 = Scheme::EasyPostV2 {
        path: Some("/v1/webhooks/easypost".to_owned()),
    };
    let ok = check(&v2, std::slice::from_ref(&s), &headers, body, T0 - 60);
    assert_eq!(ok.map(|v| v.timestamp), Ok(Some(at(T0))));
    let ours = signed(&v2, &s, body, T0);
    assert!(ours.contains(&("x-hmac-signature-v2".to_owned(), value.clone())));
    // Another route's path is refused even with a valid MAC: the path is part of what
    // EasyPost signs, and this endpoint only accepts its own.
    let other = Scheme::EasyPostV2 {
        path: Some("/v1/webhooks/other".to_owned()),
    };
    assert!(matches!(
        check(&other, &[s], &headers, body, T0),
        Err(SignatureError::Malformed { ref header, .. }) if header == "x-path"
    ));
}

#[test]
fn aftership_known_answer() {
    // python3 -c 'import hmac,hashlib,base64; print(base64.b64encode(hmac.new(
    //   b"waypost-aftership-secret",
    //   b"{\"event\":\"tracking_update\",\"msg\":{\"tracking_number\":\"1Z999\"}}",
    //   hashlib.sha256).digest()).decode())'
    const SIG: &str = "ljJKIdFTLR3PHHArLherRnzKW1mAy8eEONumumWr7uM=";
    let body = br#"{"event":"tracking_update","msg":{"tracking_number":"1Z999"}}"#;
    let s = secret("waypost-aftership-secret");
    let ok = check(
        &Scheme::aftership(),
        std::slice::from_ref(&s),
        &[("Aftership-Hmac-Sha256", SIG)],
        body,
        T0,
    );
    assert_eq!(ok.map(|v| v.secret_index), Ok(0));
    assert_eq!(
        signed(&Scheme::aftership(), &s, body, T0),
        vec![("aftership-hmac-sha256".to_owned(), SIG.to_owned())]
    );
}

#[test]
fn shopify_known_answer() {
    // python3 -c 'import hmac,hashlib,base64; print(base64.b64encode(hmac.new(
    //   b"waypost-shopify-secret",
    //   b"{\"id\":820982911946154508,\"financial_status\":\"paid\"}",
    //   hashlib.sha256).digest()).decode())'
    const SIG: &str = "lg0vVBi7Te780e+ZXSsZLHHhBEjFm+YSncmQUrhcw9I=";
    let body = br#"{"id":820982911946154508,"financial_status":"paid"}"#;
    let headers = [
        ("X-Shopify-Hmac-SHA256", SIG),
        (
            "X-Shopify-Webhook-Id",
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        ),
        ("X-Shopify-Triggered-At", "2024-06-10T06:13:19.877041743Z"),
    ];
    let ok = check(
        &Scheme::shopify(),
        &[secret("waypost-shopify-secret")],
        &headers,
        body,
        T0,
    );
    let verified = match ok {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        verified.delivery_id.as_deref(),
        Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    );
    assert_eq!(verified.timestamp.map(|t| t.as_second()), Some(T0 - 1));
    // The id and timestamp headers are optional.
    let bare = check(
        &Scheme::shopify(),
        &[secret("waypost-shopify-secret")],
        &[("x-shopify-hmac-sha256", SIG)],
        body,
        T0,
    );
    assert_eq!(
        bare,
        Ok(Verified {
            delivery_id: None,
            secret_index: 0,
            timestamp: None
        })
    );
}

#[test]
fn shippo_known_answer() {
    // python3 -c 'import hmac,hashlib; print(hmac.new(b"waypost-shippo-secret",
    //   b"1718000000." + b"{\"event\":\"track_updated\",\"data\":{\"tracking_number\":
    //   \"9205590164917312751089\"}}", hashlib.sha256).hexdigest())'   (one line, no spaces)
    const HEX: &str = "4d2f1286d52f5acfe80ba348f5f68eaefe69290b031a52a26444ae50e7b49dd9";
    let body = br#"{"event":"track_updated","data":{"tracking_number":"9205590164917312751089"}}"#;
    let value = format!("t=1718000000,v1={HEX}");
    let s = secret("waypost-shippo-secret");
    let ok = check(
        &Scheme::Shippo,
        std::slice::from_ref(&s),
        &[("shippo-auth-signature", &value)],
        body,
        T0,
    );
    assert_eq!(ok.map(|v| v.timestamp), Ok(Some(at(T0))));
    assert_eq!(
        signed(&Scheme::Shippo, &s, body, T0),
        vec![("Shippo-Auth-Signature".to_owned(), value)]
    );
}

/// The vectors above came from Python; this recomputes one directly with the `hmac` crate, as
/// a check that the constants were pasted intact.
#[test]
fn python_vectors_agree_with_hmac_crate() {
    let mac = <Hmac<Sha256> as Mac>::new_from_slice(b"waypost-aftership-secret")
        .map(|mut m| {
            m.update(br#"{"event":"tracking_update","msg":{"tracking_number":"1Z999"}}"#);
            m.finalize().into_bytes()
        })
        .map(|tag| base64::engine::general_purpose::STANDARD.encode(tag));
    assert_eq!(
        mac.ok().as_deref(),
        Some("ljJKIdFTLR3PHHArLherRnzKW1mAy8eEONumumWr7uM=")
    );
}

// ---- scheme details ------------------------------------------------------------------------

#[test]
fn standard_webhooks_skips_other_versions_and_bad_entries() {
    let s = secret("whsec_d2F5cG9zdC10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVm");
    let mut headers = signed(&Scheme::StandardWebhooks, &s, BODY, T0);
    let good = headers[2].1.clone();
    headers[2].1 = format!("v1a,c2lnbmF0dXJl v1,@@@ v2,abc v1,AAAA {good}");
    assert!(
        check_owned(
            &Scheme::StandardWebhooks,
            std::slice::from_ref(&s),
            &headers,
            BODY,
            T0
        )
        .is_ok()
    );
    // More than eight entries is refused before any decoding.
    headers[2].1 = [good.as_str(); MAX_SIGNATURES + 1].join(" ");
    assert!(matches!(
        check_owned(&Scheme::StandardWebhooks, &[s], &headers, BODY, T0),
        Err(SignatureError::Malformed { .. })
    ));
}

#[test]
fn standard_webhooks_checks_id_and_timestamp_headers() {
    let s = secret("whsec_d2F5cG9zdC10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVm");
    let base = signed(&Scheme::StandardWebhooks, &s, BODY, T0);
    let with = |name: &str, value: &str| -> Vec<(String, String)> {
        base.iter()
            .map(|(k, v)| {
                if k == name {
                    (k.clone(), value.to_owned())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect()
    };
    for (name, value) in [
        ("webhook-timestamp", "-1718000000"),
        ("webhook-timestamp", "1718000000.5"),
        ("webhook-timestamp", "99999999999999"),
        ("webhook-id", "id with spaces"),
        ("webhook-id", ""),
    ] {
        let result = check_owned(
            &Scheme::StandardWebhooks,
            std::slice::from_ref(&s),
            &with(name, value),
            BODY,
            T0,
        );
        assert!(
            matches!(&result, Err(SignatureError::Malformed { header, .. }) if header == name),
            "{name}={value:?}: {result:?}"
        );
    }
    let long_id = "m".repeat(MAX_DELIVERY_ID_BYTES + 1);
    assert!(
        check_owned(
            &Scheme::StandardWebhooks,
            std::slice::from_ref(&s),
            &with("webhook-id", &long_id),
            BODY,
            T0
        )
        .is_err()
    );
    // A changed id changes the signed content.
    let result = check_owned(
        &Scheme::StandardWebhooks,
        &[s],
        &with("webhook-id", "msg_other"),
        BODY,
        T0,
    );
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn over_long_headers_are_malformed() {
    let s = secret("waypost-aftership-secret");
    let huge = "A".repeat(MAX_HEADER_BYTES + 1);
    let result = check(
        &Scheme::aftership(),
        &[s],
        &[("aftership-hmac-sha256", &huge)],
        BODY,
        T0,
    );
    assert!(matches!(result, Err(SignatureError::Malformed { .. })));
}

#[test]
fn shippo_header_shapes() {
    let s = secret("waypost-shippo-secret");
    let good = signed(&Scheme::Shippo, &s, BODY, T0);
    let value = good[0].1.clone();
    let run = |v: &str| {
        check(
            &Scheme::Shippo,
            std::slice::from_ref(&s),
            &[("Shippo-Auth-Signature", v)],
            BODY,
            T0,
        )
    };
    // Spaces after commas and an unknown extra field are fine.
    assert!(run(&value.replace(',', ", ")).is_ok());
    assert!(run(&format!("{value},v0=ignored")).is_ok());
    for bad in [
        format!("t=1718000000,{value}"),
        value.replace("t=", "ts="),
        "t=1718000000".to_owned(),
        format!("{value},garbage"),
    ] {
        assert!(
            matches!(run(&bad), Err(SignatureError::Malformed { .. })),
            "{bad}"
        );
    }
}

#[test]
fn shopify_rejects_unparseable_timestamp_and_id() {
    let s = secret("waypost-shopify-secret");
    let mut headers = signed(&Scheme::shopify(), &s, BODY, T0);
    headers[2].1 = "yesterday".to_owned();
    assert!(matches!(
        check_owned(&Scheme::shopify(), std::slice::from_ref(&s), &headers, BODY, T0),
        Err(SignatureError::Malformed { ref header, .. }) if header == "X-Shopify-Triggered-At"
    ));
    let mut headers = signed(&Scheme::shopify(), &s, BODY, T0);
    headers[1].1 = "id\u{7f}".to_owned();
    assert!(check_owned(&Scheme::shopify(), &[s], &headers, BODY, T0).is_err());
}

#[test]
fn custom_header_names_are_honoured() {
    let returns = Scheme::AfterShip {
        header: "as-signature-hmac-sha256".to_owned(),
    };
    let s = secret("returns-secret");
    let headers = signed(&returns, &s, BODY, T0);
    assert_eq!(headers[0].0, "as-signature-hmac-sha256");
    assert!(check_owned(&returns, std::slice::from_ref(&s), &headers, BODY, T0).is_ok());
    assert!(matches!(
        check_owned(&Scheme::aftership(), &[s], &headers, BODY, T0),
        Err(SignatureError::MissingHeader { .. })
    ));
}
