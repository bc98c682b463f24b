//! Public ids: what a tenant sees instead of the store's row numbers. Documents, quarantined
//! codes, notification endpoints, subscriptions and notifications are numbered by sequences
//! every tenant shares, so a tenant that saw its own ids go from 100 to 250 overnight would
//! know the whole server took in 150 of them. At the API boundary each row number is put
//! through a keyed 64-bit block cipher and shown as a prefix per kind plus 16 hex digits
//! (`doc_3f9a0c1e5b7d2468`); the store keeps its numbers, no migration needed.
//!
//! The cipher is an 8-round Feistel network on the two 32-bit halves whose round function is
//! HMAC-SHA256(key, kind, round, half) truncated to 32 bits. A Feistel network is a
//! permutation whatever its round function, so decoding is exact and two ids never share a
//! public id; without the key the output of consecutive numbers looks unrelated. The kind is
//! in every round, so the same row number gives unrelated ids of different kinds, and an id
//! of one kind does not decode as another (its prefix already differs).
//!
//! Pure: the key is given (the binary keeps it in the data directory, `ids.key`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The length of the key, in bytes.
pub const KEY_LEN: usize = 32;
const ROUNDS: u8 = 8;
const HEX_DIGITS: usize = 16;

/// What a public id names; each has its own prefix and its own permutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// A kept vendor document (dead letter, or kept for its unmapped codes).
    Document,
    /// A quarantined code (`/v1/unmapped`).
    Unmapped,
    /// A notification endpoint.
    Endpoint,
    /// A notification subscription.
    Subscription,
    /// One notification (an outbox row).
    Notification,
}

impl IdKind {
    pub const ALL: [IdKind; 5] = [
        IdKind::Document,
        IdKind::Unmapped,
        IdKind::Endpoint,
        IdKind::Subscription,
        IdKind::Notification,
    ];

    /// The prefix of its public ids, so an id says what it names.
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Document => "doc_",
            IdKind::Unmapped => "unm_",
            IdKind::Endpoint => "ep_",
            IdKind::Subscription => "sub_",
            IdKind::Notification => "ntf_",
        }
    }

    /// The byte that separates the kinds' permutations (never changed: it would change every
    /// id a client holds).
    fn tag(self) -> u8 {
        match self {
            IdKind::Document => 1,
            IdKind::Unmapped => 2,
            IdKind::Endpoint => 3,
            IdKind::Subscription => 4,
            IdKind::Notification => 5,
        }
    }
}

/// Turns row numbers into public ids and back, with one secret key.
#[derive(Clone)]
pub struct PublicIds {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for PublicIds {
    // The key never prints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicIds(..)")
    }
}

impl PublicIds {
    pub fn new(key: [u8; KEY_LEN]) -> Self {
        // HMAC takes a key of any length: this cannot fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("hmac accepts any key length"));
        PublicIds { mac }
    }

    /// The public id of row `id`.
    pub fn encode(&self, kind: IdKind, id: i64) -> String {
        let block = self.permute(kind, id as u64);
        format!("{}{block:016x}", kind.prefix())
    }

    /// The row number a public id of `kind` names; `None` for anything that is not one (the
    /// caller answers it as it answers an unknown id).
    pub fn decode(&self, kind: IdKind, public: &str) -> Option<i64> {
        let hex = public.strip_prefix(kind.prefix())?;
        // Lowercase only: one id has one spelling.
        if hex.len() != HEX_DIGITS || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let block = u64::from_str_radix(hex, 16).ok()?;
        Some(self.unpermute(kind, block) as i64)
    }

    fn round(&self, kind: IdKind, round: u8, half: u32) -> u32 {
        let mut mac = self.mac.clone();
        mac.update(&[kind.tag(), round]);
        mac.update(&half.to_be_bytes());
        let out = mac.finalize().into_bytes();
        u32::from_be_bytes([out[0], out[1], out[2], out[3]])
    }

