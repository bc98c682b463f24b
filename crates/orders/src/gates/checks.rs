//! The checks themselves: each looks at the order (and the facts) and says what is wrong, with
//! the values; [`evaluate`] turns that into findings with the outcome in force for the order's
//! channel and account.

use super::postal::{postal_matches, postal_templates};
use super::spec::{CheckId, Settings};
use super::{Decision, Facts, Finding, Outcome, Profile};
use crate::model::{ChannelState, Order};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// What one check saw: the failures (message, line index), or what it checked when none.
struct Verdict {
    fails: Vec<(String, Option<usize>)>,
    ok: String,
}

impl Verdict {
    fn ok(ok: impl Into<String>) -> Verdict {
        Verdict {
            fails: Vec::new(),
            ok: ok.into(),
        }
    }
    fn fail(message: String) -> Verdict {
        Verdict {
            fails: vec![(message, None)],
            ok: String::new(),
        }
    }
}

/// Judges `order` by `profile`. Every check gives at least one finding; the decision's outcome
/// is the most severe.
pub fn evaluate(profile: &Profile, order: &Order, facts: &Facts) -> Decision {
    let mut findings = Vec::new();
    for check in CheckId::ALL {
        let s = profile.settings(check, order.channel, &order.account);
        if !s.enabled {
            findings.push(Finding {
                check,
                outcome: Outcome::Pass,
                message: format!("disabled in the {} layer", s.enabled_from),
                layer: s.enabled_from,
                line: None,
            });
            continue;
        }
        let v = run(check, order, facts, &s);
        if v.fails.is_empty() {
            findings.push(Finding {
                check,
                outcome: Outcome::Pass,
                layer: s.outcome_from.clone(),
                message: v.ok,
                line: None,
            });
        }
        for (message, line) in v.fails {
            findings.push(Finding {
                check,
                outcome: s.outcome,
                layer: s.outcome_from.clone(),
                message,
                line,
            });
        }
    }
    // Stable: `explain` and shadow reports list checks in one order, lines ascending.
    findings.sort_by_key(|f| (f.check, f.line));
    let outcome = findings
        .iter()
        .map(|f| f.outcome)
        .max()
        .unwrap_or(Outcome::Pass);
    Decision {
        outcome,
        findings,
        profile: profile.name.clone(),
    }
}

fn run(check: CheckId, o: &Order, facts: &Facts, s: &Settings) -> Verdict {
    match check {
        CheckId::Required => required(o, s),
        CheckId::AddressComplete => address_complete(o),
        CheckId::PostalFormat => postal_format(o),
        CheckId::SkuKnown => sku_known(o, facts),
        CheckId::Quantity => per_line(o, |i, l| {
            let q = l.quantity;
            if q <= Decimal::ZERO {
                Some(format!("line {}: quantity {q} is not positive", i + 1))
            } else if q > s.max {
                Some(format!(
                    "line {}: quantity {q} is over the limit of {}",
                    i + 1,
                    s.max
                ))
            } else {
                None
            }
        })
        .or_ok(format!("every quantity is positive and at most {}", s.max)),
        CheckId::Price => per_line(o, |i, l| {
            let p = l.unit_price?;
            if p <= Decimal::ZERO {
                Some(format!("line {}: unit price {p} is not positive", i + 1))
            } else if p > s.max_unit {
                Some(format!(
                    "line {}: unit price {p} is over the limit of {}",
                    i + 1,
                    s.max_unit
                ))
            } else {
                None
            }
        })
        .or_ok(format!(
            "every unit price given is above 0 and at most {}",
            s.max_unit
        )),
        CheckId::Currency => currency(o, s),
        CheckId::Duplicate => duplicate(o, facts, s),
        CheckId::ChannelRisk => channel_risk(o, s),
        CheckId::Promise => promise(o, facts, s),
        CheckId::Stock => stock(o, facts),
        CheckId::ChannelState => match &o.placed.state {
            ChannelState::Open => Verdict::ok("open in its channel"),
            ChannelState::Incomplete { why } => {
                Verdict::fail(format!("not complete in its channel: {why}"))
            }
            ChannelState::OnHold { why } => Verdict::fail(format!("on hold in its channel: {why}")),
            ChannelState::Cancelled { .. } => Verdict::ok(
                "cancelled in its channel: not a gate (the cancellation is an event of its own)",
            ),
        },
    }
}

fn per_line(o: &Order, f: impl Fn(usize, &crate::model::Line) -> Option<String>) -> Verdict {
    let fails = (o.placed.lines.iter().enumerate())
        .filter_map(|(i, l)| f(i, l).map(|m| (m, Some(i))))
        .collect();
    Verdict {
        fails,
        ok: String::new(),
    }
}

