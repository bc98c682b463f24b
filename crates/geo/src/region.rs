//! Carriers name a subdivision by its ISO 3166-2 code ("TN", "ON", "NSW", "SN") or its name;
//! GeoNames' admin1 codes are the same letters for the US (and a few others such as CH, BE, GB's
//! constituent countries), numeric for most. This table maps what carriers send to GeoNames'
//! code for the countries that carry most parcels; elsewhere a region the table does not know is
//! compared with the admin1 code as written, then ignored (the largest city of the name wins).

/// (country, GeoNames admin1 code, the other ways carriers write it: ISO 3166-2 code, names).
pub(crate) const REGION_ALIASES: &[(&str, &str, &[&str])] = &[
    ("US", "AL", &["Alabama"]),
    ("US", "AK", &["Alaska"]),
    ("US", "AZ", &["Arizona"]),
    ("US", "AR", &["Arkansas"]),
    ("US", "CA", &["California"]),
    ("US", "CO", &["Colorado"]),
    ("US", "CT", &["Connecticut"]),
    ("US", "DE", &["Delaware"]),
    ("US", "DC", &["District of Columbia"]),
    ("US", "FL", &["Florida"]),
    ("US", "GA", &["Georgia"]),
    ("US", "HI", &["Hawaii"]),
    ("US", "ID", &["Idaho"]),
    ("US", "IL", &["Illinois"]),
    ("US", "IN", &["Indiana"]),
    ("US", "IA", &["Iowa"]),
    ("US", "KS", &["Kansas"]),
    ("US", "KY", &["Kentucky"]),
    ("US", "LA", &["Louisiana"]),
    ("US", "ME", &["Maine"]),
    ("US", "MD", &["Maryland"]),
    ("US", "MA", &["Massachusetts"]),
    ("US", "MI", &["Michigan"]),
    ("US", "MN", &["Minnesota"]),
    ("US", "MS", &["Mississippi"]),
    ("US", "MO", &["Missouri"]),
    ("US", "MT", &["Montana"]),
    ("US", "NE", &["Nebraska"]),
    ("US", "NV", &["Nevada"]),
    ("US", "NH", &["New Hampshire"]),
    ("US", "NJ", &["New Jersey"]),
    ("US", "NM", &["New Mexico"]),
    ("US", "NY", &["New York"]),
    ("US", "NC", &["North Carolina"]),
    ("US", "ND", &["North Dakota"]),
    ("US", "OH", &["Ohio"]),
    ("US", "OK", &["Oklahoma"]),
    ("US", "OR", &["Oregon"]),
    ("US", "PA", &["Pennsylvania"]),
    ("US", "RI", &["Rhode Island"]),
    ("US", "SC", &["South Carolina"]),
    ("US", "SD", &["South Dakota"]),
    ("US", "TN", &["Tennessee"]),
    ("US", "TX", &["Texas"]),
    ("US", "UT", &["Utah"]),
    ("US", "VT", &["Vermont"]),
    ("US", "VA", &["Virginia"]),
    ("US", "WA", &["Washington"]),
    ("US", "WV", &["West Virginia"]),
    ("US", "WI", &["Wisconsin"]),
    ("US", "WY", &["Wyoming"]),
    ("CA", "01", &["AB", "Alberta"]),
    (
        "CA",
        "02",
        &["BC", "British Columbia", "Colombie-Britannique"],
    ),
    ("CA", "03", &["MB", "Manitoba"]),
    ("CA", "04", &["NB", "New Brunswick", "Nouveau-Brunswick"]),
    (
        "CA",
        "05",
        &["NL", "Newfoundland and Labrador", "Newfoundland", "NF"],
    ),
    ("CA", "07", &["NS", "Nova Scotia", "Nouvelle-Ecosse"]),
    ("CA", "08", &["ON", "Ontario"]),
    ("CA", "09", &["PE", "Prince Edward Island", "PEI"]),
    ("CA", "10", &["QC", "Quebec", "PQ"]),
    ("CA", "11", &["SK", "Saskatchewan"]),
    ("CA", "12", &["YT", "Yukon"]),
    ("CA", "13", &["NT", "Northwest Territories"]),
    ("CA", "14", &["NU", "Nunavut"]),
    ("AU", "01", &["ACT", "Australian Capital Territory"]),
    ("AU", "02", &["NSW", "New South Wales"]),
    ("AU", "03", &["NT", "Northern Territory"]),
    ("AU", "04", &["QLD", "Queensland"]),
    ("AU", "05", &["SA", "South Australia"]),
    ("AU", "06", &["TAS", "Tasmania"]),
    ("AU", "07", &["VIC", "Victoria"]),
    ("AU", "08", &["WA", "Western Australia"]),
    ("DE", "01", &["BW", "Baden-Württemberg"]),
    ("DE", "02", &["BY", "Bayern", "Bavaria"]),
    ("DE", "03", &["HB", "Bremen"]),
    ("DE", "04", &["HH", "Hamburg"]),
    ("DE", "05", &["HE", "Hessen", "Hesse"]),
    ("DE", "06", &["NI", "Niedersachsen", "Lower Saxony"]),
    (
        "DE",
        "07",
        &["NW", "NRW", "Nordrhein-Westfalen", "North Rhine-Westphalia"],
    ),
    (
        "DE",
        "08",
        &["RP", "Rheinland-Pfalz", "Rhineland-Palatinate"],
    ),
    ("DE", "09", &["SL", "Saarland"]),
    ("DE", "10", &["SH", "Schleswig-Holstein"]),
    ("DE", "11", &["BB", "Brandenburg"]),
    ("DE", "12", &["MV", "Mecklenburg-Vorpommern"]),
    ("DE", "13", &["SN", "Sachsen", "Saxony"]),
    ("DE", "14", &["ST", "Sachsen-Anhalt", "Saxony-Anhalt"]),
    ("DE", "15", &["TH", "Thüringen", "Thuringia"]),
    ("DE", "16", &["BE", "Berlin"]),
    ("FR", "11", &["IDF", "Île-de-France"]),
    ("FR", "24", &["CVL", "Centre-Val de Loire"]),
    ("FR", "27", &["BFC", "Bourgogne-Franche-Comté"]),
    ("FR", "28", &["NOR", "Normandie", "Normandy"]),
    ("FR", "32", &["HDF", "Hauts-de-France"]),
    ("FR", "44", &["GES", "Grand Est"]),
    ("FR", "52", &["PDL", "Pays de la Loire"]),
    ("FR", "53", &["BRE", "Bretagne", "Brittany"]),
    ("FR", "75", &["NAQ", "Nouvelle-Aquitaine"]),
    ("FR", "76", &["OCC", "Occitanie"]),
    ("FR", "84", &["ARA", "Auvergne-Rhône-Alpes"]),
    ("FR", "93", &["PAC", "Provence-Alpes-Côte d'Azur"]),
    ("FR", "94", &["COR", "Corse", "Corsica"]),
    ("NL", "01", &["DR", "Drenthe"]),
    ("NL", "02", &["FR", "Friesland", "Fryslan"]),
    ("NL", "03", &["GE", "Gelderland"]),
    ("NL", "04", &["GR", "Groningen"]),
    ("NL", "05", &["LI", "Limburg"]),
    ("NL", "06", &["NB", "Noord-Brabant", "North Brabant"]),
    ("NL", "07", &["NH", "Noord-Holland", "North Holland"]),
    ("NL", "09", &["UT", "Utrecht"]),
    ("NL", "10", &["ZE", "Zeeland"]),
    ("NL", "11", &["ZH", "Zuid-Holland", "South Holland"]),
    ("NL", "15", &["OV", "Overijssel"]),
    ("NL", "16", &["FL", "Flevoland"]),
    ("ES", "07", &["IB", "Illes Balears", "Balearic Islands"]),
    ("ES", "27", &["RI", "La Rioja"]),
    ("ES", "29", &["MD", "Madrid", "Comunidad de Madrid"]),
    ("ES", "31", &["MC", "Murcia", "Region de Murcia"]),
    ("ES", "32", &["NC", "Navarra", "Navarre"]),
    ("ES", "34", &["AS", "Asturias"]),
    ("ES", "39", &["CB", "Cantabria"]),
    ("ES", "51", &["AN", "Andalucia", "Andalusia"]),
    ("ES", "52", &["AR", "Aragon"]),
    ("ES", "53", &["CN", "Canarias", "Canary Islands"]),
    ("ES", "54", &["CM", "Castilla-La Mancha"]),
    ("ES", "55", &["CL", "Castilla y Leon", "Castile and Leon"]),
    ("ES", "56", &["CT", "Catalunya", "Cataluna", "Catalonia"]),
    ("ES", "57", &["EX", "Extremadura"]),
    ("ES", "58", &["GA", "Galicia"]),
    (
        "ES",
        "59",
        &["PV", "Pais Vasco", "Euskadi", "Basque Country"],
    ),
    (
        "ES",
        "60",
        &[
            "VC",
            "Comunitat Valenciana",
            "Comunidad Valenciana",
            "Valencia",
        ],
    ),
    ("AT", "01", &["1", "Burgenland"]),
    ("AT", "02", &["2", "Kärnten", "Carinthia"]),
    ("AT", "03", &["3", "Niederösterreich", "Lower Austria"]),
    ("AT", "04", &["4", "Oberösterreich", "Upper Austria"]),
    ("AT", "05", &["5", "Salzburg"]),
    ("AT", "06", &["6", "Steiermark", "Styria"]),
    ("AT", "07", &["7", "Tirol", "Tyrol"]),
    ("AT", "08", &["8", "Vorarlberg"]),
    ("AT", "09", &["9", "Wien", "Vienna"]),
    ("GB", "ENG", &["England"]),
    ("GB", "SCT", &["Scotland"]),
    ("GB", "WLS", &["Wales"]),
    ("GB", "NIR", &["Northern Ireland"]),
];

/// The region as written, without an ISO 3166-2 country prefix ("US-TN" → "TN").
pub(crate) fn strip_country_prefix(region: &str, country: [u8; 2]) -> &str {
    let r = region.trim();
    let b = r.as_bytes();
    if b.len() > 3 && b[2] == b'-' && b[..2].eq_ignore_ascii_case(&country) {
        r.get(3..).unwrap_or(r)
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_stripped_only_for_the_country() {
        assert_eq!(strip_country_prefix("US-TN", *b"US"), "TN");
        assert_eq!(strip_country_prefix("us-tn", *b"US"), "tn");
        assert_eq!(strip_country_prefix("DE-SN", *b"US"), "DE-SN");
        assert_eq!(strip_country_prefix(" TN ", *b"US"), "TN");
        assert_eq!(strip_country_prefix("Ü-", *b"US"), "Ü-");
    }

    #[test]
    fn table_has_no_duplicate_codes() {
        let mut seen = std::collections::HashSet::new();
        for (c, code, _) in REGION_ALIASES {
            assert!(seen.insert((c, code)), "{c} {code} twice");
        }
    }
}
