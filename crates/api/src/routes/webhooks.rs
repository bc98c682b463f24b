use super::body_read::{content_length, read_within, too_large};
use crate::AppState;
use crate::auth::Caller;
use crate::client_addr::ClientAddr;
use crate::dto::DocumentReceipt;
use crate::problem::Problem;
use crate::webhooks::Endpoint;
use axum::Json;
use axum::body::{Body, HttpBody};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::IntoParams;
use waypost_adapters::Source;
use waypost_adapters::signature::{self, Headers};
use waypost_domain::TenantId;
use waypost_engine::Rejection;
use waypost_intake::DocumentIn;
use waypost_store::Scope;

#[derive(Debug, Deserialize, IntoParams)]
pub struct WebhookQuery {
    /// The tenant the delivery is for, when the partner signs it instead of sending an API key.
    pub tenant: Option<String>,
}

/// Receive a vendor document (carrier tracking response, aggregator webhook, EDI, WMS event).
///
/// The body is read as the vendor sends it and normalized with the tenant's mapping tables.
/// Authentication is an API key with the ingest scope, a client certificate bound to the
/// tenant, or the vendor's own signature scheme when one is configured for this tenant and
/// source (`?tenant=` then names the tenant). All of that, the address allow-list and the
/// declared length are checked from the headers before any of the body is read. Answers 202 once the events are durable. Codes no
/// table knows are stored with status `unknown` and quarantined (`GET /v1/unmapped`); a document
/// that cannot be read is refused with 422 and kept (`GET /v1/dead-letters`).
#[utoipa::path(
    post, path = "/v1/webhooks/{source}", tag = "ingest",
    params(
        ("source" = String, Path, description = "ups, fedex, usps, dhl, canadapost, royalmail, dpd, gls, australiapost, purolator, easypost, aftership, shippo, x12-214, x12-856 or wms"),
        WebhookQuery,
    ),
    request_body(content = String, description = "The vendor document, exactly as the vendor sends it", content_type = "*/*"),
    responses(
        (status = 200, description = "A delivery id already taken: nothing done", body = DocumentReceipt),
        (status = 202, description = "Durably accepted", body = DocumentReceipt),
        (status = 400, description = "Bad tenant name", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key, certificate or signature", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Address not allowed, or a key of another tenant or without the ingest scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown source", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The document cannot be read; it is kept", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit, queue full, or the tenant's deliveries being received over its body budget; retry after Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Shutting down or the store failed; retry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ())
)]
pub async fn post_webhook(
    State(state): State<AppState>,
    Path(source): Path<String>,
    Query(query): Query<WebhookQuery>,
    caller: Option<Caller>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<DocumentReceipt>), Problem> {
    let received_at = state.clock.now();
    // Everything that can refuse the request from its headers comes first: an unauthenticated
    // request must cost no body buffer, however many arrive.
    let gate = match admit(&state, &source, &query, caller.as_ref(), client, &headers) {
        Ok(g) => g,
        // The body stays unread: the connection cannot carry another request.
        Err(p) if !body.is_end_stream() => return Err(p.close_connection()),
        Err(p) => return Err(p),
    };
    let Gate {
        source,
        tenant,
        endpoint,
        limit,
    } = gate;
    let (body, _reservation) = read_within(
        &state,
        &tenant,
        &headers,
        body,
        limit,
        &format!("{source} deliveries"),
    )
    .await?;
    let fail =
        |reason: &'static str, problem: Problem| refused(&state, source, &tenant, reason, problem);
    let delivery = match (caller.is_some(), endpoint) {
        (true, _) => None,
        (false, Some(ep)) => {
            // The sender signed with its real clock; the engine's may be a simulated one.
            verify(&state, ep, &headers, &body, state.transport_clock.now())
                .map_err(|e| fail("signature", e))?
        }
        (false, None) => {
            return Err(Problem::internal(
                "an unsigned delivery without credentials passed the header checks",
            ));
        }
    };
    if let Some(ep) = endpoint
        && let Some(rate) = ep.rate
        && let Err(wait) = state.guards.take(&tenant, source, rate)
    {
        state.metrics.reject(Rejection::Throttled, 1);
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("{source} deliveries for this tenant are over their rate limit"),
        )
        .retry_after(wait));
    }
    if let Some(id) = &delivery
        && state.guards.seen(&tenant, source, id)
    {
        state.metrics.documents.add([source.name(), "replayed"], 1);
        return Ok((
            StatusCode::OK,
            Json(waypost_intake::DocumentReceipt::replayed().into()),
        ));
    }
    if source == Source::Wms
        && let Some(receipt) = wms_stock(&state, &tenant, &body).await?
    {
        return Ok((StatusCode::ACCEPTED, Json(receipt.into())));
    }
    let receipt = state
        .intake
        .document(DocumentIn {
            tenant: tenant.clone(),
            source,
            body,
            received_at,
            origin: "webhook".to_owned(),
            replays_document: None,
        })
        .await?;
    if let (Some(id), Some(ep)) = (&delivery, endpoint) {
        // Twice the tolerance: a delivery signed at the edge of the window, arriving at the
        // other edge, is still recognised.
        let window = ep.tolerance.unsigned_abs().saturating_mul(2);
        state.guards.remember(&tenant, source, id, window);
    }
    if let Some(p) = &state.partners {
        p.webhook_seen(&tenant, source);
    }
    Ok((StatusCode::ACCEPTED, Json(receipt.into())))
}

