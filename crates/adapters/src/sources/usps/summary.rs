//! USPS's sentences: what tracking v3 `expand=SUMMARY` and the plain Web Tools `TrackRequest`
//! give instead of fields.
//!
//! - `USPS is now in possession of your item as of 7:31 am on February 15, 2023 in RICHMOND, VA 23227.`
//! - `Your item was delivered in or at the mailbox at 9:01 am on April 28, 2015 in HANNA CITY, IL 61536.`
//! - `Your item is out for delivery on March 16, 2017 at 8:02 am in BUFFALO, NY 14213.`
//! - `May 30 11:07 am NOTICE LEFT WILMINGTON DE 19801.` (the old detail line: no year, so its
//!   date cannot be placed and the event is reported unreadable, never guessed)
//!
//! The sentence is the event's description and it has no code: the table's code-less patterns
//! map it. "Could not locate" sentences are USPS's not-found reply, not an event.

use super::{RawEvent, When, clock, month};
use crate::ParseError;
use jiff::civil::Date;

/// Sentences USPS sends in place of an event when it has none.
const NOT_FOUND: [&str; 4] = [
    "could not locate the tracking information",
    "delivery status information is not available",
    "status update is not yet available",
    "label has been created, but",
];

pub(crate) fn event(sentence: &str, path: String) -> Result<Option<RawEvent>, ParseError> {
    let s = sentence.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let lower = s.to_ascii_lowercase();
    if NOT_FOUND.iter().any(|n| lower.contains(n)) && !lower.contains(" in possession") {
        return Err(ParseError::new(path, format!("USPS: {s}")));
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    let when = match (find_date(&words), find_time(&words)) {
        (Some(Ok(d)), t) => When::Local {
            civil: d.to_datetime(t.unwrap_or(jiff::civil::Time::midnight())),
            date_only: t.is_none(),
        },
        (Some(Err(())), _) => When::Bad(ParseError::new(
            path.clone(),
            format!("{s:?}: a date without a year"),
        )),
        (None, _) => When::Bad(ParseError::new(path.clone(), format!("{s:?}: no date"))),
    };
    let (city, state, zip) = find_place(s);
    Ok(Some(RawEvent {
        path,
        code: None,
        description: Some(s.to_owned()),
        when: Some(when),
        city,
        state,
        zip,
        country: None,
        attributes: serde_json::Map::new(),
    }))
}

fn clean(w: &str) -> &str {
    w.trim_matches([',', '.', ';'])
}

/// `February 15, 2023` anywhere in the sentence; `Err` for a month and day with no year.
fn find_date(words: &[&str]) -> Option<Result<Date, ()>> {
    for (i, w) in words.iter().enumerate() {
        let Some(m) = month(clean(w)).filter(|_| clean(w).len() >= 3) else {
            continue;
        };
        let Some(day) = words.get(i + 1).and_then(|d| clean(d).parse::<i8>().ok()) else {
            continue;
        };
        let year = words
            .get(i + 2)
            .map(|y| clean(y))
            .filter(|y| y.len() == 4)
            .and_then(|y| y.parse::<i16>().ok());
        return Some(match year {
            Some(y) => Date::new(y, m, day).map_err(|_| ()),
            None => Err(()),
        });
    }
    None
}

/// `7:31 am` / `7:31am` anywhere in the sentence.
fn find_time(words: &[&str]) -> Option<jiff::civil::Time> {
    for (i, w) in words.iter().enumerate() {
        let w = clean(w);
        if !w.contains(':') || !w.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let next = words.get(i + 1).map(|n| clean(n).to_ascii_lowercase());
        let with_meridiem = match next.as_deref() {
            Some(m @ ("am" | "pm" | "a.m" | "p.m")) => format!("{w} {m}"),
            _ => w.to_owned(),
        };
        if let Some(t) = clock(&with_meridiem) {
            return Some(t);
        }
    }
    None
}

/// `... in HANNA CITY, IL 61536.`: the last ` in ` followed by `CITY, ST[ ZIP]`.
fn find_place(s: &str) -> (Option<String>, Option<String>, Option<String>) {
    let none = (None, None, None);
    let Some(at) = s.rfind(" in ") else {
        return none;
    };
    let rest = s[at + 4..].trim().trim_end_matches('.');
    let rest = rest.split(" and ").next().unwrap_or(rest).trim();
    let Some((city, tail)) = rest.rsplit_once(',') else {
        return none;
    };
    let mut parts = tail.split_whitespace();
    let state = parts
        .next()
        .filter(|st| st.len() == 2 && st.chars().all(|c| c.is_ascii_uppercase()));
    let Some(state) = state else {
        return none;
    };
    let zip = parts
        .next()
        .filter(|z| z.len() >= 5 && z.chars().all(|c| c.is_ascii_digit() || c == '-'));
    let city = city.trim();
    if city.is_empty() || city.len() > 60 {
        return none;
    }
    (
        Some(city.to_owned()),
        Some(state.to_owned()),
        zip.map(str::to_owned),
    )
}
