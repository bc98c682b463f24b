//! What a batch of events says of an order's channel, warehouse, value, customer and tags,
//! reduced to one update: per field the latest by event time wins (ties: the greater value),
//! tags accumulate. A backend keeps the same rule when it merges the update into what it holds,
//! so neither arrival order nor batching changes the kept attributes.

use crate::rows::StoredEvent;
use std::collections::BTreeSet;

/// At most this many tags are kept per order (the smallest), each at most this many chars.
pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_CHARS: usize = 64;

/// A value with the event time (nanoseconds) of the event that named it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamped<T> {
    pub at_ns: i64,
    pub value: T,
}

/// One order's attribute update from one batch: each field the batch's latest, `None` when no
/// event of the batch named it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttrUpdate<'e> {
    pub channel: Option<Stamped<&'e str>>,
    /// From `warehouse_id`, else `warehouse`.
    pub warehouse: Option<Stamped<&'e str>>,
    pub order_value: Option<Stamped<f64>>,
    pub customer_id: Option<Stamped<&'e str>>,
    pub customer_email: Option<Stamped<&'e str>>,
    pub customer_phone: Option<Stamped<&'e str>>,
    /// The batch's tags, sorted and distinct, not yet merged with the kept ones
    /// ([`merge_tags`]: the backend holds those).
    pub tags: BTreeSet<&'e str>,
}

impl<'e> AttrUpdate<'e> {
    /// The reduction of `evs`' attributes.
    pub fn of(evs: &[&'e StoredEvent]) -> Self {
        let mut u = AttrUpdate::default();
        for se in evs {
            let a = &se.event.attributes;
            let get = |k: &str| a.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
            let at =
                i64::try_from(se.event.occurred_at.instant.as_nanosecond()).unwrap_or(i64::MAX);
            keep(&mut u.channel, at, get("channel"));
            keep(
                &mut u.warehouse,
                at,
                get("warehouse_id").or_else(|| get("warehouse")),
            );
            keep(&mut u.customer_id, at, get("customer_id"));
            keep(&mut u.customer_email, at, get("customer_email"));
            keep(&mut u.customer_phone, at, get("customer_phone"));
            let v = a
                .get("order_value")
                .and_then(serde_json::Value::as_f64)
                .filter(|v| v.is_finite());
            keep(&mut u.order_value, at, v);
            u.tags.extend(tags_of(a.get("tags")));
        }
        u
    }

    /// Whether the batch named nothing: no write needed.
    pub fn is_empty(&self) -> bool {
        self.text().iter().all(Option::is_none)
            && self.order_value.is_none()
            && self.tags.is_empty()
    }

    /// The text fields in a fixed order: channel, warehouse, customer id, email, phone.
    pub fn text(&self) -> [Option<Stamped<&'e str>>; 5] {
        [
            self.channel,
            self.warehouse,
            self.customer_id,
            self.customer_email,
            self.customer_phone,
        ]
    }
}

/// Whether `(at, value)` wins over what is kept: later event time, ties to the greater value.
/// The rule a backend's merge must follow.
pub fn wins<T: PartialOrd>(new: (i64, T), kept: Option<(i64, T)>) -> bool {
    kept.is_none_or(|k| new > k)
}

/// Keeps `v` in `best` if it wins over what `best` holds.
fn keep<T: PartialOrd + Copy>(best: &mut Option<Stamped<T>>, at: i64, v: Option<T>) {
    if let Some(v) = v
        && wins((at, v), best.map(|b| (b.at_ns, b.value)))
    {
        *best = Some(Stamped {
            at_ns: at,
            value: v,
        });
    }
}

/// The tags an event's `tags` attribute names that are kept: strings, not empty, at most
/// [`MAX_TAG_CHARS`] long (a longer one is dropped, not cut, so two long tags never merge).
fn tags_of(v: Option<&serde_json::Value>) -> impl Iterator<Item = &str> {
    v.and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .filter(|t| !t.is_empty() && t.chars().count() <= MAX_TAG_CHARS)
}

/// The union of `old` and `new`, sorted, deduplicated, the [`MAX_TAGS`] smallest: the same set
/// whatever order and grouping the tags came in (the smallest k of a union are among the
/// smallest k of its parts).
pub fn merge_tags<'a>(
    old: impl IntoIterator<Item = &'a str>,
    new: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let all: BTreeSet<&str> = old.into_iter().chain(new).collect();
    all.into_iter().take(MAX_TAGS).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::tests::stored;
    use proptest::prelude::*;