    fn permute(&self, kind: IdKind, block: u64) -> u64 {
        let (mut left, mut right) = ((block >> 32) as u32, block as u32);
        for r in 0..ROUNDS {
            (left, right) = (right, left ^ self.round(kind, r, right));
        }
        (u64::from(left) << 32) | u64::from(right)
    }

    fn unpermute(&self, kind: IdKind, block: u64) -> u64 {
        let (mut left, mut right) = ((block >> 32) as u32, block as u32);
        for r in (0..ROUNDS).rev() {
            (left, right) = (right ^ self.round(kind, r, left), left);
        }
        (u64::from(left) << 32) | u64::from(right)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn ids() -> PublicIds {
        PublicIds::new([7; KEY_LEN])
    }

    fn kind() -> impl Strategy<Value = IdKind> {
        prop::sample::select(IdKind::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn decoding_an_encoded_id_gives_it_back(k in kind(), id in any::<i64>()) {
            let p = ids();
            let public = p.encode(k, id);
            prop_assert!(public.starts_with(k.prefix()));
            prop_assert_eq!(public.len(), k.prefix().len() + HEX_DIGITS);
            prop_assert_eq!(p.decode(k, &public), Some(id));
        }

        #[test]
        fn an_id_of_one_kind_is_not_one_of_another(a in kind(), b in kind(), id in any::<i64>()) {
            prop_assume!(a != b);
            prop_assert_eq!(ids().decode(b, &ids().encode(a, id)), None);
        }

        #[test]
        fn any_string_decodes_without_panicking(k in kind(), s in "\\PC{0,40}") {
            let _ = ids().decode(k, &s);
        }

        #[test]
        fn a_prefixed_string_decodes_only_if_it_is_the_canonical_spelling(
            k in kind(), hex in "[0-9a-fA-F+-]{0,20}",
        ) {
            let public = format!("{}{hex}", k.prefix());
            match ids().decode(k, &public) {
                Some(id) => prop_assert_eq!(ids().encode(k, id), public),
                None => prop_assert!(
                    hex.len() != HEX_DIGITS || hex.bytes().any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                ),
            }
        }

        #[test]
        fn another_key_gives_other_ids(id in any::<i64>(), k in kind()) {
            let other = PublicIds::new([8; KEY_LEN]);
            prop_assert_ne!(ids().encode(k, id), other.encode(k, id));
        }
    }

    #[test]
    fn consecutive_rows_get_distinct_unordered_ids() {
        let p = ids();
        for k in IdKind::ALL {
            let public: Vec<String> = (1..=5000).map(|n| p.encode(k, n)).collect();
            let distinct: HashSet<&String> = public.iter().collect();
            assert_eq!(distinct.len(), public.len(), "{k:?} ids collide");
            let rising = public.windows(2).filter(|w| w[0] < w[1]).count();
            // An order-preserving encoding would rise 4999 times; a random one about half.
            assert!((2000..3000).contains(&rising), "{k:?}: {rising} rises");
        }
    }

    #[test]
    fn the_same_row_is_unrelated_across_kinds() {
        let p = ids();
        let hex = |k: IdKind| p.encode(k, 42)[k.prefix().len()..].to_owned();
        let all: HashSet<String> = IdKind::ALL.into_iter().map(hex).collect();
        assert_eq!(all.len(), IdKind::ALL.len());
    }

    #[test]
    fn a_known_id_keeps_its_spelling() {
        // Clients store these ids: a change to the cipher would orphan every one. The value
        // was computed apart from this code (HMAC-SHA256 in Python, the same 8 rounds).
        let p = ids();
        let doc = p.encode(IdKind::Document, 1);
        assert_eq!(doc, "doc_598a2f858ced0042");
        assert_eq!(p.decode(IdKind::Document, &doc), Some(1));
        assert_eq!(p.decode(IdKind::Document, "doc_1"), None);
        assert_eq!(p.decode(IdKind::Document, "1"), None);
        assert_eq!(p.decode(IdKind::Document, &doc.to_uppercase()), None);
    }
}
