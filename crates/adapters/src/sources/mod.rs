//! The sources Waypost reads, one module each. A module knows its vendor's document format and
//! nothing else: it returns [`Observation`]s with the vendor's codes untouched; the meaning of
//! those codes lives in `mappings/<source>.toml`.

use crate::declarative::Declared;
use crate::mapping::{MappingError, MappingTable};
use crate::{ParseError, Parsed};
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

pub mod aftership;
mod agg_lax;
pub mod australiapost;
pub mod canadapost;
pub mod dhl;
pub mod dpd;
pub mod easypost;
pub mod fedex;
pub mod gls;
pub mod purolator;
pub mod royalmail;
pub mod shippo;
pub mod ups;
pub mod usps;
pub mod wms;
pub mod x12_214;
pub mod x12_856;

/// A source Waypost reads: one with a parser of its own, or one described as data
/// ([`crate::declarative`]: the shipped `formats/*.toml`, and the files an operator registers
/// at start). Compared, hashed and ordered by name.
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)] // `X12_214` reads as the standard's name
pub enum Source {
    Ups,
    Fedex,
    Usps,
    Dhl,
    CanadaPost,
    RoyalMail,
    Dpd,
    Gls,
    AustraliaPost,
    Purolator,
    EasyPost,
    AfterShip,
    Shippo,
    X12_214,
    X12_856,
    Wms,
    /// A source described as data.
    Declared(&'static Declared),
}

impl PartialEq for Source {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Source {}

impl std::hash::Hash for Source {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.name().hash(h);
    }
}

impl PartialOrd for Source {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Source {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown source {given:?}; known sources: {known}")]
pub struct UnknownSource {
    pub given: String,
    pub known: String,
}

impl Source {
    /// The carriers with a tracking API that Waypost's connectors poll (and the partner
    /// simulator serves), in the order configuration entries and reports list them. The one
    /// list of them: the connectors, the simulator, its verification and the benchmarks read it.
    pub const POLLED_CARRIERS: [Source; 4] =
        [Source::Ups, Source::Fedex, Source::Usps, Source::Dhl];

    /// Whether this carrier's tracking API wants an OAuth2 bearer token, fetched with client
    /// credentials, before any request (UPS, FedEx, USPS); the others take an API key.
    pub fn polled_with_oauth(self) -> bool {
        matches!(self, Source::Ups | Source::Fedex | Source::Usps)
    }

    pub const ALL: [Source; 16] = [
        Source::Ups,
        Source::Fedex,
        Source::Usps,
        Source::Dhl,
        Source::CanadaPost,
        Source::RoyalMail,
        Source::Dpd,
        Source::Gls,
        Source::AustraliaPost,
        Source::Purolator,
        Source::EasyPost,
        Source::AfterShip,
        Source::Shippo,
        Source::X12_214,
        Source::X12_856,
        Source::Wms,
    ];

    /// Every source Waypost reads: those with a parser of their own, then those described as
    /// data (shipped, then registered), each once.
    pub fn all() -> &'static [Source] {
        static ALL: OnceLock<Vec<Source>> = OnceLock::new();
        ALL.get_or_init(|| {
            Source::ALL
                .iter()
                .copied()
                .chain(
                    crate::declarative::declared()
                        .iter()
                        .map(|d| Source::Declared(d)),
                )
                .collect()
        })
    }

    /// The format description, for a source described as data.
    pub fn declared(self) -> Option<&'static Declared> {
        match self {
            Source::Declared(d) => Some(d),
            _ => None,
        }
    }

    /// The name in URLs (`/v1/webhooks/{name}`), on the command line and in events' `source`.
    pub fn name(self) -> &'static str {
        match self {
            Source::Ups => "ups",
            Source::Fedex => "fedex",
            Source::Usps => "usps",
            Source::Dhl => "dhl",
            Source::CanadaPost => "canadapost",
            Source::RoyalMail => "royalmail",
            Source::Dpd => "dpd",
            Source::Gls => "gls",
            Source::AustraliaPost => "australiapost",
            Source::Purolator => "purolator",
            Source::EasyPost => "easypost",
            Source::AfterShip => "aftership",
            Source::Shippo => "shippo",
            Source::X12_214 => "x12-214",
            Source::X12_856 => "x12-856",
            Source::Wms => "wms",
            Source::Declared(d) => d.format.source.as_str(),
        }
    }

