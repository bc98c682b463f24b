//! The compiled-in data files (see `data/SOURCES.md`) parsed into the lookup tables.

use std::collections::HashMap;

use crate::normalize::{hash, key};
use crate::region::REGION_ALIASES;

static CITIES: &str = include_str!("../data/cities.tsv");
static ALIASES: &str = include_str!("../data/aliases.tsv");
static REGIONS: &str = include_str!("../data/regions.tsv");
static COUNTRIES: &str = include_str!("../data/countries.tsv");
static ZIPS: &str = include_str!("../data/zips.tsv");

/// ISO 3166-1 alpha-2, upper case.
pub(crate) type Cc = [u8; 2];

/// Coordinates in units of 1e-4 degree, the precision of the data files: exact, and half the
/// size of two `f64`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Point {
    pub lat_e4: i32,
    pub lon_e4: i32,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct City {
    pub at: Point,
    pub population: u32,
    pub country: Cc,
    /// Index into [`Tables::admin1`].
    pub admin1: u16,
}

pub(crate) struct Tables {
    pub cities: Vec<City>,
    /// GeoNames admin1 codes, interned: a city refers to its code by index.
    pub admin1: Vec<&'static str>,
    /// (hash of country and name key, index into `cities`), sorted: a name's cities are one run.
    pub names: Vec<(u64, u32)>,
    /// Hash of country and region key (as carriers write it) → admin1 index.
    pub region_names: HashMap<u64, u16>,
    pub regions: HashMap<(Cc, u16), Point>,
    pub countries: HashMap<Cc, Point>,
    /// (5-digit ZIP, centroid), sorted by ZIP.
    pub zips: Vec<(u32, Point)>,
    /// Data lines that did not parse: zero for the shipped files (a unit test checks).
    pub skipped: usize,
}

