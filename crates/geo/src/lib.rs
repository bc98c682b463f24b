//! Offline geocoding: carriers often report only a city, region, postal code and country. A
//! gazetteer compiled into the binary (GeoNames places of 1,000+ people, US ZIP centroids; see
//! `data/SOURCES.md`) turns those into coordinates at ingest, so the map can show every order.
//!
//! Pure: no I/O. The tables are built from the embedded text on first use ([`Gazetteer::embedded`]).
//!
//! Matching, most precise first:
//! 1. a US (or PR, VI, GU, AS, MP) postal code: the ZIP's centroid (ZIP+4 uses its first five);
//! 2. the city's name within the country (case, diacritics, punctuation and "St."/"Saint"
//!    folded; other known names such as "Cologne" for "Köln"), narrowed to the region when the
//!    region is recognised, then the most populous;
//! 3. the nearest ZIP with the same three-digit prefix (a sectional centre's area);
//! 4. the region's centre; 5. the country's centre.

mod normalize;
mod region;
mod table;

use std::sync::OnceLock;

use waypost_domain::{Event, Location};

use crate::normalize::{hash, key, without_umlaut_digraphs};
use crate::region::strip_country_prefix;
use crate::table::{Cc, Point, Tables, country, run};

/// How closely a [`Place`] matches what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// The centroid of the postal code.
    Postal,
    /// The city's centre (GeoNames' point for the place).
    City,
    /// A point central to the region (or a three-digit ZIP area): the city was not found.
    Region,
    /// A point central to the country: only the country was usable.
    Country,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Postal => "postal",
            Precision::City => "city",
            Precision::Region => "region",
            Precision::Country => "country",
        }
    }
}

/// Coordinates found for a location, in degrees (WGS 84), rounded to 1e-4 degree (~11 m).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub lat: f64,
    pub lon: f64,
    pub precision: Precision,
}

impl Place {
    fn new(at: Point, precision: Precision) -> Place {
        Place {
            lat: f64::from(at.lat_e4) / 1e4,
            lon: f64::from(at.lon_e4) / 1e4,
            precision,
        }
    }
}

/// Words (as keys) that name a carrier's building after its city's name.
const FACILITY_WORDS: &[&str] = &[
    "hub",
    "gateway",
    "facility",
    "center",
    "centre",
    "distribution",
    "network",
    "processing",
    "sort",
    "terminal",
    "depot",
    "airport",
    "station",
    "annex",
    "pdc",
    "ndc",
    "rdc",
];

/// Countries whose postal codes are US ZIP codes.
const ZIP_COUNTRIES: [&Cc; 6] = [b"US", b"PR", b"VI", b"GU", b"AS", b"MP"];

pub struct Gazetteer {
    t: Tables,
}

impl std::fmt::Debug for Gazetteer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gazetteer")
            .field("cities", &self.t.cities.len())
            .field("zips", &self.t.zips.len())
            .finish_non_exhaustive()
    }
}