/// A WMS document of stock counts (`inventory` messages) goes to the catalogue's stock, where
/// it releases the backorders it can serve; `None` for a document of order events.
async fn wms_stock(
    state: &AppState,
    tenant: &TenantId,
    body: &[u8],
) -> Result<Option<waypost_intake::DocumentReceipt>, Problem> {
    let counts = waypost_orders::channels::wms_stock::read(body).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable-document",
            "The document cannot be read",
            format!("{e}; nothing of it was stored"),
        )
    })?;
    let Some(counts) = counts else {
        return Ok(None);
    };
    let desk = state.orders.as_ref().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "orders-disabled",
            "Order intake is not running",
            "stock counts need order intake, which this server runs without",
        )
    })?;
    let levels: Vec<waypost_store::StockLevel> = counts
        .into_iter()
        .map(|c| waypost_store::StockLevel {
            warehouse: c.warehouse,
            sku: c.sku,
            available: c.available.to_string().parse().unwrap_or(0.0),
            counted_at: c.counted_at,
        })
        .collect();
    let n = levels.len();
    let applied = desk.put_stock(tenant, levels).await?;
    tracing::info!(%tenant, counts = n, changed = applied.changed, released = applied.released.len(), "WMS stock counts taken");
    Ok(Some(waypost_intake::DocumentReceipt {
        events: 0,
        accepted: applied.changed,
        duplicates: n - applied.changed.min(n),
        ..waypost_intake::DocumentReceipt::default()
    }))
}

/// The largest body any webhook may send, whatever its endpoint's own limit: vendor documents
/// may be larger than API requests (an EDI interchange).
pub(crate) fn route_body_limit(state: &AppState) -> usize {
    let api = state.limits.max_body_bytes;
    state
        .webhooks
        .max_body_bytes(waypost_adapters::MAX_DOCUMENT_BYTES.min(api.max(1 << 20) * 4))
}

/// A delivery whose headers passed every check: whose it is and how much body it may send.
struct Gate<'s> {
    source: Source,
    tenant: TenantId,
    endpoint: Option<&'s Endpoint>,
    limit: usize,
}

/// Counts and logs a delivery refused for `reason`, and hands its problem back.
fn refused(
    state: &AppState,
    source: Source,
    tenant: &TenantId,
    reason: &'static str,
    problem: Problem,
) -> Problem {
    state
        .metrics
        .webhook_auth_failures
        .add([source.name(), reason], 1);
    tracing::warn!(source = source.name(), tenant = %tenant, reason, "webhook refused");
    problem
}

