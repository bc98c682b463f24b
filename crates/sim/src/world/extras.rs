//! What the demo planner leaves out and a partner's documents show: a street address with
//! coordinates, and the order's lines. Drawn from the order's id, so they are the same in every
//! run of a seed whatever else changes.

use super::{Address, Builder, Line};
use waypost_demo::Place;

const US_STREETS: &[&str] = &[
    "Main",
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Sunset",
    "River",
    "Church",
    "Mill",
    "Spring",
    "Highland",
    "Forest",
    "Jefferson",
];
const US_SUFFIXES: &[&str] = &["St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Way", "Ct"];

/// Common street names per country; European addresses put the number after the street.
fn streets(country: &str) -> &'static [&'static str] {
    match country {
        "DE" | "AT" => &[
            "Hauptstrasse",
            "Bahnhofstrasse",
            "Gartenstrasse",
            "Schulstrasse",
        ],
        "NL" => &["Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsplein"],
        "BE" => &[
            "Kerkstraat",
            "Rue de la Station",
            "Stationsstraat",
            "Rue de l'Eglise",
        ],
        "FR" => &[
            "Rue de la Paix",
            "Rue Victor Hugo",
            "Avenue Jean Jaures",
            "Rue Pasteur",
        ],
        "GB" | "IE" => &[
            "High Street",
            "Station Road",
            "Church Lane",
            "Victoria Road",
        ],
        "IT" => &["Via Roma", "Via Garibaldi", "Via Mazzini", "Corso Italia"],
        "ES" => &[
            "Calle Mayor",
            "Calle Real",
            "Avenida de la Constitucion",
            "Calle Nueva",
        ],
        "PL" => &[
            "Ulica Polna",
            "Ulica Lesna",
            "Ulica Sloneczna",
            "Ulica Krotka",
        ],
        "DK" => &["Storgade", "Kirkevej", "Skolevej", "Norregade"],
        _ => &[
            "Market Street",
            "Station Street",
            "Church Street",
            "Park Street",
        ],
    }
}

const CATALOG: &[&str] = &[
    "TEE-BLK-M",
    "TEE-WHT-L",
    "HOODIE-GRY-M",
    "MUG-WHT-12OZ",
    "BOTTLE-STEEL-750",
    "CAP-NAVY-OS",
    "SOCKS-3PK-L",
    "TOTE-CANVAS",
    "NOTEBOOK-A5",
    "BEANIE-RED",
];

impl Builder<'_> {
    fn pick(&self, label: &str, id: &str, n: usize) -> usize {
        ((self.draw(&[label, id]) * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// A street address within a few kilometres of the city centre.
    pub(super) fn address(&self, id: &str, city: &Place) -> Address {
        let street = if city.country == "US" {
            format!(
                "{} {} {}",
                1 + self.pick("house", id, 4999),
                US_STREETS[self.pick("street", id, US_STREETS.len())],
                US_SUFFIXES[self.pick("suffix", id, US_SUFFIXES.len())]
            )
        } else {
            let names = streets(city.country);
            format!(
                "{} {}",
                names[self.pick("street", id, names.len())],
                1 + self.pick("house", id, 199)
            )
        };
        // About ±4 km around the centre: a city-sized scatter, rounded like a geocoder's answer.
        let jitter = |label: &str| (self.draw(&[label, id]) - 0.5) * 0.08;
        Address {
            street,
            lat: ((city.lat + jitter("lat")) * 1e5).round() / 1e5,
            lon: ((city.lon + jitter("lon")) * 1e5).round() / 1e5,
        }
    }

    /// One to three distinct products whose quantities add up to the order's item count.
    pub(super) fn lines(&self, id: &str, items: u32) -> Vec<Line> {
        let n = items.clamp(1, 3) as usize;
        let first = self.pick("sku", id, CATALOG.len());
        let mut lines: Vec<Line> = (0..n)
            .map(|k| Line {
                sku: CATALOG[(first + k * 3) % CATALOG.len()],
                quantity: 1,
            })
            .collect();
        if let Some(l) = lines.first_mut() {
            l.quantity += items.saturating_sub(n as u32);
        }
        lines
    }
}
