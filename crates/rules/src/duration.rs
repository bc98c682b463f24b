//! Durations as people write them in a rule file: `4h`, `30m`, `2d`, `1h30m`, `1w 2d`, `90s`.
//!
//! A day is exactly 24 hours and a week 7 days here: these are spans of elapsed (or, with a
//! calendar, working) time, not calendar arithmetic, so "2d" never means "same time the day
//! after tomorrow" across a DST change.

use jiff::SignedDuration;

/// Why a duration did not parse. Lowercase, no trailing punctuation, names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("{0:?} is not a duration: expected numbers with units w, d, h, m, s, like \"1h30m\"")]
    Syntax(String),
    #[error("{0:?} is negative")]
    Negative(String),
    #[error("{0:?} is too long")]
    Overflow(String),
}

/// Parses `<number><unit>` groups (units `w`, `d`, `h`, `m`, `s`), optionally separated by
/// spaces, each unit at most once and from largest to smallest, so "30m1h" (a likely typo) is
/// refused rather than read as 1h30m. Zero ("0m") parses; callers decide whether it is allowed.
pub fn parse_duration(text: &str) -> Result<SignedDuration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    if s.starts_with('-') {
        return Err(DurationError::Negative(text.to_string()));
    }
    let syntax = || DurationError::Syntax(text.to_string());
    let overflow = || DurationError::Overflow(text.to_string());
    let mut total: i64 = 0;
    // Index into UNITS of the last unit seen: each next unit must be strictly smaller.
    let mut last_unit: Option<usize> = None;
    let mut rest = s;
    const UNITS: [(char, i64); 5] = [
        ('w', 7 * 86_400),
        ('d', 86_400),
        ('h', 3_600),
        ('m', 60),
        ('s', 1),
    ];
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 12 {
            return Err(if digits > 12 { overflow() } else { syntax() });
        }
        let n: i64 = rest[..digits].parse().map_err(|_| syntax())?;
        rest = &rest[digits..];
        let unit = rest.chars().next().ok_or_else(syntax)?;
        let idx = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(syntax)?;
        if last_unit.is_some_and(|l| idx <= l) {
            return Err(syntax());
        }
        last_unit = Some(idx);
        rest = &rest[unit.len_utf8()..];
        let secs = n.checked_mul(UNITS[idx].1).ok_or_else(overflow)?;
        total = total.checked_add(secs).ok_or_else(overflow)?;
    }
    Ok(SignedDuration::from_secs(total))
}

/// The shortest form [`parse_duration`] reads back: `4h`, `1h30m`, `2d`, `0s`. Sub-second parts
/// are dropped (rule durations are whole seconds); a negative duration gets a leading `-`.
pub fn format_duration(d: SignedDuration) -> String {
    let mut secs = d.as_secs();
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
        secs = secs.unsigned_abs().min(i64::MAX as u64) as i64;
    }
    if secs == 0 {
        out.push_str("0s");
        return out;
    }
    for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        let n = secs / size;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push(unit);
            secs -= n * size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> Result<i64, DurationError> {
        parse_duration(s).map(|d| d.as_secs())
    }

    #[test]
    fn reads_the_forms_rule_files_use() {
        assert_eq!(secs("4h"), Ok(4 * 3600));
        assert_eq!(secs("30m"), Ok(1800));
        assert_eq!(secs("2d"), Ok(2 * 86_400));
        assert_eq!(secs("1h30m"), Ok(5400));
        assert_eq!(secs("1w 2d"), Ok(9 * 86_400));
        assert_eq!(secs(" 90s "), Ok(90));
        assert_eq!(secs("0m"), Ok(0));
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        assert_eq!(secs(""), Err(DurationError::Empty));
        assert!(matches!(secs("-4h"), Err(DurationError::Negative(_))));
        for bad in [
            "4", "h", "4x", "4 h", "30m1h", "1h1h", "1.5h", "4hours", "４h",
        ] {
            assert!(
                matches!(secs(bad), Err(DurationError::Syntax(_))),
                "{bad:?} parsed"
            );
        }
        assert!(matches!(
            secs("9999999999999w"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn format_reads_back() {
        for s in ["4h", "1h30m", "2d", "1d1s", "0s"] {
            let d = parse_duration(s).unwrap();
            assert_eq!(format_duration(d), s);
        }
        assert_eq!(format_duration(SignedDuration::from_secs(-90)), "-1m30s");
    }
}
