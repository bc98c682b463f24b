use super::*;
use crate::plan::ShipmentFacts;

fn ctx(order_id: &str) -> Context {
    let facts = OrderFacts {
        tenant: "acme".into(),
        order_id: order_id.into(),
        seq: 7,
        status: "out_for_delivery".into(),
        previous_status: Some("in_transit".into()),
        carriers: vec!["dhl".into()],
        shipments: vec![ShipmentFacts {
            tracking_number: "JD0123".into(),
            status: "out_for_delivery".into(),
            location: Some(Location {
                city: Some("Leipzig".into()),
                country: Some("DE".into()),
                ..Location::default()
            }),
            ..ShipmentFacts::default()
        }],
        ..OrderFacts::default()
    };
    Context::for_order(
        &facts,
        TenantContext {
            name: "acme".into(),
            brand: Some("Acme & Co".into()),
        },
        Some("https://t.example.com/x?a=1&b=2".into()),
    )
}

const OFD: Trigger = Trigger::Status(Status::OutForDelivery);

#[test]
fn every_trigger_has_every_builtin_part() {
    let t = Templates::builtin();
    for trigger in Trigger::all() {
        let e = t.render_email("acme", trigger, &ctx("A-1")).expect("email");
        assert!(e.subject.contains("A-1"), "{trigger}: {}", e.subject);
        assert!(!e.subject.contains('\n'));
        assert!(
            e.text.contains("A-1") && e.html.contains("A-1"),
            "{trigger}"
        );
        let sms = t.render_sms("acme", trigger, &ctx("A-1")).expect("sms");
        assert!(sms.contains("A-1"), "{trigger}: {sms}");
        assert!(crate::sms::segments(&sms).segments <= 2, "{trigger}: {sms}");
    }
}

#[test]
fn builtin_email_says_what_matters() {
    let t = Templates::builtin();
    let e = t.render_email("acme", OFD, &ctx("A-1")).expect("email");
    assert_eq!(e.subject, "Acme & Co: Your order A-1 is out for delivery.");
    assert!(e.text.contains("Status: Out for delivery"), "{}", e.text);
    assert!(e.text.contains("Carrier: dhl"));
    assert!(e.text.contains("Tracking: JD0123"));
    assert!(e.text.contains("Last seen: Leipzig, DE"));
    assert!(e.text.contains("Track it: https://t.example.com/x?a=1&b=2"));
    // minijinja also escapes `/` (as `&#x2f;`), which browsers read back as `/`.
    assert!(
        e.html
            .contains("<a href=\"https:&#x2f;&#x2f;t.example.com&#x2f;x?a=1&amp;b=2\">"),
        "{}",
        e.html
    );
    assert!(e.html.contains("Acme &amp; Co"));
    let sms = t.render_sms("acme", OFD, &ctx("A-1")).expect("sms");
    assert_eq!(
        sms,
        "Acme & Co: Your order A-1 is out for delivery. dhl JD0123 https://t.example.com/x?a=1&b=2"
    );
}

#[test]
fn html_is_escaped_and_text_is_not() {
    let t = Templates::builtin();
    let e = t
        .render_email("acme", OFD, &ctx("<script>x</script>"))
        .expect("email");
    assert!(e.text.contains("<script>x</script>"));
    assert!(e.subject.contains("<script>x</script>"));
    assert!(!e.html.contains("<script>"), "{}", e.html);
    assert!(e.html.contains("&lt;script&gt;"), "{}", e.html);
}

#[test]
fn tenant_files_win_over_default_files_over_builtins() {
    let files = vec![
        (
            TemplateKey::from_path("default/out_for_delivery.sms").expect("key"),
            "default: {{ order.id }}".to_string(),
        ),
        (
            TemplateKey::from_path("acme/out_for_delivery.sms").expect("key"),
            "acme: {{ order.id }}".to_string(),
        ),
        (
            TemplateKey::from_path("acme/out_for_delivery.html").expect("key"),
            "<b>{{ order.id }}</b>".to_string(),
        ),
    ];
    let t = Templates::load(files).expect("templates");
    assert_eq!(
        t.render_sms("acme", OFD, &ctx("A-1")).expect("sms"),
        "acme: A-1"
    );
    assert_eq!(
        t.render_sms("other", OFD, &ctx("A-1")).expect("sms"),
        "default: A-1"
    );
    let e = t.render_email("acme", OFD, &ctx("<i>")).expect("email");
    assert_eq!(e.html, "<b>&lt;i&gt;</b>", "a tenant's html is escaped too");
    assert!(
        e.text.contains("Your order <i> is out for delivery."),
        "built-in text"
    );
    let shipped = Trigger::Status(Status::Shipped);
    assert!(
        t.render_sms("acme", shipped, &ctx("A-1"))
            .expect("sms")
            .starts_with("Acme & Co: Your order A-1 has shipped."),
        "other triggers keep the built-in"
    );
}

#[test]
fn broken_templates_are_refused_naming_the_file() {
    let key = TemplateKey::from_path("acme/shipped.txt").expect("key");
    let e = Templates::load(vec![(key.clone(), "{% if %}".to_string())]).expect_err("syntax");
    assert!(
        matches!(&e, TemplateError::Syntax { file, .. } if file == "acme/shipped.txt"),
        "{e}"
    );
    let e = Templates::load(vec![(
        key.clone(),
        "{{ order.id|nosuchfilter }}".to_string(),
    )])
    .expect_err("render");
    assert!(e.to_string().contains("acme/shipped.txt"), "{e}");
    let e = Templates::load(vec![(
        key,
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
            .to_string(),
    )])
    .expect_err("fuel");
    assert!(e.to_string().contains("acme/shipped.txt"), "{e}");
}

#[test]
fn template_paths() {
    let k = TemplateKey::from_path("acme/alert.raised.subject").expect("alert key");
    assert_eq!(k.trigger, Trigger::AlertRaised);
    assert_eq!(k.part, Part::Subject);
    for (bad, why) in [
        ("shipped.txt", "expected"),
        ("acme/shipped", "no extension"),
        ("acme/shiped.txt", "unknown trigger"),
        ("acme/shipped.md", "\"md\""),
        ("@builtin/shipped.txt", "not a tenant"),
    ] {
        let msg = TemplateKey::from_path(bad).expect_err(bad).to_string();
        assert!(msg.contains(bad) && msg.contains(why), "{msg}");
    }
}

#[test]
fn alert_context_and_labels() {
    let alert = AlertFacts {
        tenant: "acme".into(),
        order_id: "A-9".into(),
        alert_id: 3,
        rule: "stuck_in_transit".into(),
        severity: "high".into(),
        track: "1Z9".into(),
        opened_at: jiff::Timestamp::UNIX_EPOCH,
        ..AlertFacts::default()
    };
    let c = Context::for_alert(&alert, TenantContext::default(), None);
    let e = Templates::builtin()
        .render_email("acme", Trigger::AlertRaised, &c)
        .expect("email");
    assert_eq!(e.subject, ": Alert on order A-9: stuck_in_transit (high).");
    assert!(
        e.text.contains("Severity: high") && e.text.contains("Tracking: 1Z9"),
        "{}",
        e.text
    );
    assert_eq!(status_label("out_for_delivery"), "Out for delivery");
    assert_eq!(status_label("partially_shipped"), "Partially shipped");
    assert_eq!(status_label(""), "");
}
