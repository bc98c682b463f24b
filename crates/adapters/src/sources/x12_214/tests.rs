use super::*;

const ISA: &str = "ISA*00*          *00*          *02*ODFL           *ZZ*WAYPOSTSHIPPER *240310*0815*U*00401*000000101*0*P*>~";

fn doc(body: &str) -> Vec<u8> {
    format!(
        "{ISA}\nGS*QM*ODFL*WAYPOST*20240310*0815*101*X*004010~\n{body}GE*1*101~\nIEA*1*000000101~\n"
    )
    .into_bytes()
}

#[test]
fn time_codes_and_local_time_across_the_dst_change() {
    // 10 March 2024: US daylight saving starts at 02:00 local.
    let d = doc("ST*214*0001~\nB10*PRO123*SH1*ODFL~\nL11*PO-77*PO~\nLX*1~\n\
        AT7*AF*NS***20240309*2330*CT~\nMS1*DALLAS*TX*US~\n\
        AT7*X6*NS***20240310*0330~\nMS1*TEXARKANA*AR~\n\
        AT7*X4*NS***20240310*0900*ED~\nMS1*MEMPHIS*TN~\nSE*9*0001~\n");
    let obs = parse(&d).unwrap();
    assert_eq!(obs.len(), 3);
    let t: Vec<String> = obs
        .iter()
        .map(|o| o.occurred_at.unwrap().instant.to_string())
        .collect();
    // CST before the change, CDT (from the state's zone) after it, EDT as named.
    assert_eq!(
        t,
        [
            "2024-03-10T05:30:00Z",
            "2024-03-10T08:30:00Z",
            "2024-03-10T13:00:00Z"
        ]
    );
    assert_eq!(obs[0].order_ref.as_deref(), Some("PO-77"));
    assert_eq!(obs[0].tracking_number.as_deref(), Some("PRO123"));
    assert_eq!(obs[0].carrier.as_deref(), Some("odfl"));
    assert_eq!(
        obs[1].location.as_ref().unwrap().city.as_deref(),
        Some("Texarkana")
    );
}

#[test]
fn estimates_become_the_promise_not_events() {
    let d = doc(
        "ST*214*0002~\nB10*PRO9*SH9*UPSN~\nLX*1~\nAT7*AG*NS***20240315*1700*ET~\n\
        LX*2~\nAT7*AF*NS***20240311*1000*ET~\nL11*1Z999*2I~\nSE*7*0002~\n",
    );
    let obs = parse(&d).unwrap();
    assert_eq!(obs.len(), 1);
    assert_eq!(obs[0].mapping_key, "AF");
    assert_eq!(obs[0].tracking_number.as_deref(), Some("1Z999"));
    assert_eq!(obs[0].carrier.as_deref(), Some("ups"));
    assert_eq!(
        obs[0].promised_at.unwrap().instant.to_string(),
        "2024-03-15T21:00:00Z"
    );
}

#[test]
fn an_empty_transaction_set_has_no_events() {
    assert!(
        parse(&doc("ST*214*0003~\nB10*PRO1*SH1*ODFL~\nSE*3*0003~\n"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn errors_name_the_segment() {
    let err = parse(&doc(
        "ST*214*0004~\nB10*PRO1*SH1*ODFL~\nLX*1~\nAT7*D1*NS***2024031*1200*CT~\nSE*5*0004~\n",
    ))
    .unwrap_err();
    assert_eq!(err.path, "segment 6 (AT7) AT705", "{err}");
    let err = parse(&doc(
        "ST*214*0005~\nB10*PRO1*SH1*ODFL~\nLX*1~\nAT7*D1*NS***20240310*1200~\nMS1*ATLANTIS**ZZ~\nSE*6*0005~\n",
    ))
    .unwrap_err();
    assert!(err.message.contains("zone"), "{err}");
    let err = parse(&doc("ST*856*0006~\nSE*2*0006~\n")).unwrap_err();
    assert_eq!(err.path, "segment 3 (ST) ST01");
    let err = parse(&doc("ST*214*0007~\nB10*PRO1*SH1*ODFL~\n")).unwrap_err();
    assert!(err.message.contains("never closed"), "{err}");
    let err = parse(&doc(
        "ST*214*0008~\nB10*P*S*ODFL~\nLX*1~\nAT7*D1*NS***20240310*1200*QQ~\nSE*5*0008~\n",
    ))
    .unwrap_err();
    assert!(err.message.contains("QQ"), "{err}");
}

#[test]
fn garbage_never_panics() {
    for d in [
        &b""[..],
        b"ISA",
        b"ISA*00*",
        b"ISA*00*          *00*          *02*ODFL           *ZZ*WAYPOSTSHIPPER *240310*0815*U*00401*000000101*0*P*>~ST*214~AT7~MS1~SE~",
        b"ISA*00*          *00*          *02*ODFL           *ZZ*WAYPOSTSHIPPER *240310*0815*U*00401*000000101*0*P*>~ST*214~LX~AT7*X1*NS***99999999*9999*CT~SE~",
    ] {
        let _ = parse(d);
    }
}

proptest::proptest! {
    // Any bytes after a valid header: an error or observations, never a panic.
    #[test]
    fn arbitrary_interchanges_never_panic(body in "[A-Z0-9*~>|:\\- é\n]{0,300}", raw in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let d = format!("{ISA}{body}");
        let _ = parse(d.as_bytes());
        let _ = crate::sources::x12_856::parse(d.as_bytes());
        let _ = parse(&raw);
        let _ = crate::sources::x12_856::parse(&raw);
    }
}
