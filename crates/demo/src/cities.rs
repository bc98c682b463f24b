//! The built-in map of the demo world: the cities of `data/cities.csv`, which carriers sort
//! parcels where, and the distances that set how long a parcel is on the road.

use crate::carriers::Carrier;

const CITIES_CSV: &str = include_str!("../data/cities.csv");

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct City {
    pub name: &'static str,
    pub region: &'static str,
    pub postal_code: &'static str,
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
    /// Fixed offset from UTC, in seconds.
    pub utc_offset: i32,
    hubs: &'static str,
}

impl City {
    pub fn is_hub_of(&self, carrier: Carrier) -> bool {
        self.hubs.split('|').any(|h| h == carrier.slug())
    }
}

/// Index of a city in [`Geo::cities`]; the table is small, so a `u16` keeps steps compact.
pub(crate) type CityId = u16;

/// The city table, with the US and European cities split out because an order ships within one
/// of the two.
pub(crate) struct Geo {
    pub cities: Vec<City>,
    pub us: Vec<CityId>,
    pub europe: Vec<CityId>,
}

impl Geo {
    pub fn load() -> Geo {
        let cities: Vec<City> = CITIES_CSV.lines().filter_map(parse_line).collect();
        let ids = 0..cities.len().min(usize::from(u16::MAX)) as CityId;
        let us = ids
            .clone()
            .filter(|&i| cities[usize::from(i)].country == "US")
            .collect();
        let europe = ids
            .filter(|&i| cities[usize::from(i)].country != "US")
            .collect();
        Geo { cities, us, europe }
    }

    pub fn city(&self, id: CityId) -> &City {
        &self.cities[usize::from(id)]
    }

    pub fn find(&self, name: &str) -> Option<CityId> {
        self.cities
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| CityId::try_from(i).ok())
    }

    pub fn distance_km(&self, a: CityId, b: CityId) -> f64 {
        haversine_km(self.city(a), self.city(b))
    }

    /// The carrier's sort facility closest to `near`, if the carrier has any.
    pub fn nearest_hub(&self, carrier: Carrier, near: CityId) -> Option<CityId> {
        let ids = 0..self.cities.len().min(usize::from(u16::MAX)) as CityId;
        ids.filter(|&h| self.city(h).is_hub_of(carrier))
            .min_by(|&x, &y| {
                self.distance_km(near, x)
                    .total_cmp(&self.distance_km(near, y))
            })
    }

    /// The sort facilities a parcel passes between `from` and `to`: the carrier's hub nearest each
    /// end, skipped when it would be a detour. Local parcels go straight to the delivery station.
    pub fn route(&self, carrier: Carrier, from: CityId, to: CityId) -> Vec<CityId> {
        /// How much longer than the direct way a carrier will go to use its own hub.
        const MAX_DETOUR: f64 = 1.35;
        let mut hubs = Vec::new();
        if self.distance_km(from, to) < 150.0 {
            return hubs;
        }
        let mut at = from;
        for end in [from, to] {
            if let Some(h) = self.nearest_hub(carrier, end)
                && h != at
                && h != to
                && self.distance_km(at, h) + self.distance_km(h, to)
                    <= MAX_DETOUR * self.distance_km(at, to)
            {
                hubs.push(h);
                at = h;
            }
        }
        hubs
    }
}

fn parse_line(line: &'static str) -> Option<City> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with("city,") {
        return None;
    }
    let f: Vec<&'static str> = line.split(',').map(str::trim).collect();
    let [name, region, postal_code, country, lat, lon, offset, hubs] = f.as_slice() else {
        return None;
    };
    Some(City {
        name,
        region,
        postal_code,
        country,
        lat: lat.parse().ok()?,
        lon: lon.parse().ok()?,
        utc_offset: parse_offset(offset)?,
        hubs,
    })
}

/// `-05:00` to seconds.
fn parse_offset(s: &str) -> Option<i32> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s.get(1..)?.split_once(':')?;
    Some(sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60))
}

fn haversine_km(a: &City, b: &City) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_row_parses() {
        let rows = CITIES_CSV
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("city,"))
            .count();
        let geo = Geo::load();
        assert_eq!(
            geo.cities.len(),
            rows,
            "a row of data/cities.csv failed to parse"
        );
        assert!(geo.us.len() >= 40, "{} US cities", geo.us.len());
        assert!(
            geo.europe.len() >= 15,
            "{} European cities",
            geo.europe.len()
        );
        for c in &geo.cities {
            assert!(c.country.len() == 2 && c.country.chars().all(|ch| ch.is_ascii_uppercase()));
            assert!(c.lat.abs() <= 90.0 && c.lon.abs() <= 180.0, "{}", c.name);
            assert!(
                c.utc_offset % 1800 == 0 && c.utc_offset.abs() <= 12 * 3600,
                "{}",
                c.name
            );
            assert!(
                !c.postal_code.is_empty() && !c.region.is_empty(),
                "{}",
                c.name
            );
            for h in c.hubs.split('|').filter(|h| !h.is_empty()) {
                assert!(
                    Carrier::ALL.iter().any(|k| k.slug() == h),
                    "unknown carrier {h} at {}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn distances_and_routes_are_plausible() {
        let geo = Geo::load();
        let id = |n: &str| geo.find(n).unwrap_or_else(|| panic!("{n} missing"));
        let ny_la = geo.distance_km(id("New York"), id("Los Angeles"));
        assert!((3900.0..4000.0).contains(&ny_la), "{ny_la}");
        // Seattle is itself a UPS hub, so the parcel is sorted there, not at a second hub.
        assert_eq!(
            geo.route(Carrier::Ups, id("Columbus"), id("Seattle")),
            vec![id("Louisville")]
        );
        let cross = geo.route(Carrier::Fedex, id("Columbus"), id("San Diego"));
        assert_eq!(cross, vec![id("Indianapolis"), id("Los Angeles")]);
        assert_eq!(
            geo.route(Carrier::Fedex, id("Reno"), id("Reno")),
            Vec::<CityId>::new()
        );
        let eu = geo.route(Carrier::Dhl, id("Venlo"), id("Madrid"));
        assert!(
            !eu.is_empty() && eu.iter().all(|&h| geo.city(h).country != "US"),
            "{eu:?}"
        );
    }
}
