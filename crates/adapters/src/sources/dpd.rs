//! dpd: not yet written.
//!
//! Research notes for whoever writes it (not verified against a published DPD reference page):
//! - Best-documented candidate: DPD Germany's ParcelLifeCycle model, served as SOAP by
//!   ParcelLifeCycleService 2.0 `getTrackingData` (public-ws.dpd.com) and as JSON by the public
//!   tracking REST `https://tracking.dpd.de/rest/plc/{lang}/{parcelNumber}`. JSON shape:
//!   `parcellifecycleResponse.parcelLifeCycleData.{shipmentInfo{parcelLabelNumber,
//!   serviceElements[]}, statusInfo[], contactInfo[], scanInfo{scan[]}}`.
//! - `statusInfo[]`: `status` (ACCEPTED, AT_SENDING_DEPOT, ON_THE_ROAD, AT_DELIVERY_DEPOT,
//!   DELIVERED), `label`, `description.content[]`, `statusHasBeenReached` (false entries are
//!   DPD's forecast, not reports: skip them), `isCurrentStatus`, `location`, `date`.
//! - `scanInfo.scan[]`: `date`, `scanData{scanType{code,name}, location, scanDepot{number}}`,
//!   `scanDescription.content[]`: finer, and where exceptions show; the scan type list needs a
//!   DPD source before it is mapped. Times are depot-local without offset: resolve by the
//!   depot's country zone and say so.

use crate::{Observation, ParseError};

pub fn parse(_doc: &[u8]) -> Result<Vec<Observation>, ParseError> {
    Err(ParseError::new("", "the dpd adapter is not written yet"))
}
