//! The customer's view of one order, reached by its unguessable link token: no API key, and
//! nothing internal. The view is built field by field from the order's view and timeline (no
//! raw codes, payloads, attributes, contacts or other orders can reach it), and is what the
//! HTML tracking page renders too (`public_view`).

use super::read;
use crate::AppState;
use crate::dto::dashboard::*;
use crate::problem::Problem;
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use waypost_domain::status::PartialStatus;
use waypost_domain::{Location, OrderStatus, Status};

/// The stages of the progress bar, in order; `stage` indexes this.
pub const STAGES: [&str; 6] = [
    "ordered",
    "processing",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
];

/// Where a status puts an order on the progress bar, at least, and what trouble it shows.
/// A condition or a closing status says little about progress by itself, so its stage is a
/// floor that the furthest progress event raises (`stage`).
pub fn stage_of(status: OrderStatus) -> (u8, Option<Trouble>) {
    use Status::*;
    match status {
        OrderStatus::Partial(PartialStatus::PartiallyShipped) => (2, None),
        OrderStatus::Partial(PartialStatus::PartiallyDelivered) => (3, None),
        OrderStatus::Shipment(s) => match s {
            Pending | Unknown => (0, None),
            Allocated | Picked | Packed | LabelCreated => (1, None),
            Shipped => (2, None),
            InTransit => (3, None),
            OutForDelivery | AvailableForPickup => (4, None),
            Delivered => (5, None),
            Delayed => (0, Some(Trouble::Delayed)),
            // An attempt means it was out for delivery.
            AttemptFailed => (4, Some(Trouble::AttemptFailed)),
            Exception => (0, Some(Trouble::Exception)),
            OnHold => (0, Some(Trouble::OnHold)),
            Backordered => (0, Some(Trouble::Backordered)),
            // A return means it shipped.
            Returning => (2, Some(Trouble::Returning)),
            Returned => (2, Some(Trouble::Returned)),
            Cancelled => (0, Some(Trouble::Cancelled)),
            Lost => (0, Some(Trouble::Lost)),
        },
    }
}

/// The progress stage a status itself reaches, if it is a progress status.
fn progress_stage(s: Status) -> Option<u8> {
    let (stage, trouble) = stage_of(OrderStatus::Shipment(s));
    (trouble.is_none() && s != Status::Unknown).then_some(stage)
}

/// The bar's position: the status's own stage, raised, when there is trouble, to the
/// furthest progress any event reported (a delay after "out for delivery" stays there).
pub fn stage(
    status: OrderStatus,
    events: impl IntoIterator<Item = Status>,
) -> (u8, Option<Trouble>) {
    let (base, trouble) = stage_of(status);
    if trouble.is_none() {
        return (base, None);
    }
    let furthest = events
        .into_iter()
        .filter_map(progress_stage)
        .max()
        .unwrap_or(0);
    (base.max(furthest), trouble)
}

