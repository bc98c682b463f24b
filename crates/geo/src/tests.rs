use super::*;

fn loc(city: &str, region: &str, postal: &str, country: &str) -> Location {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Location {
        city: opt(city),
        region: opt(region),
        postal_code: opt(postal),
        country: opt(country),
        lat: None,
        lon: None,
    }
}

fn at(l: &Location) -> Place {
    Gazetteer::embedded()
        .locate(l)
        .unwrap_or_else(|| panic!("{l:?} not found"))
}

fn near(p: Place, lat: f64, lon: f64, tolerance_deg: f64) -> bool {
    (p.lat - lat).abs() < tolerance_deg && (p.lon - lon).abs() < tolerance_deg
}

#[test]
fn zip_wins_and_zip_plus_four_uses_its_prefix() {
    let p = at(&loc("", "", "38118", "US"));
    assert_eq!(p.precision, Precision::Postal);
    assert!(near(p, 35.04, -89.93, 0.1), "{p:?}");
    assert_eq!(at(&loc("", "", "38118-1234", "US")), p);
    assert_eq!(at(&loc("", "", "381181234", "US")), p);
    // Puerto Rico's ZIPs are in the same table.
    assert_eq!(at(&loc("", "", "00901", "PR")).precision, Precision::Postal);
    // A German postal code is not a US ZIP.
    assert_ne!(at(&loc("", "", "04109", "DE")).precision, Precision::Postal);
}

#[test]
fn unknown_zip_falls_back_to_the_city_then_its_area() {
    // 38194 is a Memphis PO-box ZIP without a census area.
    let with_city = at(&loc("Memphis", "TN", "38194", "US"));
    assert_eq!(with_city.precision, Precision::City);
    let area = at(&loc("", "", "38194", "US"));
    assert_eq!(area.precision, Precision::Region);
    assert!(near(area, 35.1, -89.9, 0.5), "{area:?}");
}

#[test]
fn region_picks_among_cities_of_one_name() {
    let ky = at(&loc("Louisville", "KY", "", "US"));
    assert!(near(ky, 38.25, -85.76, 0.1), "{ky:?}");
    let co = at(&loc("LOUISVILLE", "Colorado", "", "US"));
    assert!(near(co, 39.98, -105.13, 0.1), "{co:?}");
    let iso = at(&loc("Louisville", "US-CO", "", "US"));
    assert_eq!(iso, co);
    // No region: the most populous.
    assert_eq!(at(&loc("louisville", "", "", "US")), ky);
}

#[test]
fn numeric_admin1_countries_map_iso_codes() {
    let on = at(&loc("London", "ON", "", "CA"));
    assert!(near(on, 42.98, -81.23, 0.1), "{on:?}");
    let gb = at(&loc("London", "", "", "GB"));
    assert!(near(gb, 51.51, -0.13, 0.1), "{gb:?}");
    let perth_wa = at(&loc("Perth", "WA", "", "AU"));
    assert!(near(perth_wa, -31.95, 115.86, 0.1), "{perth_wa:?}");
    let frankfurt_oder = at(&loc("Frankfurt (Oder)", "BB", "", "DE"));
    assert!(
        near(frankfurt_oder, 52.34, 14.55, 0.1),
        "{frankfurt_oder:?}"
    );
}

#[test]
fn numeric_codes_are_not_taken_as_written() {
    // "75" from a French carrier is the département of Paris, not GeoNames' region 75.
    let paris = at(&loc("PARIS", "75", "", "FR"));
    assert!(near(paris, 48.86, 2.35, 0.1), "{paris:?}");
    // Numeric ISO codes the table knows still work (Austria's states are 1 to 9).
    assert_eq!(
        at(&loc("Salzburg", "5", "", "AT")).precision,
        Precision::City
    );
    assert_eq!(
        at(&loc("Nowhere", "9", "", "AT")).precision,
        Precision::Region
    );
}

