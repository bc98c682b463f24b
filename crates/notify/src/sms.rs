//! Phone numbers (E.164) and SMS segment counting, which is what gateways bill by.
//!
//! A text that fits the GSM 03.38 alphabet goes as GSM-7: 160 septets in one message, 153 per
//! part when it is split (the user data header takes 7). Characters of the extension table
//! (`^{}\[~]|€` and form feed) are an escape plus a character, 2 septets, and a pair is never
//! split across parts. Anything else forces UCS-2 for the whole text: 70 UTF-16 units in one
//! message, 67 per part, and a surrogate pair (an emoji) is never split across parts either.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number in E.164: `+`, then 8 to 15 digits, the first not 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number {0:?} must start with + (E.164)")]
    NoPlus(String),
    #[error("phone number {0:?} must have only digits after the +")]
    NotDigits(String),
    #[error("phone number {0:?} must have 8 to 15 digits")]
    Length(String),
    #[error("phone number {0:?} must not start with 0 after the +")]
    LeadingZero(String),
}

impl Phone {
    pub fn parse(s: &str) -> Result<Phone, PhoneError> {
        let Some(digits) = s.strip_prefix('+') else {
            return Err(PhoneError::NoPlus(s.to_string()));
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::NotDigits(s.to_string()));
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(PhoneError::Length(s.to_string()));
        }
        if digits.starts_with('0') {
            return Err(PhoneError::LeadingZero(s.to_string()));
        }
        Ok(Phone(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Phone {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phone::parse(s)
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Phone::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// How a text goes out: its encoding, its length in that encoding's units (septets or UTF-16
/// units) and the number of messages it is billed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segments {
    pub encoding: Encoding,
    pub units: usize,
    pub segments: usize,
}

pub const GSM7_SINGLE: usize = 160;
pub const GSM7_PART: usize = 153;
pub const UCS2_SINGLE: usize = 70;
pub const UCS2_PART: usize = 67;

/// The GSM 03.38 basic character set (without the escape itself).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: each is sent as escape + character.
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

/// Septets `c` takes in GSM-7, or None when GSM-7 cannot carry it.
fn gsm7_septets(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Counts the segments `text` is sent as. An empty text is one (empty) message.
pub fn segments(text: &str) -> Segments {
    let gsm: Option<Vec<usize>> = text.chars().map(gsm7_septets).collect();
    match gsm {
        Some(weights) => pack(Encoding::Gsm7, &weights, GSM7_SINGLE, GSM7_PART),
        None => {
            let weights: Vec<usize> = text.chars().map(char::len_utf16).collect();
            pack(Encoding::Ucs2, &weights, UCS2_SINGLE, UCS2_PART)
        }
    }
}

/// One message if everything fits `single`; otherwise parts of at most `part` units filled in
/// order, a character (an escape pair, a surrogate pair) never split between two parts.
fn pack(encoding: Encoding, weights: &[usize], single: usize, part: usize) -> Segments {
    let units: usize = weights.iter().sum();
    let segments = if units <= single {
        1
    } else {
        let mut parts = 1;
        let mut fill = 0;
        for &w in weights {
            if fill + w > part {
                parts += 1;
                fill = 0;
            }
            fill += w;
        }
        parts
    };
    Segments {
        encoding,
        units,
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones() {
        assert_eq!(
            Phone::parse("+4915112345678").map(|p| p.to_string()),
            Ok("+4915112345678".to_string())
        );
        assert!(Phone::parse("+12345678").is_ok());
        assert!(Phone::parse("+123456789012345").is_ok());
        let bad = [
            ("4915112345678", "must start with +"),
            ("+49 151 1234", "only digits"),
            ("+1234567", "8 to 15"),
            ("+1234567890123456", "8 to 15"),
            ("+0123456789", "not start with 0"),
            ("+", "8 to 15"),
        ];
        for (input, why) in bad {
            let msg = Phone::parse(input).expect_err(input).to_string();
            assert!(msg.contains(why) && msg.contains(input), "{msg}");
        }
    }

    fn seg(text: &str) -> (Encoding, usize, usize) {
        let s = segments(text);
        (s.encoding, s.units, s.segments)
    }

    #[test]
    fn gsm7_limits() {
        assert_eq!(seg(""), (Encoding::Gsm7, 0, 1));
        assert_eq!(seg(&"a".repeat(160)), (Encoding::Gsm7, 160, 1));
        assert_eq!(seg(&"a".repeat(161)), (Encoding::Gsm7, 161, 2));
        assert_eq!(seg(&"a".repeat(306)), (Encoding::Gsm7, 306, 2));
        assert_eq!(seg(&"a".repeat(307)), (Encoding::Gsm7, 307, 3));
        assert_eq!(seg("Grüße aus Köln £5 @ Ñandu"), (Encoding::Gsm7, 25, 1));
    }

    #[test]
    fn extension_characters_count_two_and_are_not_split() {
        assert_eq!(seg("€"), (Encoding::Gsm7, 2, 1));
        assert_eq!(seg(&"€".repeat(80)), (Encoding::Gsm7, 160, 1));
        assert_eq!(seg(&"€".repeat(81)), (Encoding::Gsm7, 162, 2));
        // 152 plain septets then a 2-septet character: it cannot straddle parts, so the first
        // part holds 152 and the second starts with the escape pair.
        let text = format!("{}{}{}", "a".repeat(152), "[", "a".repeat(152));
        assert_eq!(seg(&text), (Encoding::Gsm7, 306, 3));
        let fits = format!("{}{}{}", "a".repeat(151), "[", "a".repeat(153));
        assert_eq!(seg(&fits), (Encoding::Gsm7, 306, 2));
    }

    #[test]
    fn ucs2_limits_and_surrogate_pairs() {
        assert_eq!(seg("Привет"), (Encoding::Ucs2, 6, 1));
        assert_eq!(seg(&"ж".repeat(70)), (Encoding::Ucs2, 70, 1));
        assert_eq!(seg(&"ж".repeat(71)), (Encoding::Ucs2, 71, 2));
        assert_eq!(seg(&"ж".repeat(134)), (Encoding::Ucs2, 134, 2));
        assert_eq!(seg(&"ж".repeat(135)), (Encoding::Ucs2, 135, 3));
        // One non-GSM character switches the whole text to UCS-2.
        assert_eq!(
            seg(&format!("{}`", "a".repeat(69))),
            (Encoding::Ucs2, 70, 1)
        );
        // An emoji is two UTF-16 units and is never cut in half.
        assert_eq!(seg("📦"), (Encoding::Ucs2, 2, 1));
        assert_eq!(seg(&"📦".repeat(35)), (Encoding::Ucs2, 70, 1));
        let text = format!("{}📦{}", "ж".repeat(66), "ж".repeat(66));
        assert_eq!(seg(&text), (Encoding::Ucs2, 134, 3));
        let fits = format!("{}📦{}", "ж".repeat(65), "ж".repeat(67));
        assert_eq!(seg(&fits), (Encoding::Ucs2, 134, 2));
    }

    fn expected_plain(n: usize) -> usize {
        if n <= GSM7_SINGLE {
            1
        } else {
            n.div_ceil(GSM7_PART)
        }
    }

    proptest! {
        #[test]
        fn plain_ascii_follows_the_ceiling_rule(text in "[a-zA-Z0-9 .,!?]{0,800}") {
            let s = segments(&text);
            prop_assert_eq!(s.encoding, Encoding::Gsm7);
            prop_assert_eq!(s.units, text.len());
            prop_assert_eq!(s.segments, expected_plain(text.len()));
        }

        #[test]
        fn gsm_segments_grow_with_the_text(
            text in "[a-z €\\[\\]{}^|~@£ÄÖÜäöü]{0,500}",
            more in "[a-z €\\[\\]{}^|~@£ÄÖÜäöü]{1,50}",
        ) {
            let a = segments(&text);
            let b = segments(&format!("{text}{more}"));
            prop_assert_eq!(a.encoding, Encoding::Gsm7);
            prop_assert!(b.segments >= a.segments);
            prop_assert!(b.units > a.units);
        }

        #[test]
        fn parts_bound_the_units(text in "\\PC{0,400}") {
            let s = segments(&text);
            let (single, part) = match s.encoding {
                Encoding::Gsm7 => (GSM7_SINGLE, GSM7_PART),
                Encoding::Ucs2 => (UCS2_SINGLE, UCS2_PART),
            };
            if s.units <= single {
                prop_assert_eq!(s.segments, 1);
            } else {
                // At least the ceiling; at most one unit wasted per part boundary.
                prop_assert!(s.segments >= s.units.div_ceil(part));
                prop_assert!(s.segments <= s.units.div_ceil(part - 1));
            }
        }
    }
}
