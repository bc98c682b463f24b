//! Nothing one tenant reads counts another's: change numbers (the stream's ids), orders'
//! versions and alert ids. Run by `suite!` through `tenancy::cases!`.

use super::*;
use crate::alerts::{alert, raise_write, tenant};
use std::collections::HashSet;

#[doc(hidden)]
#[macro_export]
macro_rules! tenancy_cases {
    ($backend:ident) => {
        #[test]
        fn two_interleaved_tenants_each_count_their_own_changes() {
            $crate::tenancy::two_interleaved_tenants_each_count_their_own_changes(super::$backend);
        }
        #[test]
        fn tenant_numbers_survive_a_restart() {
            $crate::tenancy::tenant_numbers_survive_a_restart(super::$backend);
        }
        #[test]
        fn alerts_have_random_public_ids_of_their_tenant_only() {
            $crate::tenancy::alerts_have_random_public_ids_of_their_tenant_only(super::$backend);
        }
    };
}

pub fn seqs(b: &Store, t: &str) -> Vec<u64> {
    b.reader
        .changes_after(&tenant(t), 0, 1000)
        .unwrap()
        .iter()
        .map(|c| c.seq)
        .collect()
}

pub fn version(b: &Store, t: &str, order: &str) -> u64 {
    b.reader.order(&tenant(t), order).unwrap().unwrap().version
}

/// Tenants t and u take turns, with u's batches bigger, some in one apply together: each
/// sees 1, 2, 3, ... with no gap the other caused.
pub fn interleave(b: &mut Store, rounds: usize) -> Vec<Change> {
    let statuses = [Status::Picked, Status::Packed, Status::Shipped];
    let mut published = Vec::new();
    for i in 0..rounds {
        let st = statuses[i % statuses.len()];
        let mut subs = vec![sub(
            "t",
            vec![ev(&format!("t{i}"), "T1", None, st, i as i64)],
        )];
        let us: Vec<Event> = (0..3)
            .map(|k| ev(&format!("u{i}-{k}"), &format!("U{k}"), None, st, i as i64))
            .collect();
        subs.push(sub("u", us));
        let out = b.writer.append(&subs).unwrap();
        let stored: Vec<StoredEvent> = out.iter().flat_map(|o| o.stored.clone()).collect();
        published.extend(b.writer.apply(P0, &stored, now()).unwrap());
    }
    published
}

pub fn two_interleaved_tenants_each_count_their_own_changes(mk: fn() -> Store) {
    let mut b = mk();
    let published = interleave(&mut b, 3);
    let t_seqs = seqs(&b, "t");
    let u_seqs = seqs(&b, "u");
    assert_eq!(t_seqs, [1, 2, 3]);
    assert_eq!(u_seqs, (1..=9).collect::<Vec<u64>>());
    // What the live stream got is what a resuming client reads.
    let live_t: Vec<u64> = published
        .iter()
        .filter(|c| c.tenant == "t")
        .map(|c| c.seq)
        .collect();
    assert_eq!(live_t, t_seqs);
    assert_eq!(b.reader.last_seq(&tenant("t")).unwrap(), 3);
    assert_eq!(b.reader.last_seq(&tenant("u")).unwrap(), 9);
    assert_eq!(b.reader.last_seq(&tenant("nobody")).unwrap(), 0);
    // Resuming in the middle of one's own numbering.
    let rest = b.reader.changes_after(&tenant("t"), 1, 10).unwrap();
    assert_eq!(rest.iter().map(|c| c.seq).collect::<Vec<_>>(), [2, 3]);
    // An order's version is its tenant's number of its last change.
    assert_eq!(version(&b, "t", "T1"), 3);
    assert_eq!(
        (0..3)
            .map(|k| version(&b, "u", &format!("U{k}")))
            .collect::<Vec<_>>(),
        [7, 8, 9]
    );
    // And the listing's cursor follows that numbering.
    let after = b
        .reader
        .orders(
            &tenant("u"),
            &OrderFilter {
                limit: 10,
                after_version: Some(7),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(after.iter().map(|o| o.version).collect::<Vec<_>>(), [8, 9]);
}

pub fn tenant_numbers_survive_a_restart(mk: fn() -> Store) {
    let mut b = mk();
    interleave(&mut b, 2);
    let mut b = b.reopen();
    append_apply(
        &mut b,
        &[sub("t", vec![ev("late", "T2", None, Status::Picked, 9)])],
    );
    assert_eq!(seqs(&b, "t"), [1, 2, 3]);
    assert_eq!(version(&b, "t", "T2"), 3);
    assert_eq!(seqs(&b, "u"), (1..=6).collect::<Vec<u64>>());
}

pub fn alerts_have_random_public_ids_of_their_tenant_only(mk: fn() -> Store) {
    let mut b = mk();
    let writes: Vec<AlertWrite> = (0..50)
        .map(|i| {
            let t = if i % 2 == 0 { "t" } else { "u" };
            raise_write(alert(t, &format!("O{i}"), "", "dwell"))
        })
        .collect();
    let out = b.writer.rules_commit(&[], &[], &writes, now()).unwrap();
    let ids: HashSet<&str> = out.iter().map(|o| o.public_id.as_str()).collect();
    assert_eq!(ids.len(), 50, "public ids are unique");
    for o in &out {
        let p = &o.public_id;
        assert_eq!(p.len(), 32, "{p}");
        assert!(
            p.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{p}"
        );
        assert_ne!(p, &o.id.to_string());
    }
    // Not a counter: consecutive alerts' ids share no long prefix, and the bits are balanced.
    let ones: u32 = out
        .iter()
        .flat_map(|o| o.public_id.chars())
        .map(|c| c.to_digit(16).unwrap().count_ones())
        .sum();
    let bits: u32 = 50 * 128;
    assert!(
        (bits * 2 / 5..bits * 3 / 5).contains(&ones),
        "{ones} of {bits} bits set"
    );
    for pair in out.windows(2) {
        assert_ne!(pair[0].public_id[..8], pair[1].public_id[..8]);
    }
    // Found by the public id, in its tenant only; the internal id is no public id.
    let first = &out[0];
    let row = b
        .reader
        .alert_by_public_id(&tenant("t"), &first.public_id)
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.id, row.public_id.as_str()),
        (first.id, first.public_id.as_str())
    );
    assert!(
        b.reader
            .alert_by_public_id(&tenant("u"), &first.public_id)
            .unwrap()
            .is_none()
    );
    assert!(
        b.reader
            .alert_by_public_id(&tenant("t"), &first.id.to_string())
            .unwrap()
            .is_none()
    );
    assert!(
        b.reader
            .alert_by_public_id(&tenant("t"), &first.public_id.to_uppercase())
            .unwrap()
            .is_none()
    );
    // A repeated raise keeps the id; listings carry it.
    let again = b
        .writer
        .rules_commit(
            &[],
            &[],
            &[raise_write(alert("t", "O0", "", "dwell"))],
            now(),
        )
        .unwrap();
    assert_eq!(
        (again[0].opened, again[0].public_id.as_str()),
        (false, first.public_id.as_str())
    );
    assert!(
        crate::alerts::all(&b, "t")
            .iter()
            .all(|a| ids.contains(a.public_id.as_str()))
    );
}