/// Everything decided from the request's head: source, tenant, credentials (a key or a
/// certificate of the tenant with the ingest scope, or, for a signed delivery, a configured
/// secret and the headers the scheme signs with), the address allow-list, the declared length.
fn admit<'s>(
    state: &'s AppState,
    source: &str,
    query: &WebhookQuery,
    caller: Option<&Caller>,
    client: ClientAddr,
    headers: &HeaderMap,
) -> Result<Gate<'s>, Problem> {
    let source: Source = source
        .parse()
        .map_err(|e: waypost_adapters::UnknownSource| Problem::not_found(e.to_string()))?;
    let tenant = match (&query.tenant, caller) {
        (Some(t), _) => TenantId::new(t.as_str())
            .map_err(|e| Problem::bad_request("bad-tenant", format!("tenant {t:?}: {e}")))?,
        (None, Some(c)) => c.tenant.clone(),
        (None, None) => {
            state.metrics.reject(Rejection::Unauthorized, 1);
            return Err(Problem::unauthorized(
                "send an API key (Authorization: Bearer), or name the tenant with ?tenant= on a signed delivery",
            ));
        }
    };
    let fail =
        |reason: &'static str, problem: Problem| refused(state, source, &tenant, reason, problem);
    if let Some(c) = caller {
        if c.tenant != tenant {
            return Err(fail(
                "tenant",
                Problem::forbidden("this API key belongs to another tenant"),
            ));
        }
        c.require(Scope::Ingest, state)?;
        if let Some(bound) = c.bound_source()
            && bound.as_str() != source.name()
        {
            return Err(fail(
                "source",
                Problem::forbidden(format!(
                    "this client certificate may deliver {bound} documents, not {source}"
                )),
            ));
        }
    }
    let endpoint = state.webhooks.endpoint(&tenant, source);
    if let Some(ep) = endpoint
        && !ep.allow.is_empty()
    {
        let ip = client.ip();
        if !ip.is_some_and(|ip| ep.allow.iter().any(|n| n.contains(ip))) {
            return Err(fail(
                "address",
                Problem::forbidden(format!(
                    "{} may not deliver {source} documents for this tenant",
                    ip.map_or("this address".to_owned(), |i| i.to_string())
                )),
            ));
        }
    }
    if caller.is_none() {
        let Some(scheme) = endpoint.and_then(|ep| ep.scheme.as_ref().map(|s| (ep, s))) else {
            return Err(fail(
                "credentials",
                Problem::unauthorized(format!(
                    "no signature scheme is configured for {source} deliveries to this tenant: send an API key"
                )),
            ));
        };
        let (ep, scheme) = scheme;
        if let Err(e) = signature::precheck(scheme, &ep.secrets, &HeaderView(headers)) {
            state.metrics.reject(Rejection::Unauthorized, 1);
            return Err(fail(
                "signature",
                Problem::unauthorized(format!("webhook signature refused: {e}")),
            ));
        }
    }
    let route = route_body_limit(state);
    let limit = endpoint
        .and_then(|ep| ep.max_body_bytes)
        .map_or(route, |m| m.min(route));
    if let Some(declared) = content_length(headers)
        && declared > limit
    {
        return Err(too_large(
            state,
            format!("{declared} bytes declared; {source} deliveries are limited to {limit}"),
        ));
    }
    Ok(Gate {
        source,
        tenant,
        endpoint,
        limit,
    })
}

struct HeaderView<'a>(&'a HeaderMap);

impl Headers for HeaderView<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Checks the vendor's signature; the delivery id it yields (if any) guards against replays.
fn verify(
    state: &AppState,
    ep: &Endpoint,
    headers: &HeaderMap,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Option<String>, Problem> {
    let Some(scheme) = &ep.scheme else {
        return Ok(None);
    };
    match signature::verify(
        scheme,
        &ep.secrets,
        &HeaderView(headers),
        body,
        now,
        ep.tolerance,
    ) {
        Ok(v) => {
            if v.secret_index > 0 {
                // Operators rotating a secret watch for this to stop before removing the old.
                tracing::info!(
                    secret_index = v.secret_index,
                    "webhook verified by an older secret"
                );
            }
            Ok(v.delivery_id)
        }
        Err(e) => {
            state.metrics.reject(Rejection::Unauthorized, 1);
            // The error names headers and reasons, never secret material: safe to return.
            Err(Problem::unauthorized(format!(
                "webhook signature refused: {e}"
            )))
        }
    }
}
