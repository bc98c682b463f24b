//! Carrier scorecards from the store's delivered-shipment rows: on-time rates and transit-time
//! percentiles per carrier, per lane and per day. Pure: the rows and the window in, the wire
//! type out.

use crate::dto::dashboard::{CarrierScore, DailyScore, LaneScore, ScorecardsDto, TransitHours};
use jiff::Timestamp;
use std::collections::BTreeMap;
use waypost_domain::quantile::nearest_rank;
use waypost_store::OutcomeRow;

/// What one group of deliveries adds up to.
#[derive(Default)]
struct Tally {
    delivered: u64,
    on_time: u64,
    late: u64,
    no_promise: u64,
    /// Transit times in hours, for the percentiles.
    hours: Vec<f64>,
}

impl Tally {
    fn add(&mut self, r: &OutcomeRow) {
        self.delivered += 1;
        match r.promised_at {
            Some(p) if r.delivered_at <= p => self.on_time += 1,
            Some(_) => self.late += 1,
            None => self.no_promise += 1,
        }
        if let Some(s) = r.shipped_at.filter(|s| *s <= r.delivered_at) {
            let secs = r.delivered_at.duration_since(s).as_secs_f64();
            self.hours.push(secs / 3600.0);
        }
    }

    fn on_time_rate(&self) -> Option<f64> {
        let promised = self.on_time + self.late;
        (promised > 0).then(|| round(self.on_time as f64 / promised as f64, 4))
    }