/// A link token as issued: 32 lowercase hex characters. Anything else is unknown at once.
fn is_token(t: &str) -> bool {
    t.len() == 32 && t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn place(l: &Location) -> PublicPlace {
    PublicPlace {
        city: l.city.clone(),
        region: l.region.clone(),
        country: l.country.clone(),
        lat: l.lat,
        lon: l.lon,
    }
}

fn unknown_link() -> Problem {
    Problem::not_found("no tracking page for this link")
}

async fn tracking(state: &AppState, token: &str) -> Result<PublicTracking, Problem> {
    if !is_token(token) {
        return Err(unknown_link());
    }
    let t = token.to_string();
    let found = read(state, move |r| {
        let Some((tenant, order_id)) = r.tracking_link(&t)? else {
            return Ok(None);
        };
        let Some(rec) = r.order(&tenant, &order_id)? else {
            return Ok(None);
        };
        let timeline = r.timeline(&tenant, &order_id)?;
        Ok(Some((tenant, rec, timeline)))
    })
    .await?;
    let (tenant, rec, timeline) = found.ok_or_else(unknown_link)?;
    let view = rec.view;
    // Oldest first from the store; unmapped codes say nothing a customer can read.
    let known: Vec<_> = timeline
        .iter()
        .map(|e| &e.event)
        .filter(|e| e.status != Status::Unknown)
        .collect();
    let (stage, trouble) = stage(view.status, known.iter().map(|e| e.status));
    let brand = state.brands.get(&tenant).cloned().unwrap_or_default();
    Ok(PublicTracking {
        order_id: view.order_id.clone(),
        status: view.status.as_str().to_string(),
        stage,
        stages: STAGES.iter().map(|s| s.to_string()).collect(),
        trouble,
        promised_at: view.promised_at.map(|t| t.to_string()),
        delivered_at: (view.status == OrderStatus::Shipment(Status::Delivered))
            .then_some(view.status_at)
            .flatten()
            .map(|t| t.to_string()),
        updated_at: known
            .iter()
            .max_by_key(|e| e.occurred_at.instant)
            .map(|e| e.occurred_at.to_string()),
        location: view.location.as_ref().map(place),
        shipments: view
            .shipments
            .iter()
            .map(|s| PublicShipment {
                carrier: s.carrier.clone(),
                tracking_number: s.tracking_number.clone(),
                status: s.status.as_str().to_string(),
            })
            .collect(),
        events: known
            .iter()
            .rev()
            .map(|e| PublicEvent {
                status: e.status.as_str().to_string(),
                occurred_at: e.occurred_at.to_string(),
                location: e.location.as_ref().map(|l| PublicEventPlace {
                    city: l.city.clone(),
                    region: l.region.clone(),
                    country: l.country.clone(),
                }),
            })
            .collect(),
        brand: BrandDto {
            name: brand.name,
            logo_url: brand.logo_url,
            color: brand.color,
        },
    })
}

/// The customer's view of the order a link token names, as JSON: what `GET /v1/track/{token}`
/// answers and the HTML tracking page renders. An unknown or malformed token is a 404.
pub(crate) async fn public_view(
    state: &AppState,
    token: &str,
) -> Result<serde_json::Value, Problem> {
    let view = tracking(state, token).await?;
    serde_json::to_value(view).map_err(|e| Problem::internal(format!("tracking view: {e}")))
}

/// The customer's view of one order: status, progress stage, promised date, latest location,
/// shipments and timeline, with the tenant's branding. No API key: the token is the key.
#[utoipa::path(get, path = "/v1/track/{token}", tag = "tracking",
    params(("token" = String, Path, description = "The order's link token (32 lowercase hex characters)")),
    responses(
        (status = 200, body = PublicTracking,
            headers(("Cache-Control" = String), ("Referrer-Policy" = String))),
        (status = 404, description = "No order has this link", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn track(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let answer = match path {
        Ok(Path(token)) => public_view(&state, &token).await,
        Err(_) => Err(unknown_link()),
    };
    let mut resp = match answer {
        Ok(v) => Json(v).into_response(),
        Err(p) => p.into_response(),
    };
    // The token is the only key: keep it out of caches and out of other sites' logs.
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bar's index of a stage by its name.
    fn stage_named(name: &str) -> u8 {
        let i = STAGES.iter().position(|s| *s == name);
        u8::try_from(i.unwrap_or(usize::MAX)).unwrap_or(u8::MAX)
    }

    #[test]
    fn trouble_is_shown_exactly_for_conditions_and_closing_statuses() {
        use waypost_domain::status::StatusClass;
        for s in Status::ALL {
            let (stage, trouble) = stage_of(OrderStatus::Shipment(s));
            assert!(usize::from(stage) < STAGES.len(), "{s}");
            match s.class() {
                StatusClass::Progress(_) | StatusClass::Unknown => assert_eq!(trouble, None, "{s}"),
                StatusClass::Condition | StatusClass::Closing => {
                    // The customer is told the status itself, in the same words.
                    let said = trouble.map(|t| serde_json::to_value(t).unwrap_or_default());
                    assert_eq!(said, Some(serde_json::json!(s.as_str())), "{s}");
                }
            }
        }
        assert_eq!(stage_of(OrderStatus::Shipment(Status::Unknown)), (0, None));
    }

    #[test]
    fn progress_moves_the_bar_forward_and_only_delivery_ends_it() {
        let progress: Vec<(u8, Status)> = Status::ALL
            .into_iter()
            .filter_map(|s| s.rank().map(|r| (r, s)))
            .collect();
        let at = |s| stage_of(OrderStatus::Shipment(s)).0;
        for &(r1, s1) in &progress {
            for &(r2, s2) in &progress {
                if r1 < r2 {
                    assert!(at(s1) <= at(s2), "{s1} after {s2} on the bar");
                }
            }
            // A status named like a stage sits on it; only delivery reaches the last one.
            if let Some(i) = STAGES.iter().position(|n| *n == s1.as_str()) {
                assert_eq!(usize::from(at(s1)), i, "{s1}");
            }
            assert_eq!(
                usize::from(at(s1)) == STAGES.len() - 1,
                s1 == Status::Delivered,
                "{s1}"
            );
        }
        assert_eq!(at(Status::Pending), stage_named("ordered"));
        // Everything between the order and its shipping is the warehouse's processing.
        let (pending, shipped) = (Status::Pending.rank(), Status::Shipped.rank());
        for &(r, s) in &progress {
            if Some(r) > pending && Some(r) < shipped {
                assert_eq!(at(s), stage_named("processing"), "{s}");
            }
        }
        assert_eq!(at(Status::AvailableForPickup), at(Status::OutForDelivery));
    }

    #[test]
    fn trouble_floors_say_what_the_trouble_implies() {
        let at = |s| stage_of(OrderStatus::Shipment(s)).0;
        // An attempt means it was out for delivery; a return means it shipped.
        assert_eq!(at(Status::AttemptFailed), stage_named("out_for_delivery"));
        assert_eq!(at(Status::Returning), stage_named("shipped"));
        assert_eq!(at(Status::Returned), stage_named("shipped"));
        // The others say nothing of progress: the events raise them (`stage`).
        for s in [
            Status::Delayed,
            Status::Exception,
            Status::OnHold,
            Status::Backordered,
            Status::Cancelled,
            Status::Lost,
        ] {
            assert_eq!(at(s), 0, "{s}");
        }
        // Part of an order shipped is the order shipped; part delivered, the rest on its way.
        assert_eq!(
            stage_of(OrderStatus::Partial(PartialStatus::PartiallyShipped)),
            (stage_named("shipped"), None)
        );
        assert_eq!(
            stage_of(OrderStatus::Partial(PartialStatus::PartiallyDelivered)),
            (stage_named("in_transit"), None)
        );
    }

    #[test]
    fn trouble_keeps_the_furthest_progress_and_progress_keeps_its_own() {
        let st = |s| OrderStatus::Shipment(s);
        let seen = [
            Status::Packed,
            Status::Shipped,
            Status::OutForDelivery,
            Status::Delayed,
        ];
        assert_eq!(
            stage(st(Status::Delayed), seen),
            (4, Some(Trouble::Delayed))
        );
        assert_eq!(
            stage(st(Status::Exception), [Status::Packed]),
            (1, Some(Trouble::Exception))
        );
        assert_eq!(
            stage(st(Status::Returned), [Status::Delivered]),
            (5, Some(Trouble::Returned))
        );
        // A carrier's regression moves the bar back: the status is what the customer is told.
        assert_eq!(
            stage(st(Status::InTransit), [Status::OutForDelivery]),
            (3, None)
        );
        assert_eq!(stage(st(Status::Lost), []), (0, Some(Trouble::Lost)));
    }

    #[test]
    fn only_issued_token_shapes_are_looked_up() {
        assert!(is_token("0123456789abcdef0123456789abcdef"));
        assert!(!is_token("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_token("0123456789abcdef"));
        assert!(!is_token("0123456789abcdef0123456789abcdeg"));
        assert!(!is_token(""));
    }
}
