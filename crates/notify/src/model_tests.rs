use super::*;

const SECRET: &str = "whsec_d2F5cG9zdC10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVm";

fn webhook(url: &str, secrets: &[&str]) -> EndpointSpec {
    EndpointSpec::Webhook {
        url: url.to_string(),
        secrets: secrets.iter().map(|s| WebhookSecret::new(*s)).collect(),
        timeout_ms: DEFAULT_TIMEOUT_MS,
    }
}

#[test]
fn triggers_round_trip_and_list_names_on_error() {
    let all: Vec<Trigger> = Trigger::all().collect();
    assert_eq!(all.len(), 21);
    for t in all {
        assert_eq!(t.to_string().parse::<Trigger>(), Ok(t));
        let json = serde_json::to_string(&t).expect("serialize");
        assert_eq!(serde_json::from_str::<Trigger>(&json).expect("parse"), t);
    }
    assert_eq!(
        "out_for_delivery".parse::<Trigger>(),
        Ok(Trigger::Status(Status::OutForDelivery))
    );
    let e = "shiped".parse::<Trigger>().expect_err("unknown");
    let msg = e.to_string();
    assert!(msg.contains("\"shiped\""), "{msg}");
    assert!(
        msg.contains("shipped") && msg.contains("alert.raised"),
        "{msg}"
    );
}

#[test]
fn endpoint_specs_parse_tagged_by_kind() {
    let w: EndpointSpec = serde_json::from_str(&format!(
        r#"{{"kind":"webhook","url":"https://hooks.example.com/x","secrets":["{SECRET}"]}}"#
    ))
    .expect("webhook");
    assert_eq!(w.kind(), ChannelKind::Webhook);
    assert!(matches!(
        w,
        EndpointSpec::Webhook {
            timeout_ms: 5000,
            ..
        }
    ));
    assert_eq!(w.validate(), Ok(()));

    let e: EndpointSpec =
        serde_json::from_str(r#"{"kind":"email","to":"customer"}"#).expect("email");
    assert_eq!(
        e,
        EndpointSpec::Email {
            to: Recipient::Customer
        }
    );
    let s: EndpointSpec =
        serde_json::from_str(r#"{"kind":"sms","to":"+4915112345678"}"#).expect("sms");
    assert_eq!(
        s,
        EndpointSpec::Sms {
            to: Recipient::Fixed("+4915112345678".into())
        }
    );
    assert_eq!(s.validate(), Ok(()));
    assert!(serde_json::from_str::<EndpointSpec>(r#"{"kind":"pager","to":"customer"}"#).is_err());
    assert!(
        serde_json::from_str::<EndpointSpec>(r#"{"kind":"email","to":"customer","x":1}"#).is_err()
    );
    // A round trip keeps the tag and the secret.
    let back: EndpointSpec =
        serde_json::from_str(&serde_json::to_string(&w).expect("ser")).expect("de");
    assert_eq!(back, w);
}

#[test]
fn webhook_validation_names_field_and_value() {
    let cases: &[(EndpointSpec, &str)] = &[
        (
            webhook("ftp://x.example/", &[SECRET]),
            "\"ftp://x.example/\"",
        ),
        (webhook("not a url", &[SECRET]), "\"not a url\""),
        (webhook("https://u:p@x.example/", &[SECRET]), "credentials"),
        (webhook("https://x.example/", &[]), "secrets"),
        (
            webhook("https://x.example/", &[SECRET, "abc"]),
            "secrets[1]",
        ),
        (webhook("https://x.example/", &["whsec_***"]), "secrets[0]"),
        (webhook("https://x.example/", &["whsec_"]), "secrets[0]"),
    ];
    for (spec, needle) in cases {
        let msg = spec.validate().expect_err("invalid").to_string();
        assert!(msg.contains(needle), "{msg} lacks {needle}");
    }
    let slow = EndpointSpec::Webhook {
        url: "http://x.example".into(),
        secrets: vec![WebhookSecret::new(SECRET)],
        timeout_ms: 0,
    };
    assert_eq!(slow.validate(), Err(ModelError::Timeout { value: 0 }));
}

#[test]
fn secrets_never_print() {
    let spec = webhook("https://x.example/", &[SECRET]);
    let shown = format!("{spec:?}");
    assert!(!shown.contains("d2F5"), "{shown}");
    let bad = webhook("https://x.example/", &["whsec_sec*ret"]);
    let msg = bad.validate().expect_err("bad").to_string();
    assert!(!msg.contains("sec*ret"), "{msg}");
}

#[test]
fn fixed_recipients_are_checked() {
    let e = EndpointSpec::Email {
        to: Recipient::Fixed("ops.example.com".into()),
    };
    assert!(
        e.validate()
            .expect_err("email")
            .to_string()
            .contains("ops.example.com")
    );
    assert_eq!(
        EndpointSpec::Email {
            to: Recipient::Fixed("ops@example.com".into())
        }
        .validate(),
        Ok(())
    );
    let s = EndpointSpec::Sms {
        to: Recipient::Fixed("0151 123".into()),
    };
    assert!(
        s.validate()
            .expect_err("sms")
            .to_string()
            .contains("0151 123")
    );
}

#[test]
fn contacts_and_subscriptions() {
    let c: Contact =
        serde_json::from_str(r#"{"customer_id":"c1","phone":"+14155550100","opted_out":["sms"]}"#)
            .expect("contact");
    assert!(c.opted_out(ChannelKind::Sms));
    assert!(!c.opted_out(ChannelKind::Email));
    assert_eq!(c.validate(), Ok(()));
    assert!(serde_json::from_str::<Contact>(r#"{"customer_id":"c1","phone":"12"}"#).is_err());

    let s: Subscription = serde_json::from_str(
        r#"{"id":1,"tenant":"acme","name":"late","endpoint_id":2,"on":[],"enabled":true}"#,
    )
    .expect("subscription");
    assert_eq!(s.filter, Filter::default());
    assert!(
        s.validate()
            .expect_err("empty")
            .to_string()
            .contains("\"late\"")
    );
    assert!(
        serde_json::from_str::<Subscription>(
            r#"{"id":1,"tenant":"acme","name":"x","endpoint_id":2,"on":["shipped","nope"],"enabled":true}"#
        )
        .is_err()
    );
}