    #[test]
    fn tags_keep_strings_of_at_most_64_chars() {
        let long = "é".repeat(MAX_TAG_CHARS);
        let v = serde_json::json!(["vip", "", 7, null, long.clone(), format!("{long}x"), ["x"]]);
        assert_eq!(
            tags_of(Some(&v)).collect::<Vec<_>>(),
            ["vip", long.as_str()]
        );
        assert_eq!(tags_of(Some(&serde_json::json!("vip"))).count(), 0);
        assert_eq!(tags_of(None).count(), 0);
    }

    #[test]
    fn merged_tags_are_sorted_distinct_and_the_smallest_32() {
        assert_eq!(merge_tags(["b", "a"], ["a", "c"]), ["a", "b", "c"]);
        let many: Vec<String> = (0..50).rev().map(|i| format!("t{i:02}")).collect();
        let merged = merge_tags([], many.iter().map(String::as_str));
        assert_eq!(merged.len(), MAX_TAGS);
        assert_eq!((merged[0].as_str(), merged[31].as_str()), ("t00", "t31"));
    }

    #[test]
    fn the_latest_event_wins_each_field_and_ties_go_to_the_greater_value() {
        let a = stored(
            1,
            "a",
            None,
            "in_transit",
            2,
            serde_json::json!({
                "channel": "web", "warehouse": "EWR", "order_value": 10.0, "tags": ["x"]
            }),
        );
        let b = stored(
            2,
            "b",
            None,
            "in_transit",
            1,
            serde_json::json!({
                "channel": "pos", "warehouse_id": "JFK", "customer_id": "c1", "tags": ["y"]
            }),
        );
        let c = stored(
            3,
            "c",
            None,
            "in_transit",
            2,
            serde_json::json!({"channel": "zzz"}),
        );
        let u = AttrUpdate::of(&[&a, &b, &c]);
        assert_eq!(u.channel.map(|s| s.value), Some("zzz"));
        assert_eq!(u.warehouse.map(|s| s.value), Some("EWR"));
        assert_eq!(u.customer_id.map(|s| s.value), Some("c1"));
        assert_eq!(u.order_value.map(|s| s.value), Some(10.0));
        assert_eq!(u.tags.into_iter().collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(u.customer_email, None);
        let none = stored(
            4,
            "d",
            None,
            "in_transit",
            1,
            serde_json::json!({"channel": ""}),
        );
        assert!(AttrUpdate::of(&[&none]).is_empty());
    }

    proptest! {
        /// What is kept must not depend on how the tags were batched or ordered.
        #[test]
        fn merging_tags_in_any_grouping_gives_the_same_set(
            tags in prop::collection::vec("[a-z]{1,2}", 0..120),
            cut in any::<prop::sample::Index>(),
        ) {
            let all = merge_tags([], tags.iter().map(String::as_str));
            let (a, b) = tags.split_at(cut.index(tags.len() + 1));
            let first = merge_tags([], b.iter().map(String::as_str));
            let stepwise = merge_tags(first.iter().map(String::as_str), a.iter().map(String::as_str));
            prop_assert_eq!(stepwise, all);
        }

        /// Reducing a batch in any split gives the field the whole batch gives.
        #[test]
        fn reducing_in_any_grouping_gives_the_same_channel(
            picks in prop::collection::vec((0i64..5, 0usize..4), 1..20),
            cut in any::<prop::sample::Index>(),
        ) {
            let names = ["a", "b", "c", "d"];
            let evs: Vec<StoredEvent> = picks
                .iter()
                .enumerate()
                .map(|(i, (m, n))| stored(i as u64, &format!("e{i}"), None, "pending", *m,
                    serde_json::json!({"channel": names[*n]})))
                .collect();
            let refs: Vec<&StoredEvent> = evs.iter().collect();
            let whole = AttrUpdate::of(&refs).channel.map(|s| (s.at_ns, s.value));
            let (x, y) = refs.split_at(cut.index(refs.len() + 1));
            let mut merged = AttrUpdate::of(x).channel.map(|s| (s.at_ns, s.value));
            if let Some(s) = AttrUpdate::of(y).channel
                && wins((s.at_ns, s.value), merged)
            {
                merged = Some((s.at_ns, s.value));
            }
            prop_assert_eq!(merged, whole);
        }
    }
}