#[test]
fn other_names_and_spellings() {
    let koeln = at(&loc("Köln", "", "", "DE"));
    assert_eq!(koeln.precision, Precision::City);
    assert_eq!(at(&loc("KOELN", "", "", "DE")), koeln);
    assert_eq!(at(&loc("Cologne", "", "", "DE")), koeln);
    let muc = at(&loc("MUENCHEN", "", "", "DE"));
    assert!(near(muc, 48.14, 11.58, 0.1), "{muc:?}");
    let stl = at(&loc("ST. LOUIS", "MO", "", "US"));
    assert!(near(stl, 38.63, -90.2, 0.1), "{stl:?}");
    assert_eq!(at(&loc("Saint Louis", "MO", "", "US")), stl);
    let nyc = at(&loc("NEW YORK", "NY", "", "US"));
    assert!(near(nyc, 40.71, -74.0, 0.1), "{nyc:?}");
    let mtl = at(&loc("MONTREAL", "QC", "", "CA"));
    assert!(near(mtl, 45.5, -73.59, 0.1), "{mtl:?}");
}

#[test]
fn city_field_carrying_region_and_country() {
    let memphis = at(&loc("Memphis", "TN", "", "US"));
    assert_eq!(at(&loc("MEMPHIS, TN, US", "", "", "")), memphis);
    assert_eq!(at(&loc("MEMPHIS TN", "", "", "US")), memphis);
    assert_eq!(at(&loc("MEMPHIS HUB", "TN", "", "US")), memphis);
    assert_eq!(
        at(&loc("MEMPHIS TN NETWORK DISTRIBUTION CENTER", "", "", "US")),
        memphis
    );
    // Only words about a building are dropped: an unknown place stays unknown.
    assert_eq!(
        at(&loc("MEMPHIS NOWHERE", "TN", "", "US")).precision,
        Precision::Region
    );
    let hodgkins = at(&loc("Hodgkins IL", "", "", "US"));
    assert!(near(hodgkins, 41.77, -87.86, 0.1), "{hodgkins:?}");
}

#[test]
fn coarser_answers_when_the_city_is_unknown() {
    let r = at(&loc("Nowhereville", "TN", "", "US"));
    assert_eq!(r.precision, Precision::Region);
    assert!(
        r.lat > 34.9 && r.lat < 36.7 && r.lon > -90.4 && r.lon < -81.6,
        "{r:?}"
    );
    let c = at(&loc("Nowhereville", "", "", "FR"));
    assert_eq!(c.precision, Precision::Country);
    assert!(
        c.lat > 42.0 && c.lat < 51.2 && c.lon > -5.0 && c.lon < 8.3,
        "{c:?}"
    );
    // A Springfield outside the given state is not an answer: the state's centre is.
    assert_eq!(
        at(&loc("Springfield", "HI", "", "US")).precision,
        Precision::Region
    );
    // Nothing to go on.
    let g = Gazetteer::embedded();
    assert_eq!(g.locate(&loc("Memphis", "", "", "")), None);
    assert_eq!(g.locate(&loc("Memphis", "", "", "XX")), None);
    assert_eq!(g.locate(&Location::default()), None);
    // Without a country, a US state still places it.
    assert_eq!(
        at(&loc("Memphis", "TN", "", "")),
        at(&loc("Memphis", "TN", "", "US"))
    );
}

#[test]
fn fill_keeps_given_coordinates() {
    let g = Gazetteer::embedded();
    let mut l = loc("Memphis", "TN", "", "US");
    l.lat = Some(1.0);
    assert!(!g.fill(&mut l));
    assert_eq!((l.lat, l.lon), (Some(1.0), None));
    let mut l = loc("Memphis", "TN", "", "US");
    assert!(g.fill(&mut l));
    assert!(l.lat.is_some() && l.lon.is_some());
    let mut nothing = Location::default();
    assert!(!g.fill(&mut nothing));
    assert_eq!(nothing, Location::default());
}

#[test]
fn zip5_forms() {
    assert_eq!(zip5("38118"), Some(38118));
    assert_eq!(zip5(" 38118-1234 "), Some(38118));
    assert_eq!(zip5("38118 1234"), Some(38118));
    assert_eq!(zip5("381181234"), Some(38118));
    assert_eq!(zip5("3811"), None);
    assert_eq!(zip5("381181"), None);
    assert_eq!(zip5("38118-12"), None);
    assert_eq!(zip5("K1A 0B1"), None);
    assert_eq!(zip5("3811٣"), None);
}
