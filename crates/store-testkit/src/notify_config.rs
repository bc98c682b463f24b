//! Endpoints, subscriptions and contacts: names, deletion, tenancy, run by `suite!` through `notify::cases!`.

use super::*;
use crate::alerts::{at, tenant};
use crate::notify::*;

pub fn deleting_an_endpoint_takes_its_subscriptions_and_skips_its_rows(new: fn() -> Store) {
    let mut b = new();
    let t = tenant("t");
    let ep = endpoint(&mut b, "t", "hook");
    let keep = endpoint(&mut b, "t", "other");
    let s = subscription(&mut b, "t", "s", ep.id);
    let kept_sub = subscription(&mut b, "t", "kept", keep.id);
    let ids = b
        .writer
        .outbox_insert(&[
            new_row("t", "O1", 1, s.id, ep.id, 0),
            new_row("t", "O1", 2, s.id, ep.id, 0),
            new_row("t", "O1", 1, kept_sub.id, keep.id, 0),
        ])
        .unwrap();
    b.writer
        .outbox_mark(
            &[OutboxMark::Sent {
                id: ids[0],
                attempt: attempt(1, Some(200), None),
            }],
            at(1),
        )
        .unwrap();
    // Another tenant cannot delete it.
    assert!(
        !b.writer
            .delete_endpoint(&tenant("u"), ep.id, at(2))
            .unwrap()
    );
    assert!(b.writer.delete_endpoint(&t, ep.id, at(2)).unwrap());
    assert!(!b.writer.delete_endpoint(&t, ep.id, at(2)).unwrap());
    assert!(b.reader.endpoint(&t, ep.id).unwrap().is_none());
    assert_eq!(b.reader.subscriptions(&t).unwrap(), vec![kept_sub.clone()]);
    let rows = log(&b, "t", "O1");
    assert_eq!(rows[0].row.state, "sent");
    assert_eq!(
        (
            rows[1].row.state.as_str(),
            rows[1].row.last_error.as_deref()
        ),
        ("skipped", Some("endpoint deleted"))
    );
    // The deletion's time comes from the caller's clock, not the wall.
    assert_eq!(rows[1].row.done_at, Some(at(2)));
    assert_eq!(rows[2].row.state, "pending");
    // Nothing could send it: not replayed, and no new row is written for the endpoint.
    assert!(b.writer.outbox_replay(&t, ids[1], at(2)).unwrap().is_none());
    assert!(
        b.writer
            .outbox_insert(&[new_row("t", "O1", 3, s.id, ep.id, 0)])
            .unwrap()
            .is_empty()
    );
    let (eps, subs) = b.writer.notify_config().unwrap();
    assert_eq!((eps, subs), (vec![keep], vec![kept_sub.clone()]));
    assert!(b.writer.delete_subscription(&t, kept_sub.id).unwrap());
    assert!(!b.writer.delete_subscription(&t, kept_sub.id).unwrap());
    assert!(b.reader.subscriptions(&t).unwrap().is_empty());
}