pub(crate) fn country(s: &str) -> Option<Cc> {
    match s.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

fn coordinate(s: &str, limit: f64) -> Option<i32> {
    let x: f64 = s.parse().ok()?;
    // The range check also rules out NaN and the infinities.
    if !(-limit..=limit).contains(&x) {
        return None;
    }
    Some((x * 1e4).round() as i32)
}

fn point(lat: &str, lon: &str) -> Option<Point> {
    Some(Point {
        lat_e4: coordinate(lat, 90.0)?,
        lon_e4: coordinate(lon, 180.0)?,
    })
}

fn data_lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Runs of `names` (sorted) with hash `h`.
pub(crate) fn run(names: &[(u64, u32)], h: u64) -> &[(u64, u32)] {
    let start = names.partition_point(|e| e.0 < h);
    let len = names[start..].partition_point(|e| e.0 == h);
    &names[start..start + len]
}

impl Tables {
    pub(crate) fn build(min_population: u32) -> Tables {
        let mut t = Tables {
            cities: Vec::with_capacity(140_000),
            admin1: Vec::new(),
            names: Vec::with_capacity(140_000),
            region_names: HashMap::new(),
            regions: HashMap::new(),
            countries: HashMap::new(),
            zips: Vec::with_capacity(34_000),
            skipped: 0,
        };
        let mut interned: HashMap<&'static str, u16> = HashMap::new();
        let mut intern = |admin1: &mut Vec<&'static str>, code: &'static str| -> Option<u16> {
            if let Some(&i) = interned.get(code) {
                return Some(i);
            }
            let i = u16::try_from(admin1.len()).ok()?;
            admin1.push(code);
            interned.insert(code, i);
            Some(i)
        };

        for line in data_lines(CITIES) {
            let parsed = (|| {
                let mut f = line.split('\t');
                let (cc, a1, name) = (country(f.next()?)?, f.next()?, f.next()?);
                let at = point(f.next()?, f.next()?)?;
                let population: u32 = f.next()?.parse().ok()?;
                Some((cc, a1, name, at, population))
            })();
            let Some((cc, a1, name, at, population)) = parsed else {
                t.skipped += 1;
                continue;
            };
            if population < min_population {
                continue;
            }
            let (Some(admin1), Ok(idx)) =
                (intern(&mut t.admin1, a1), u32::try_from(t.cities.len()))
            else {
                t.skipped += 1;
                continue;
            };
            t.cities.push(City {
                at,
                population,
                country: cc,
                admin1,
            });
            t.names.push((hash(cc, &key(name)), idx));
        }
        t.names.sort_unstable();

        // Another name of a place is one more index entry pointing at the same cities.
        let mut extra = Vec::new();
        for line in data_lines(ALIASES) {
            let mut f = line.split('\t');
            let (Some(cc), Some(alias), Some(canonical)) =
                (f.next().and_then(country), f.next(), f.next())
            else {
                t.skipped += 1;
                continue;
            };
            let h = hash(cc, &key(alias));
            extra.extend(
                run(&t.names, hash(cc, &key(canonical)))
                    .iter()
                    .map(|&(_, i)| (h, i)),
            );
        }
        t.names.extend(extra);
        t.names.sort_unstable();
        t.names.dedup();

        for line in data_lines(REGIONS) {
            let parsed = (|| {
                let mut f = line.split('\t');
                let (cc, a1) = (country(f.next()?)?, f.next()?);
                Some((cc, a1, point(f.next()?, f.next()?)?))
            })();
            let Some((cc, a1, at)) = parsed else {
                t.skipped += 1;
                continue;
            };
            let Some(id) = intern(&mut t.admin1, a1) else {
                t.skipped += 1;
                continue;
            };
            t.regions.insert((cc, id), at);
            // A numeric GeoNames code means nothing to carriers, and the same digits from them
            // are something else (French "75" is the département of Paris, GeoNames' "75" the
            // region of Bordeaux): only letter codes are taken as written.
            if !a1.bytes().all(|b| b.is_ascii_digit()) {
                t.region_names.insert(hash(cc, &key(a1)), id);
            }
        }
        // After the codes as written, so that a name or ISO code wins over a numeric code that
        // happens to read the same.
        for (cc, code, aliases) in REGION_ALIASES {
            let (Some(cc), Some(id)) = (country(cc), intern(&mut t.admin1, code)) else {
                continue;
            };
            for alias in *aliases {
                t.region_names.insert(hash(cc, &key(alias)), id);
            }
        }

        for line in data_lines(COUNTRIES) {
            let parsed = (|| {
                let mut f = line.split('\t');
                Some((country(f.next()?)?, point(f.next()?, f.next()?)?))
            })();
            match parsed {
                Some((cc, at)) => {
                    t.countries.insert(cc, at);
                }
                None => t.skipped += 1,
            }
        }

        for line in data_lines(ZIPS) {
            let parsed = (|| {
                let mut f = line.split('\t');
                let zip = f.next()?;
                if zip.len() != 5 {
                    return None;
                }
                Some((zip.parse::<u32>().ok()?, point(f.next()?, f.next()?)?))
            })();
            match parsed {
                Some(z) => t.zips.push(z),
                None => t.skipped += 1,
            }
        }
        t.zips.sort_unstable_by_key(|z| z.0);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_data_parses_cleanly() {
        let t = Tables::build(0);
        assert_eq!(t.skipped, 0);
        assert!(t.cities.len() > 100_000, "{} cities", t.cities.len());
        assert!(t.zips.len() > 30_000, "{} zips", t.zips.len());
        assert!(t.countries.len() > 200);
        assert!(t.regions.len() > 3_000);
    }

    #[test]
    fn every_alias_reaches_a_city() {
        let t = Tables::build(0);
        for line in data_lines(ALIASES) {
            let mut f = line.split('\t');
            let cc = f.next().and_then(country).unwrap();
            let alias = f.next().unwrap();
            assert!(!run(&t.names, hash(cc, &key(alias))).is_empty(), "{line}");
        }
    }

    #[test]
    fn population_floor_drops_small_places() {
        let all = Tables::build(0);
        let big = Tables::build(5_000);
        assert!(big.cities.len() < all.cities.len());
        assert!(big.cities.iter().all(|c| c.population >= 5_000));
    }

    #[test]
    fn coordinates_are_range_checked() {
        assert_eq!(coordinate("35.1496", 90.0), Some(351_496));
        assert_eq!(coordinate("-0.00004", 90.0), Some(0));
        assert_eq!(coordinate("91", 90.0), None);
        assert_eq!(coordinate("NaN", 90.0), None);
        assert_eq!(coordinate("inf", 180.0), None);
        assert_eq!(country("us"), Some(*b"US"));
        assert_eq!(country("USA"), None);
        assert_eq!(country("Ü"), None);
    }
}