    fn transit(&mut self) -> Option<TransitHours> {
        self.hours.sort_by(f64::total_cmp);
        let q = |p: f64| nearest_rank(&self.hours, p).map(|h| round(h, 2));
        Some(TransitHours {
            p50: q(0.5)?,
            p90: q(0.9)?,
            p95: q(0.95)?,
        })
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (x * k).round() / k
}

/// Most deliveries first, then by name (unnamed last).
fn by_volume<K: Ord>(a: (&Option<K>, u64), b: (&Option<K>, u64)) -> std::cmp::Ordering {
    b.1.cmp(&a.1)
        .then_with(|| a.0.is_none().cmp(&b.0.is_none()))
        .then_with(|| a.0.cmp(b.0))
}

type Lane = (Option<String>, Option<String>);

pub(crate) fn scorecards(rows: &[OutcomeRow], since: Timestamp) -> ScorecardsDto {
    let mut carriers: BTreeMap<Option<String>, (Tally, BTreeMap<Lane, Tally>)> = BTreeMap::new();
    let mut daily: BTreeMap<(String, Option<String>), Tally> = BTreeMap::new();
    for r in rows {
        let (all, lanes) = carriers.entry(r.carrier.clone()).or_default();
        all.add(r);
        lanes
            .entry((r.origin.clone(), r.destination.clone()))
            .or_default()
            .add(r);
        let day = r.delivered_at.strftime("%Y-%m-%d").to_string();
        daily.entry((day, r.carrier.clone())).or_default().add(r);
    }
    let mut out: Vec<CarrierScore> = carriers
        .into_iter()
        .map(|(carrier, (mut all, lanes))| {
            let mut lanes: Vec<LaneScore> = lanes
                .into_iter()
                .map(|((origin, destination), mut t)| LaneScore {
                    origin,
                    destination,
                    delivered: t.delivered,
                    on_time_rate: t.on_time_rate(),
                    transit_hours: t.transit(),
                })
                .collect();
            lanes.sort_by(|a, b| {
                b.delivered
                    .cmp(&a.delivered)
                    .then_with(|| (&a.origin, &a.destination).cmp(&(&b.origin, &b.destination)))
            });
            CarrierScore {
                carrier,
                delivered: all.delivered,
                on_time: all.on_time,
                late: all.late,
                no_promise: all.no_promise,
                on_time_rate: all.on_time_rate(),
                transit_hours: all.transit(),
                lanes,
            }
        })
        .collect();
    out.sort_by(|a, b| by_volume((&a.carrier, a.delivered), (&b.carrier, b.delivered)));
    ScorecardsDto {
        since: since.to_string(),
        carriers: out,
        daily: daily
            .into_iter()
            .map(|((day, carrier), t)| DailyScore {
                day,
                carrier,
                delivered: t.delivered,
                on_time_rate: t.on_time_rate(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn row(
        carrier: &str,
        shipped_h: Option<i64>,
        delivered_h: i64,
        promised_h: Option<i64>,
    ) -> OutcomeRow {
        let base = t("2026-03-01T00:00:00Z");
        let h = |n: i64| base + jiff::SignedDuration::from_hours(n);
        OutcomeRow {
            order_id: format!("O{delivered_h}"),
            tracking_number: format!("T{delivered_h}"),
            carrier: Some(carrier.into()),
            origin: Some("US-CA".into()),
            destination: Some(
                if delivered_h % 2 == 0 {
                    "US-NY"
                } else {
                    "US-TX"
                }
                .into(),
            ),
            shipped_at: shipped_h.map(h),
            delivered_at: h(delivered_h),
            promised_at: promised_h.map(h),
        }
    }

    #[test]
    fn rates_and_percentiles_per_carrier_lane_and_day() {
        // ups: transits 10, 20, 30, 40 h; promises met twice, missed once, absent once.
        let rows = vec![
            row("ups", Some(0), 10, Some(12)),
            row("ups", Some(0), 20, Some(20)),
            row("ups", Some(0), 30, Some(25)),
            row("ups", Some(1), 41, None),
            row("dhl", None, 44, Some(60)),
        ];
        let s = scorecards(&rows, t("2026-02-01T00:00:00Z"));
        assert_eq!(s.since, "2026-02-01T00:00:00Z");
        let ups = &s.carriers[0];
        assert_eq!(ups.carrier.as_deref(), Some("ups"));
        assert_eq!(
            (ups.delivered, ups.on_time, ups.late, ups.no_promise),
            (4, 2, 1, 1)
        );
        assert_eq!(ups.on_time_rate, Some(0.6667));
        assert_eq!(
            ups.transit_hours,
            Some(TransitHours {
                p50: 30.0,
                p90: 40.0,
                p95: 40.0
            })
        );
        // Lanes by volume: to NY (delivered at even hours: 10, 20, 30), then to TX (41).
        let lanes: Vec<(Option<&str>, u64)> = ups
            .lanes
            .iter()
            .map(|l| (l.destination.as_deref(), l.delivered))
            .collect();
        assert_eq!(lanes, [(Some("US-NY"), 3), (Some("US-TX"), 1)]);
        assert_eq!(ups.lanes[0].on_time_rate, Some(0.6667));
        let dhl = &s.carriers[1];
        assert_eq!(dhl.on_time_rate, Some(1.0));
        assert_eq!(
            dhl.transit_hours, None,
            "no shipped instant, no transit time"
        );
        let days: Vec<(&str, Option<&str>, u64)> = s
            .daily
            .iter()
            .map(|d| (d.day.as_str(), d.carrier.as_deref(), d.delivered))
            .collect();
        assert_eq!(
            days,
            [
                ("2026-03-01", Some("ups"), 2),
                ("2026-03-02", Some("dhl"), 1),
                ("2026-03-02", Some("ups"), 2),
            ]
        );
    }

    #[test]
    fn no_promise_means_no_rate_and_nothing_means_nothing() {
        let s = scorecards(&[row("ups", Some(0), 5, None)], Timestamp::UNIX_EPOCH);
        assert_eq!(s.carriers[0].on_time_rate, None);
        assert_eq!(s.carriers[0].transit_hours.unwrap().p50, 5.0);
        let empty = scorecards(&[], Timestamp::UNIX_EPOCH);
        assert!(empty.carriers.is_empty() && empty.daily.is_empty());
    }
}