    /// Reads one document of this source: the events it can read, and where it cannot.
    pub fn parse(self, doc: &[u8]) -> Result<Parsed, ParseError> {
        match self {
            Source::Ups => ups::parse(doc),
            Source::Fedex => fedex::parse(doc),
            Source::Usps => usps::parse(doc),
            Source::Dhl => dhl::parse(doc),
            Source::CanadaPost => canadapost::parse(doc),
            Source::RoyalMail => royalmail::parse(doc),
            Source::Dpd => dpd::parse(doc),
            Source::Gls => gls::parse(doc),
            Source::AustraliaPost => australiapost::parse(doc),
            Source::Purolator => purolator::parse(doc),
            Source::EasyPost => easypost::parse(doc),
            Source::AfterShip => aftership::parse(doc),
            Source::Shippo => shippo::parse(doc),
            Source::X12_214 => x12_214::parse(doc).map(Parsed::from),
            Source::X12_856 => x12_856::parse(doc).map(Parsed::from),
            Source::Wms => wms::parse(doc).map(Parsed::from),
            Source::Declared(d) => d.format.parse(doc),
        }
    }

    /// The mapping table shipped with Waypost, as text (`mappings/<source>.toml`).
    pub fn builtin_table_text(self) -> &'static str {
        match self {
            Source::Ups => include_str!("../../mappings/ups.toml"),
            Source::Fedex => include_str!("../../mappings/fedex.toml"),
            Source::Usps => include_str!("../../mappings/usps.toml"),
            Source::Dhl => include_str!("../../mappings/dhl.toml"),
            Source::CanadaPost => include_str!("../../mappings/canadapost.toml"),
            Source::RoyalMail => include_str!("../../mappings/royalmail.toml"),
            Source::Dpd => include_str!("../../mappings/dpd.toml"),
            Source::Gls => include_str!("../../mappings/gls.toml"),
            Source::AustraliaPost => include_str!("../../mappings/australiapost.toml"),
            Source::Purolator => include_str!("../../mappings/purolator.toml"),
            Source::EasyPost => include_str!("../../mappings/easypost.toml"),
            Source::AfterShip => include_str!("../../mappings/aftership.toml"),
            Source::Shippo => include_str!("../../mappings/shippo.toml"),
            Source::X12_214 => include_str!("../../mappings/x12-214.toml"),
            Source::X12_856 => include_str!("../../mappings/x12-856.toml"),
            Source::Wms => include_str!("../../mappings/wms.toml"),
            Source::Declared(d) => d.table.as_str(),
        }
    }

    /// The shipped mapping table, parsed.
    pub fn builtin_table(self) -> Result<MappingTable, MappingError> {
        MappingTable::from_toml(
            &format!("mappings/{}.toml", self.name()),
            self.name(),
            self.builtin_table_text(),
        )
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Source {
    type Err = UnknownSource;
    fn from_str(s: &str) -> Result<Self, UnknownSource> {
        Source::all()
            .iter()
            .copied()
            .find(|x| x.name() == s)
            .ok_or_else(|| UnknownSource {
                given: s.to_owned(),
                known: Source::all()
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known() {
        for &s in Source::all() {
            assert_eq!(s.name().parse::<Source>().unwrap(), s);
        }
        let err = "upz".parse::<Source>().unwrap_err().to_string();
        assert!(err.contains("upz") && err.contains("x12-214"), "{err}");
    }

    #[test]
    fn oauth_is_a_fact_of_polled_carriers_only() {
        let oauth: Vec<&str> = Source::all()
            .iter()
            .filter(|s| s.polled_with_oauth())
            .map(|s| s.name())
            .collect();
        assert_eq!(oauth, ["ups", "fedex", "usps"]);
        assert!(
            Source::all()
                .iter()
                .filter(|s| s.polled_with_oauth())
                .all(|s| Source::POLLED_CARRIERS.contains(s))
        );
    }

    #[test]
    fn every_shipped_table_parses_and_passes_its_checks() {
        for &s in Source::all() {
            let t = s.builtin_table().unwrap_or_else(|e| panic!("{e}"));
            let problems = t.check(s.name());
            assert!(problems.is_empty(), "{s}: {problems:?}");
        }
    }
}