impl Verdict {
    fn or_ok(mut self, ok: String) -> Verdict {
        self.ok = ok;
        self
    }
}

fn required(o: &Order, s: &Settings) -> Verdict {
    let mut fails = Vec::new();
    let mut present = Vec::new();
    for alts in &s.fields {
        let names: Vec<&str> = alts.iter().map(|f| f.as_str()).collect();
        if alts.iter().any(|f| f.present(o)) {
            present.push(names.join("|"));
        } else {
            fails.push((format!("missing {}", names.join(" or ")), None));
        }
    }
    Verdict {
        fails,
        ok: if present.is_empty() {
            "no field required".to_string()
        } else {
            format!("present: {}", present.join(", "))
        },
    }
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

fn address_complete(o: &Order) -> Verdict {
    let Some(a) = &o.placed.ship_to else {
        return Verdict::fail("no ship-to address".to_string());
    };
    let street = a.lines.iter().any(|l| !l.trim().is_empty());
    if !street && !blank(&a.location_code) {
        return Verdict::ok(format!(
            "ship-to given by location code {:?}",
            a.location_code.as_deref().unwrap_or_default()
        ));
    }
    let country = a.country.as_deref().map(str::trim).unwrap_or_default();
    // A postal code is wanted only where the country uses them (it is in the table).
    let wants_postal = postal_templates(&country.to_ascii_uppercase()).is_some();
    let mut missing = Vec::new();
    if !street {
        missing.push("street");
    }
    if blank(&a.city) {
        missing.push("city");
    }
    if wants_postal && blank(&a.postal_code) {
        missing.push("postal code");
    }
    if country.is_empty() {
        missing.push("country");
    }
    if missing.is_empty() {
        Verdict::ok("ship-to has street, city, country and the postal code its country uses")
    } else {
        Verdict::fail(format!("ship-to has no {}", missing.join(", ")))
    }
}

fn postal_format(o: &Order) -> Verdict {
    let Some(a) = &o.placed.ship_to else {
        return Verdict::ok("no ship-to address to check");
    };
    let Some(country) = a
        .country
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    else {
        return Verdict::ok("no country to check the postal code against");
    };
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Verdict::fail(format!(
            "country {country:?} is not an ISO 3166-1 alpha-2 code"
        ));
    }
    let country = country.to_ascii_uppercase();
    let Some(code) = a.postal_code.as_deref().filter(|c| !c.trim().is_empty()) else {
        return Verdict::ok(format!("no postal code to check ({country})"));
    };
    match postal_templates(&country) {
        None => Verdict::ok(format!("no postal format known for {country}; not checked")),
        Some(t) if postal_matches(code, t) => {
            Verdict::ok(format!("postal code {code:?} fits {country}"))
        }
        Some(t) => Verdict::fail(format!(
            "postal code {code:?} does not fit {country} ({})",
            t.join(", ")
        )),
    }
}

fn sku_known(o: &Order, facts: &Facts) -> Verdict {
    let mut fails = Vec::new();
    let mut kept = false;
    for (i, l) in o.placed.lines.iter().enumerate() {
        let Some(sku) = l.sku.as_deref().filter(|s| !s.trim().is_empty()) else {
            fails.push((format!("line {} has no SKU", i + 1), Some(i)));
            continue;
        };
        match facts.catalogue.known(sku) {
            None => {}
            Some(true) => kept = true,
            Some(false) => {
                kept = true;
                fails.push((
                    format!("line {}: SKU {sku:?} is not in the catalogue", i + 1),
                    Some(i),
                ));
            }
        }
    }
    Verdict {
        fails,
        ok: if kept {
            "every SKU is in the catalogue".to_string()
        } else {
            "the tenant keeps no catalogue; SKUs not checked".to_string()
        },
    }
}

fn currency(o: &Order, s: &Settings) -> Verdict {
    let Some(c) = o
        .placed
        .currency
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    else {
        return Verdict::fail("no currency".to_string());
    };
    if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
        return Verdict::fail(format!("currency {c:?} is not an ISO 4217 code"));
    }
    if !s.allowed.is_empty() && !s.allowed.iter().any(|a| a == c) {
        return Verdict::fail(format!(
            "currency {c} is not allowed (allowed: {})",
            s.allowed.join(", ")
        ));
    }
    Verdict::ok(format!("currency {c}"))
}