impl Gazetteer {
    /// The compiled-in gazetteer, built on first use (tens of milliseconds in a release build).
    pub fn embedded() -> &'static Gazetteer {
        static G: OnceLock<Gazetteer> = OnceLock::new();
        G.get_or_init(|| Gazetteer::with_min_population(0))
    }

    /// A gazetteer of only the places with at least `min_population` people: for measuring what
    /// a smaller data set would cost in accuracy. Production uses [`Gazetteer::embedded`].
    pub fn with_min_population(min_population: u32) -> Gazetteer {
        Gazetteer {
            t: Tables::build(min_population),
        }
    }

    /// Number of places (cities, towns) in the gazetteer.
    pub fn city_count(&self) -> usize {
        self.t.cities.len()
    }

    /// Number of US ZIP codes with a centroid.
    pub fn zip_count(&self) -> usize {
        self.t.zips.len()
    }

    /// Coordinates for `loc` from its names alone (its own lat/lon are not looked at).
    pub fn locate(&self, loc: &Location) -> Option<Place> {
        // Some carriers put "MEMPHIS, TN, US" in the city field; split it into the fields left
        // empty.
        let mut parts = loc
            .city
            .as_deref()
            .unwrap_or("")
            .splitn(3, ',')
            .map(str::trim);
        let city = parts.next().filter(|c| !c.is_empty());
        let region = loc.region.as_deref().or(parts.next());
        let country_text = loc.country.as_deref().or(parts.next());
        let cc = match country_text.map(str::trim).and_then(country) {
            Some(cc) if &cc == b"UK" => *b"GB",
            Some(cc) => cc,
            // Without a country only a US state name or code says where to look.
            None => {
                let us = *b"US";
                region.and_then(|r| self.region_id(us, r))?;
                us
            }
        };
        let region = region.and_then(|r| self.region_id(cc, r));
        let zip = if ZIP_COUNTRIES.contains(&&cc) {
            loc.postal_code.as_deref().and_then(zip5)
        } else {
            None
        };

        if let Some(&(_, at)) = zip.and_then(|z| {
            let i = self.t.zips.binary_search_by_key(&z, |e| e.0).ok()?;
            self.t.zips.get(i)
        }) {
            return Some(Place::new(at, Precision::Postal));
        }
        if let Some(place) = city.and_then(|c| self.city(cc, c, region)) {
            return Some(place);
        }
        if let Some(at) = zip.and_then(|z| self.zip_area(z)) {
            return Some(Place::new(at, Precision::Region));
        }
        if let Some(&at) = region.and_then(|r| self.t.regions.get(&(cc, r))) {
            return Some(Place::new(at, Precision::Region));
        }
        let at = self.t.countries.get(&cc)?;
        Some(Place::new(*at, Precision::Country))
    }

    /// Sets `loc`'s lat/lon from [`Gazetteer::locate`] when both are missing; coordinates a
    /// sender gave (even one of the two) are never replaced. Returns whether it set them.
    pub fn fill(&self, loc: &mut Location) -> bool {
        if loc.lat.is_some() || loc.lon.is_some() {
            return false;
        }
        match self.locate(loc) {
            Some(p) => {
                loc.lat = Some(p.lat);
                loc.lon = Some(p.lon);
                true
            }
            None => false,
        }
    }

    /// [`Gazetteer::fill`] on each of the event's locations; returns how many it set.
    pub fn fill_event(&self, event: &mut Event) -> usize {
        [
            &mut event.location,
            &mut event.origin,
            &mut event.destination,
        ]
        .into_iter()
        .flatten()
        .map(|loc| usize::from(self.fill(loc)))
        .sum()
    }

    /// The admin1 index of a region as carriers write it, if the country has such a region.
    fn region_id(&self, cc: Cc, region: &str) -> Option<u16> {
        let k = key(strip_country_prefix(region, cc));
        if k.is_empty() {
            return None;
        }
        let id = *self.t.region_names.get(&hash(cc, &k))?;
        self.t.regions.contains_key(&(cc, id)).then_some(id)
    }

    fn city(&self, cc: Cc, city: &str, region: Option<u16>) -> Option<Place> {
        // "CINCINNATI HUB", "MEMPHIS TN NETWORK DISTRIBUTION CENTER": a facility's name is its
        // city's name and words about the building, dropped one by one from the end.
        let mut name = city.trim();
        for _ in 0..4 {
            if let Some(p) = self.city_named(cc, name, region) {
                return Some(p);
            }
            let (head, tail) = name.rsplit_once(char::is_whitespace)?;
            if !FACILITY_WORDS.contains(&key(tail).as_str()) {
                return None;
            }
            name = head.trim_end();
        }
        None
    }

    fn city_named(&self, cc: Cc, city: &str, region: Option<u16>) -> Option<Place> {
        let k = key(city);
        if k.is_empty() {
            return None;
        }
        let mut found = self.named(cc, &k);
        if found.is_empty()
            && let Some(k) = without_umlaut_digraphs(&k)
        {
            found = self.named(cc, &k);
        }
        let mut region = region;
        if found.is_empty() {
            // "LOUISVILLE KY": the region written after the city's name.
            let (head, tail) = city.trim().rsplit_once(char::is_whitespace)?;
            let r = self.region_id(cc, tail)?;
            found = self.named(cc, &key(head));
            region = region.or(Some(r));
        }
        // In the region if it is known (a name outside it is another place of the same name:
        // better the region's centre than the wrong Springfield), else the most populous.
        found
            .into_iter()
            .filter(|c| region.is_none_or(|r| c.admin1 == r))
            .max_by_key(|c| c.population)
            .map(|c| Place::new(c.at, Precision::City))
    }

    fn named(&self, cc: Cc, k: &str) -> Vec<table::City> {
        run(&self.t.names, hash(cc, k))
            .iter()
            .filter_map(|&(_, i)| self.t.cities.get(i as usize))
            // The country is part of the hash; checking it too keeps a (very unlikely)
            // collision from answering with another country's town.
            .filter(|c| c.country == cc)
            .copied()
            .collect()
    }

    /// The numerically nearest ZIP in the same three-digit area: unknown ZIPs are mostly PO box
    /// and single-building codes, which sit inside their area.
    fn zip_area(&self, zip: u32) -> Option<Point> {
        let zips = &self.t.zips;
        let i = zips.partition_point(|e| e.0 < zip);
        [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter_map(|j| zips.get(j))
            .filter(|e| e.0 / 100 == zip / 100)
            .min_by_key(|e| e.0.abs_diff(zip))
            .map(|e| e.1)
    }
}

/// The five-digit ZIP of "38118", "38118-1234", "38118 1234" or "381181234".
fn zip5(postal: &str) -> Option<u32> {
    let p = postal.trim();
    let b = p.as_bytes();
    let five = b.get(..5)?;
    if !five.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let plus4 = |rest: &[u8]| rest.len() == 4 && rest.iter().all(u8::is_ascii_digit);
    let ok = match b.get(5) {
        None => true,
        Some(b'-' | b' ') => plus4(&b[6..]),
        Some(_) => plus4(&b[5..]),
    };
    if !ok {
        return None;
    }
    p.get(..5)?.parse().ok()
}

/// [`Gazetteer::fill_event`] with the embedded gazetteer: the hook every intake site calls
/// before encoding an event.
pub fn fill_event(event: &mut Event) -> usize {
    Gazetteer::embedded().fill_event(event)
}

/// The event with its locations filled, for `events.into_iter().map(waypost_geo::filled)`.
pub fn filled(mut event: Event) -> Event {
    fill_event(&mut event);
    event
}

#[cfg(test)]
mod tests;
