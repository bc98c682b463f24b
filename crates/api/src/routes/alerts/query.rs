//! The query of `GET /v1/alerts`, read from its pairs: several parameters repeat, which a
//! derived `Deserialize` would not allow, and every refusal names the parameter.

use crate::problem::Problem;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use utoipa::IntoParams;
use waypost_rules::{Severity, parse_duration};
use waypost_store::{ALERT_STATUSES, AlertQuery, AlertSort};

/// Largest page of alerts.
pub const MAX_LIMIT: usize = 1000;
/// The review queue by default: what still needs a person.
const DEFAULT_STATUSES: [&str; 3] = ["open", "acknowledged", "snoozed"];

/// The query of `GET /v1/alerts`. Documentation only: the handler reads the pairs itself,
/// because `status`, `severity`, `rule` and `carrier` may repeat.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by hand; this type only documents the parameters
pub struct AlertListParams {
    /// Statuses to list (repeat the parameter or separate with commas; `all` for every
    /// status). Default: open, acknowledged, snoozed.
    #[param(style = Form, explode)]
    status: Option<Vec<String>>,
    /// Severities: info, low, medium, high, critical (repeatable or comma-separated).
    #[param(style = Form, explode)]
    severity: Option<Vec<String>>,
    /// Rule names (repeatable or comma-separated).
    #[param(style = Form, explode)]
    rule: Option<Vec<String>>,
    /// Carriers, case-insensitive (repeatable or comma-separated).
    #[param(style = Form, explode)]
    carrier: Option<Vec<String>>,
    /// Only this order's alerts.
    order_id: Option<String>,
    /// Only alerts opened at least this long ago on the engine's clock, like `30m` or `1h30m`.
    min_age: Option<String>,
    /// `impact` (default: most important first), `newest` or `oldest`.
    sort: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<String>,
    /// From `next_offset` of the previous page (default 0).
    offset: Option<String>,
}

/// Reads the listing's query pairs into a store query asking for one row beyond the page.
pub(super) fn list_query(
    pairs: &[(String, String)],
    now: Timestamp,
) -> Result<AlertQuery, Problem> {
    let bad = |detail: String| Problem::bad_request("invalid-query", detail);
    let mut q = AlertQuery {
        sort: AlertSort::Impact,
        ..AlertQuery::default()
    };
    let (mut limit, mut offset, mut all) = (100, 0, false);
    for (name, value) in pairs {
        // A list parameter may repeat and each value may be a comma list.
        let items = || {
            value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        match name.as_str() {
            "status" => {
                for s in items() {
                    if s == "all" {
                        all = true;
                    } else if ALERT_STATUSES.contains(&s.as_str()) {
                        q.statuses.push(s);
                    } else {
                        return Err(bad(format!(
                            "status: {s:?} is not one of {}, or all",
                            ALERT_STATUSES.join(", ")
                        )));
                    }
                }
            }
            "severity" => {
                for s in items() {
                    let sev: Severity = s.parse().map_err(|e| bad(format!("severity: {e}")))?;
                    q.severities.push(sev.as_str().to_owned());
                }
            }
            "rule" => q.rules.extend(items()),
            "carrier" => q.carriers.extend(items()),
            "order_id" => q.order_id = Some(value.clone()).filter(|v| !v.is_empty()),
            "min_age" if value.is_empty() => {}
            "min_age" => {
                let age = parse_duration(value).map_err(|e| bad(format!("min_age: {e}")))?;
                // "Opened at least `age` ago" is opened_at <= now - age; the store's bound is
                // strict, so move it on by the smallest step.
                let bound = now
                    .checked_sub(age)
                    .and_then(|t| t.checked_add(SignedDuration::from_nanos(1)))
                    .map_err(|_| bad(format!("min_age: {value:?} is too long")))?;
                q.opened_before = Some(bound);
            }
            "sort" => {
                q.sort = match value.as_str() {
                    "impact" | "" => AlertSort::Impact,
                    "newest" => AlertSort::Newest,
                    "oldest" => AlertSort::Oldest,
                    other => {
                        return Err(bad(format!(
                            "sort: {other:?} is not impact, newest or oldest"
                        )));
                    }
                }
            }
            "limit" if value.is_empty() => {}
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        bad(format!(
                            "limit: must be a whole number from 1 to {MAX_LIMIT}"
                        ))
                    })?;
            }
            "offset" if value.is_empty() => {}
            "offset" => {
                // Bounded so offset + limit cannot overflow anywhere on the way to SQL.
                offset = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= i32::MAX as usize)
                    .ok_or_else(|| bad("offset: must be a whole number from 0".into()))?;
            }
            other => {
                return Err(bad(format!(
                    "{other:?} is not a parameter of this listing (status, severity, rule, \
                     carrier, order_id, min_age, sort, limit, offset)"
                )));
            }
        }
    }
    if all {
        q.statuses.clear();
    } else if q.statuses.is_empty() {
        q.statuses = DEFAULT_STATUSES.iter().map(|s| s.to_string()).collect();
    }
    q.limit = limit + 1;
    q.offset = offset;
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<AlertQuery, Problem> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        list_query(&pairs, "2026-11-27T12:00:00Z".parse().unwrap())
    }

    fn q_all() -> AlertQuery {
        q(&[("status", "all")]).unwrap()
    }

    #[test]
    fn the_default_listing_is_the_review_queue_by_impact() {
        let q = q(&[]).unwrap();
        assert_eq!(q.statuses, ["open", "acknowledged", "snoozed"]);
        assert_eq!(q.sort, AlertSort::Impact);
        assert_eq!((q.limit, q.offset), (101, 0));
        assert!(q.opened_before.is_none());
    }

    #[test]
    fn list_parameters_repeat_and_take_comma_lists() {
        let q = q(&[
            ("status", "open,resolved"),
            ("status", "snoozed"),
            ("severity", "high, critical"),
            ("rule", "a"),
            ("rule", "b,c"),
            ("carrier", "UPS"),
            ("order_id", "o-1"),
            ("sort", "oldest"),
            ("limit", "1000"),
            ("offset", "20"),
        ])
        .unwrap();
        assert_eq!(q.statuses, ["open", "resolved", "snoozed"]);
        assert_eq!(q.severities, ["high", "critical"]);
        assert_eq!(q.rules, ["a", "b", "c"]);
        assert_eq!(q.carriers, ["UPS"]);
        assert_eq!(q.order_id.as_deref(), Some("o-1"));
        assert_eq!(q.sort, AlertSort::Oldest);
        assert_eq!((q.limit, q.offset), (1001, 20));
        assert!(q_all().statuses.is_empty());
    }

    #[test]
    fn min_age_is_inclusive_on_the_engine_clock() {
        let q = q(&[("min_age", "30m")]).unwrap();
        let want: Timestamp = "2026-11-27T11:30:00.000000001Z".parse().unwrap();
        assert_eq!(q.opened_before, Some(want));
    }

    #[test]
    fn bad_parameters_are_named() {
        for (pairs, named) in [
            (vec![("status", "closed")], "status"),
            (vec![("severity", "urgent")], "severity"),
            (vec![("min_age", "soon")], "min_age"),
            (vec![("sort", "worst")], "sort"),
            (vec![("limit", "0")], "limit"),
            (vec![("limit", "1001")], "limit"),
            (vec![("offset", "-1")], "offset"),
            (vec![("statuses", "open")], "statuses"),
        ] {
            let p = q(&pairs).unwrap_err();
            assert_eq!(p.status, 400);
            assert!(p.detail.contains(named), "{}", p.detail);
        }
    }
}