pub fn names_are_unique_per_tenant_and_endpoints_stay_in_their_tenant(new: fn() -> Store) {
    let mut b = new();
    let ep = endpoint(&mut b, "t", "hook");
    let mut again = ep.clone();
    again.id = 0;
    let err = b.writer.put_endpoint(&again).unwrap_err();
    assert!(
        matches!(&err, StoreError::Duplicate { what: "endpoint", name, tenant } if name == "hook" && tenant == "t"),
        "{err}"
    );
    assert!(err.to_string().contains("\"hook\""), "{err}");
    // The same name in another tenant is its own.
    let theirs = endpoint(&mut b, "u", "hook");
    // Renaming onto a taken name is refused too; an update keeps the creation time.
    let second = endpoint(&mut b, "t", "second");
    let mut renamed = second.clone();
    renamed.name = "hook".into();
    assert!(matches!(
        b.writer.put_endpoint(&renamed),
        Err(StoreError::Duplicate { .. })
    ));
    let mut edited = second.clone();
    edited.spec = r#"{"kind":"webhook","url":"https://example.com/v2"}"#.into();
    edited.created_at = at(99);
    edited.updated_at = at(5);
    let stored = b.writer.put_endpoint(&edited).unwrap();
    assert_eq!((stored.created_at, stored.updated_at), (at(0), at(5)));
    assert_eq!(stored.spec, edited.spec);
    assert_eq!(
        b.reader.endpoints(&tenant("t")).unwrap(),
        vec![ep.clone(), stored]
    );
    // Another tenant's endpoint cannot be edited, nor subscribed to.
    let mut stolen = theirs.clone();
    stolen.tenant = tenant("t");
    stolen.name = "stolen".into();
    assert!(matches!(
        b.writer.put_endpoint(&stolen),
        Err(StoreError::NotFound {
            what: "endpoint",
            ..
        })
    ));
    let err = b
        .writer
        .put_subscription(&subscription_row("t", "s", theirs.id))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { what: "endpoint", id, .. } if id == theirs.id),
        "{err}"
    );
    let s = subscription(&mut b, "t", "s", ep.id);
    assert!(matches!(
        b.writer
            .put_subscription(&subscription_row("t", "s", ep.id)),
        Err(StoreError::Duplicate {
            what: "subscription",
            ..
        })
    ));
    let mut moved = s.clone();
    moved.endpoint_id = theirs.id;
    assert!(matches!(
        b.writer.put_subscription(&moved),
        Err(StoreError::NotFound { .. })
    ));
    // What the store keeps without reading must still be what it claims to be.
    let mut bad = again.clone();
    bad.name = "bad".into();
    bad.kind = "pigeon".into();
    assert!(matches!(
        b.writer.put_endpoint(&bad),
        Err(StoreError::Invalid {
            what: "endpoint kind",
            ..
        })
    ));
    bad.kind = "sms".into();
    bad.spec = "not json".into();
    assert!(matches!(
        b.writer.put_endpoint(&bad),
        Err(StoreError::Invalid {
            what: "endpoint spec",
            ..
        })
    ));
    let mut bad_sub = subscription_row("t", "bad", ep.id);
    bad_sub.triggers = r#""shipped""#.into();
    assert!(matches!(
        b.writer.put_subscription(&bad_sub),
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(b.reader.subscriptions(&tenant("t")).unwrap(), vec![s]);
}

pub fn contact_row(t: &str, id: &str, opted_out: &[&str]) -> ContactRow {
    ContactRow {
        tenant: tenant(t),
        customer_id: id.into(),
        email: Some(format!("{id}@example.com")),
        phone: Some("+15551234567".into()),
        locale: Some("en-US".into()),
        opted_out: opted_out.iter().map(|s| s.to_string()).collect(),
        updated_at: at(0),
    }
}

pub fn contacts_are_kept_paged_and_checked(new: fn() -> Store) {
    let mut b = new();
    let t = tenant("t");
    for i in 0..5 {
        b.writer
            .put_contact(&contact_row("t", &format!("c{i}"), &[]))
            .unwrap();
    }
    let mut c2 = contact_row("t", "c2", &["sms", "email", "sms"]);
    c2.updated_at = at(3);
    let stored = b.writer.put_contact(&c2).unwrap();
    assert_eq!(stored.opted_out, ["email", "sms"]);
    assert_eq!(
        b.reader.contact_of(&t, "c2").unwrap().as_ref(),
        Some(&stored)
    );
    assert_eq!(b.writer.contact(&t, "c2").unwrap().as_ref(), Some(&stored));
    assert!(b.writer.contact(&t, "nobody").unwrap().is_none());
    let page1 = b.reader.contacts(&t, None, 2).unwrap();
    let page2 = b
        .reader
        .contacts(&t, Some(&page1[1].customer_id), 2)
        .unwrap();
    let ids: Vec<String> = page1
        .iter()
        .chain(&page2)
        .map(|c| c.customer_id.clone())
        .collect();
    assert_eq!(ids, ["c0", "c1", "c2", "c3"]);
    let err = b
        .writer
        .put_contact(&contact_row("t", "c9", &["fax"]))
        .unwrap_err();
    assert!(err.to_string().contains("fax"), "{err}");
    assert!(b.reader.contact_of(&t, "c9").unwrap().is_none());
}

pub fn notifications_are_tenant_scoped(new: fn() -> Store) {
    let mut b = new();
    let (t, u) = (tenant("t"), tenant("u"));
    let ep = endpoint(&mut b, "t", "hook");
    let s = subscription(&mut b, "t", "s", ep.id);
    b.writer.put_contact(&contact_row("t", "c1", &[])).unwrap();
    let ids = b
        .writer
        .outbox_insert(&[
            new_row("t", "O1", 1, s.id, ep.id, 0),
            new_row("t", "O2", 1, s.id, ep.id, 0),
        ])
        .unwrap();
    b.writer
        .outbox_mark(
            &[
                OutboxMark::Dead {
                    id: ids[1],
                    attempt: None,
                },
                OutboxMark::SpendAdd {
                    tenant: t.clone(),
                    day: "2026-01-01".into(),
                    segments: 1,
                    cents: 8,
                },
            ],
            at(1),
        )
        .unwrap();
    assert!(b.reader.outbox_row(&u, ids[0]).unwrap().is_none());
    assert!(b.reader.delivery_log(&u, "O1").unwrap().is_empty());
    assert!(b.reader.outbox_dead(&u, 0, 10).unwrap().is_empty());
    assert!(b.reader.endpoints(&u).unwrap().is_empty());
    assert!(b.reader.endpoint(&u, ep.id).unwrap().is_none());
    assert!(b.reader.subscriptions(&u).unwrap().is_empty());
    assert!(b.reader.contacts(&u, None, 10).unwrap().is_empty());
    assert!(b.reader.contact_of(&u, "c1").unwrap().is_none());
    assert_eq!(b.reader.sms_spent(&u, "2026-01-01").unwrap(), (0, 0));
    assert!(!b.writer.delete_subscription(&u, s.id).unwrap());
    assert!(b.reader.outbox_counts().unwrap().iter().all(|c| c.0 == "t"));
    // The owner sees all of it.
    assert_eq!(b.reader.delivery_log(&t, "O1").unwrap().len(), 1);
    assert_eq!(b.reader.outbox_dead(&t, 0, 10).unwrap().len(), 1);
}