fn duplicate(o: &Order, facts: &Facts, s: &Settings) -> Verdict {
    let others: Vec<&str> = (facts.duplicates.iter())
        .map(String::as_str)
        .filter(|id| *id != o.order_id)
        .collect();
    let window = format!("{:#}", s.window);
    if others.is_empty() {
        return Verdict::ok(format!("no order like it within {window}"));
    }
    // A few ids say enough; a flood of them must not make the message unbounded.
    let shown: Vec<&str> = others.iter().take(5).copied().collect();
    let more = others.len().saturating_sub(shown.len());
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Verdict::fail(format!(
        "same customer, address and lines as {}{tail} within {window}",
        shown.join(", ")
    ))
}

fn channel_risk(o: &Order, s: &Settings) -> Verdict {
    let level = |l: crate::model::RiskLevel| format!("{l:?}").to_ascii_lowercase();
    let fails: Vec<_> = (o.placed.risks.iter())
        .filter(|r| r.level >= s.at_least)
        .map(|r| {
            let m = format!(
                "the channel rates it {} risk: {}",
                level(r.level),
                r.message
            );
            (m, None)
        })
        .collect();
    Verdict {
        fails,
        ok: format!(
            "no channel risk at {} or above ({} lower)",
            level(s.at_least),
            o.placed.risks.len()
        ),
    }
}

fn promise(o: &Order, facts: &Facts, s: &Settings) -> Verdict {
    let Some(p) = o.promised_at else {
        return Verdict::ok("no promise to check");
    };
    let left = facts.now.duration_until(p);
    if left.is_negative() {
        Verdict::fail(format!("promise {p} passed {:#} ago", left.abs()))
    } else if left < s.min_lead {
        Verdict::fail(format!(
            "promise {p} is {left:#} away, less than the {:#} needed",
            s.min_lead
        ))
    } else {
        Verdict::ok(format!("promise {p} is {left:#} away"))
    }
}

fn stock(o: &Order, facts: &Facts) -> Verdict {
    // One SKU on several lines needs their sum; reported at its first line.
    let mut need: BTreeMap<&str, (usize, Decimal)> = BTreeMap::new();
    for (i, l) in o.placed.lines.iter().enumerate() {
        if let Some(sku) = l.sku.as_deref().filter(|s| !s.trim().is_empty()) {
            let e = need.entry(sku).or_insert((i, Decimal::ZERO));
            e.1 = e.1.checked_add(l.quantity).unwrap_or(Decimal::MAX);
        }
    }
    let mut tracked = false;
    let mut fails = Vec::new();
    for (sku, (i, qty)) in need {
        let Some(avail) = facts.catalogue.available(sku) else {
            continue;
        };
        tracked = true;
        if avail < qty {
            fails.push((
                format!(
                    "line {}: SKU {sku:?} needs {qty}, {avail} available over all warehouses",
                    i + 1
                ),
                Some(i),
            ));
        }
    }
    fails.sort_by_key(|(_, l)| *l);
    Verdict {
        fails,
        ok: if tracked {
            "every tracked SKU is in stock".to_string()
        } else {
            "stock not tracked for these SKUs; not checked".to_string()
        },
    }
}

/// The duplicate check's key: account, the customer's email (else phone), the ship-to
/// postal code and first street line, and the sorted (SKU, quantity) pairs; case, spaces and
/// punctuation ignored. The caller looks up orders with the same fingerprint inside the
/// profile's window and passes their ids in [`Facts::duplicates`].
pub fn fingerprint(order: &Order) -> String {
    use sha2::{Digest, Sha256};
    fn norm(s: &str) -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric() || *c == '@' || *c == '+')
            .flat_map(char::to_lowercase)
            .collect()
    }
    let p = &order.placed;
    let contact = (p.customer.email.as_deref().filter(|e| !e.trim().is_empty()))
        .or(p.customer.phone.as_deref())
        .map(norm)
        .unwrap_or_default();
    let (postal, street) = p
        .ship_to
        .as_ref()
        .map(|a| {
            (
                a.postal_code.as_deref().map(norm).unwrap_or_default(),
                a.lines.first().map(|l| norm(l)).unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let mut lines: Vec<(String, String)> = (p.lines.iter())
        .map(|l| {
            let sku = l
                .sku
                .as_deref()
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            (sku, l.quantity.normalize().to_string())
        })
        .collect();
    lines.sort();
    let mut h = Sha256::new();
    for part in [order.account.as_str(), &contact, &postal, &street] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for (sku, qty) in &lines {
        h.update(sku.as_bytes());
        h.update([1]);
        h.update(qty.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}
