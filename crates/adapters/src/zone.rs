//! The time zone of a place, for carriers' local times that carry no offset (DHL documents its
//! event times as local to the event; FedEx and UPS send some scans without one). A zone is
//! only given where the place settles it: the place's coordinates, else its postal code, city
//! or region found in the compiled-in gazetteer, else a country that keeps one UTC offset.
//! A place known only as a country with several offsets (US, CA, AU, BR, RU, MX...) has no zone
//! here: the caller reports the event unreadable rather than guess.
//!
//! Coordinates become an IANA zone name through `tzf-rs` (timezone-boundary-builder polygons,
//! ODbL, compiled in); countries through `data/country_zones.txt` (from tzdata's zone.tab).

use jiff::tz::TimeZone;
use std::collections::HashMap;
use std::sync::OnceLock;
use waypost_domain::Location;
use waypost_geo::{Gazetteer, Precision};

/// What settled the zone, recorded with the event so a reader knows the offset was inferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneBasis {
    /// The vendor documents the zone of its times.
    Vendor,
    /// The place's own coordinates.
    Coordinates,
    PostalCode,
    City,
    Region,
    /// A country with one UTC offset.
    Country,
}

impl ZoneBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneBasis::Vendor => "vendor",
            ZoneBasis::Coordinates => "coordinates",
            ZoneBasis::PostalCode => "postal_code",
            ZoneBasis::City => "city",
            ZoneBasis::Region => "region",
            ZoneBasis::Country => "country",
        }
    }
}

/// A zone and what settled it.
#[derive(Debug, Clone)]
pub struct PlacedZone {
    pub name: String,
    pub zone: TimeZone,
    pub basis: ZoneBasis,
}

fn finder() -> &'static tzf_rs::DefaultFinder {
    static F: OnceLock<tzf_rs::DefaultFinder> = OnceLock::new();
    // The data is compiled in and validated by its release pipeline; `new` can only fail on a
    // broken build, never on input.
    F.get_or_init(tzf_rs::DefaultFinder::new)
}

/// Country code to zone name, for the countries that keep one offset.
fn country_zones() -> &'static HashMap<&'static str, &'static str> {
    static T: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    T.get_or_init(|| {
        include_str!("../data/country_zones.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once(' '))
            .collect()
    })
}

fn named(name: &str, basis: ZoneBasis) -> Option<PlacedZone> {
    let zone = TimeZone::get(name).ok()?;
    Some(PlacedZone {
        name: name.to_owned(),
        zone,
        basis,
    })
}

/// Builds the zone data now (the boundary polygons take a noticeable moment, more in a debug
/// build), so the first local time a partner sends does not pay for it.
pub fn warm() {
    finder();
    country_zones();
}

/// The zone at a point; `None` at sea or off the map.
pub fn at(lat: f64, lon: f64) -> Option<PlacedZone> {
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return None;
    }
    let name = finder().get_tz_name(lon, lat);
    // The sea's `Etc/GMT±n` zones are nautical: no carrier scans there.
    if name.is_empty() || name.starts_with("Etc/") {
        return None;
    }
    named(name, ZoneBasis::Coordinates)
}

/// The zone a place settles, or `None` when it does not settle one.
pub fn of_place(loc: &Location) -> Option<PlacedZone> {
    if let (Some(lat), Some(lon)) = (loc.lat, loc.lon) {
        return at(lat, lon);
    }
    let place = Gazetteer::embedded().locate(loc)?;
    let basis = match place.precision {
        Precision::Postal => ZoneBasis::PostalCode,
        Precision::City => ZoneBasis::City,
        Precision::Region => ZoneBasis::Region,
        Precision::Country => {
            // A country's centre says nothing of where in a country of several zones.
            let cc = loc.country.as_deref()?;
            let name = country_zones().get(cc)?;
            return named(name, ZoneBasis::Country);
        }
    };
    at(place.lat, place.lon).map(|z| PlacedZone { basis, ..z })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn loc(city: &str, region: &str, postal: &str, country: &str) -> Location {
        let f = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Location {
            city: f(city),
            region: f(region),
            postal_code: f(postal),
            country: f(country),
            ..Location::default()
        }
    }

    #[test]
    fn places_settle_their_zones() {
        let cases = [
            (
                loc("Memphis", "TN", "", "US"),
                "America/Chicago",
                ZoneBasis::City,
            ),
            (
                loc("", "", "98101", "US"),
                "America/Los_Angeles",
                ZoneBasis::PostalCode,
            ),
            (
                loc("Oakleigh South", "VIC", "", "AU"),
                "Australia/Melbourne",
                ZoneBasis::City,
            ),
            (
                loc("Leipzig", "", "", "DE"),
                "Europe/Berlin",
                ZoneBasis::City,
            ),
            (loc("", "", "", "DE"), "Europe/Berlin", ZoneBasis::Country),
            (loc("", "", "", "JP"), "Asia/Tokyo", ZoneBasis::Country),
            (
                loc("Vancouver", "BC", "", "CA"),
                "America/Vancouver",
                ZoneBasis::City,
            ),
        ];
        for (l, want, basis) in cases {
            let z = of_place(&l).unwrap_or_else(|| panic!("{l:?}"));
            assert_eq!((z.name.as_str(), z.basis), (want, basis), "{l:?}");
        }
    }

    #[test]
    fn a_country_of_several_zones_settles_nothing() {
        for cc in ["US", "CA", "AU", "RU", "BR", "MX"] {
            assert!(of_place(&loc("", "", "", cc)).is_none(), "{cc}");
        }
        assert!(of_place(&Location::default()).is_none());
    }

    #[test]
    fn coordinates_win_and_the_sea_has_no_zone() {
        let mut l = loc("", "", "", "US");
        l.lat = Some(40.7128);
        l.lon = Some(-74.0060);
        assert_eq!(of_place(&l).unwrap().name, "America/New_York");
        assert!(at(0.0, -30.0).is_none());
        assert!(at(95.0, 0.0).is_none());
    }

    #[test]
    fn every_listed_country_zone_exists() {
        for (cc, name) in country_zones() {
            assert!(TimeZone::get(name).is_ok(), "{cc} {name}");
        }
    }
}
