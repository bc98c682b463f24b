//! STUB by H-front so the tracking page can be built and tested before H-data's customer view
//! lands. The integrator replaces this whole file with H-data's `routes/track.rs`; only
//! `public_view`'s signature is the contract. Known token: `0123456789abcdef0123456789abcdef`.

use crate::AppState;
use crate::problem::Problem;

/// The token of the fixture order (stub only).
pub(crate) const STUB_TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// The customer view of the order behind `token` (contract: `GET /v1/track/{token}`).
pub(crate) async fn public_view(
    _state: &AppState,
    token: &str,
) -> Result<serde_json::Value, Problem> {
    if token != STUB_TOKEN {
        return Err(Problem::not_found("no order has this tracking link"));
    }
    Ok(serde_json::json!({
        "order_id": "A-1001",
        "status": "in_transit",
        "stage": 3,
        "stages": ["ordered", "processing", "shipped", "in_transit", "out_for_delivery", "delivered"],
        "trouble": null,
        "promised_at": "2026-11-30T18:00:00+01:00",
        "delivered_at": null,
        "updated_at": "2026-11-27T09:15:00Z",
        "location": {"city": "Lyon", "region": "ARA", "country": "FR", "lat": 45.764, "lon": 4.8357},
        "shipments": [{"carrier": "ups", "tracking_number": "1Z999AA10123456784", "status": "in_transit"}],
        "events": [
            {"status": "in_transit", "occurred_at": "2026-11-27T10:15:00+01:00",
             "location": {"city": "Lyon", "region": "ARA", "country": "FR"}},
            {"status": "shipped", "occurred_at": "2026-11-26T08:00:00+01:00",
             "location": {"city": "Paris", "region": "IDF", "country": "FR"}},
            {"status": "packed", "occurred_at": "2026-11-25T16:40:00+01:00", "location": null}
        ],
        "brand": {"name": "Acme Outdoor", "logo_url": null, "color": "#0b6e4f"}
    }))
}
