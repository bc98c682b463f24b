#![allow(clippy::unwrap_used)]

use super::parse;
use crate::{NormalizedDoc, Source, normalize};

/// Times without an exact offset are placed by normalization: tests that check instants go
/// through it.
fn normalized(doc: &[u8]) -> NormalizedDoc {
    let table = Source::CanadaPost.builtin_table().unwrap();
    normalize(Source::CanadaPost, doc, &table).unwrap()
}

fn doc(events: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<tracking-detail xmlns="http://www.canadapost.ca/ws/track-v2">
  <pin>7023210039414604</pin>
  <customer-ref-1>ORD-77</customer-ref-1>
  <significant-events>{events}</significant-events>
</tracking-detail>"#
    )
}

#[test]
fn abbreviation_gives_the_exact_offset_across_dst() {
    let d = doc(r#"
    <occurrence><event-identifier>0174</event-identifier><event-date>2024-11-03</event-date>
      <event-time>01:30:00</event-time><event-time-zone>EST</event-time-zone>
      <event-site>OTTAWA</event-site><event-province>ON</event-province></occurrence>
    <occurrence><event-identifier>0174</event-identifier><event-date>2024-11-03</event-date>
      <event-time>01:30:00</event-time><event-time-zone>HAE</event-time-zone>
      <event-site>OTTAWA</event-site><event-province>ON</event-province></occurrence>"#);
    let obs = parse(d.as_bytes()).unwrap().observations;
    // The repeated autumn hour: the abbreviation, not the zone rules, says which one it was.
    assert_eq!(
        obs[0].occurred_at.unwrap().instant.to_string(),
        "2024-11-03T06:30:00Z"
    );
    assert_eq!(
        obs[1].occurred_at.unwrap().instant.to_string(),
        "2024-11-03T05:30:00Z"
    );
    assert_eq!(obs[0].order_ref.as_deref(), Some("ORD-77"));
    let loc = obs[0].location.as_ref().unwrap();
    assert_eq!(loc.city.as_deref(), Some("Ottawa"));
    assert_eq!(loc.country.as_deref(), Some("CA"));
}

#[test]
fn blank_zone_uses_the_province_or_a_single_zone_country() {
    let d = doc(r#"
    <occurrence><event-identifier>1496</event-identifier><event-date>2024-07-02</event-date>
      <event-time>12:00:00</event-time><event-time-zone/>
      <event-site>REGINA</event-site><event-province>SK</event-province></occurrence>
    <occurrence><event-identifier>4310</event-identifier><event-date>2024-07-01</event-date>
      <event-time>09:00:00</event-time><event-time-zone></event-time-zone>
      <event-site>ILTLVA,Israel</event-site><event-province/></occurrence>"#);
    let obs = parse(d.as_bytes()).unwrap().observations;
    assert!(
        obs.iter()
            .all(|o| o.occurred_at.is_none() && o.local_time.is_some())
    );
    assert_eq!(
        obs[1].location.as_ref().unwrap().country.as_deref(),
        Some("IL")
    );
    let doc = normalized(d.as_bytes());
    // Saskatchewan keeps CST in summer; Israel is one zone.
    assert_eq!(
        doc.events[0].event.occurred_at.instant.to_string(),
        "2024-07-02T18:00:00Z"
    );
    assert_eq!(
        doc.events[1].event.occurred_at.instant.to_string(),
        "2024-07-01T06:00:00Z"
    );
}

#[test]
fn an_unknowable_offset_is_refused_with_its_path() {
    let d = doc(r#"
    <occurrence><event-identifier>4500</event-identifier><event-date>2024-07-02</event-date>
      <event-time>12:00:00</event-time><event-time-zone/>
      <event-site>UNITED STATES</event-site></occurrence>"#);
    // A country of several zones settles no offset: the event is reported, not guessed.
    let table = Source::CanadaPost.builtin_table().unwrap();
    assert!(normalize(Source::CanadaPost, d.as_bytes(), &table).is_err());
}

#[test]
fn malformed_documents_name_the_place() {
    let d = doc(r#"
    <occurrence><event-identifier>0174</event-identifier><event-date>03/11/2024</event-date>
      <event-time>01:30:00</event-time><event-time-zone>EST</event-time-zone></occurrence>"#);
    let r = parse(d.as_bytes()).unwrap();
    assert_eq!(
        r.unreadable[0].path,
        "tracking-detail/significant-events/occurrence[0]/event-date"
    );
    assert!(parse(b"<tracking-detail><pin>1</pin>").is_err());
    assert!(parse(b"{\"json\": true}").is_err());
    assert!(parse(b"").is_err());
    // 004 "No Pin History": nothing scanned yet, not a broken document.
    let none = parse(b"<messages xmlns=\"http://www.canadapost.ca/ws/messages\"><message><code>004</code><description>No Pin History</description></message></messages>").unwrap();
    assert!(none.observations.is_empty() && none.unreadable.is_empty());
    let err = parse(b"<wrapper><messages><message><code>E002</code><description>AAA Authentication Failure</description></message></messages></wrapper>").unwrap_err();
    assert!(err.message.contains("AAA Authentication Failure"), "{err}");
    assert_eq!(err.path, "wrapper/messages/message[0]");
}

#[test]
fn one_unreadable_scan_does_not_sink_the_others() {
    let d = doc(r#"
    <occurrence><event-identifier>1496</event-identifier><event-date>2024-11-04</event-date>
      <event-time>11:00:00</event-time><event-time-zone>EST</event-time-zone>
      <event-site>OTTAWA</event-site><event-province>ON</event-province></occurrence>
    <occurrence><event-identifier/><event-date>2024-11-03</event-date>
      <event-time>01:30:00</event-time><event-time-zone>EST</event-time-zone></occurrence>"#);
    let r = parse(
        format!(
            "<wrapper>{}</wrapper>",
            d.replacen("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "", 1)
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(r.observations.len(), 1);
    assert_eq!(
        r.unreadable[0].path,
        "wrapper/tracking-detail/significant-events/occurrence[1]/event-identifier"
    );
}

#[test]
fn an_empty_history_is_no_events() {
    let obs = parse(doc("").as_bytes()).unwrap().observations;
    assert!(obs.is_empty());
    let obs = parse(
        br#"<tracking-detail xmlns="http://www.canadapost.ca/ws/track-v2"><pin>1</pin><significant-events/></tracking-detail>"#,
    ).unwrap().observations;
    assert!(obs.is_empty());
}

#[test]
fn a_doctype_inside_the_document_is_an_error_not_a_panic() {
    // quick-xml 0.38's deserializer panics on a DOCTYPE that splits a text run.
    for doctype in ["<!DOCTYPE a>", "<!doctype a [<!ENTITY e \"x\">]>"] {
        let d = doc(&format!(
            "<occurrence><event-identifier>0174</event-identifier><event-date>2024-11-03</event-date>
              <event-time>1{doctype}4:10:00</event-time><event-time-zone>EST</event-time-zone></occurrence>"
        ));
        let err = parse(d.as_bytes()).unwrap_err();
        assert!(err.message.contains("DOCTYPE"), "{err}");
        assert!(err.path.starts_with("byte "), "{err}");
    }
    // In the prolog, where XML allows it, a DOCTYPE is harmless.
    let d = doc("").replacen("?>", "?><!DOCTYPE tracking-detail>", 1);
    assert!(parse(d.as_bytes()).unwrap().observations.is_empty());
}
