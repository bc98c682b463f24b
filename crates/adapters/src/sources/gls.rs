//! gls: not yet written.
//!
//! Research notes for whoever writes it (not verified against a published GLS reference page):
//! - Candidate with a public code list: the MyGLS API (GLS Hungary, Czechia, Croatia, Romania,
//!   Slovenia, Slovakia, Serbia), `POST /ParcelService.svc/json/GetParcelStatuses`. Response:
//!   `{ParcelNumber, ClientReference, DeliveryCountryCode, DeliveryZipCode, Weight, POD,
//!   ParcelStatusList[{DepotCity, DepotNumber ("HU1011": country prefix), StatusCode ("1".."99"),
//!   StatusDate ("/Date(1565166360000+0200)/": epoch ms plus the local offset, so exact),
//!   StatusDescription, StatusInfo}], GetParcelStatusErrors[{ErrorCode, ErrorDescription}]}`.
//!   `ClientReference` is the merchant's reference (order_ref). The appendix lists about 85
//!   numeric status codes (1 handed over to GLS, 5 delivered, 51 data entered, 54 parcel box,
//!   55/56 ParcelShop, 58 neighbour, 60-76 customs, 83-91 pickup service, 92/93 delivered...).
//! - The GLS Group Track & Trace REST (`parcels[].events[]`) is the other option; its event
//!   code list was not found publicly.

use crate::{Observation, ParseError};

pub fn parse(_doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    Err(ParseError::new("", "the gls adapter is not written yet"))
}
