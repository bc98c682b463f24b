//! `POST /v1/channels/{channel}/orders`: a sales channel's own document, as it sends it.
//!
//! Authentication is an API key with the ingest scope, or, for Shopify and WooCommerce
//! webhooks, the channel's HMAC over the raw body with a secret of the account it names
//! (`?tenant=` then names the tenant). Everything that can refuse the request from its head is
//! checked before a byte of the body is read.

use super::{desk, receipt, unreadable};
use crate::AppState;
use crate::auth::Caller;
use crate::dto::orders::OrdersReceipt;
use crate::problem::Problem;
use crate::routes::body_read::read_within;
use axum::Json;
use axum::body::{Body, HttpBody};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::IntoParams;
use waypost_domain::TenantId;
use waypost_orders::channels::{self, signature};
use waypost_orders::{Channel, ChannelOrder};
use waypost_store::Scope;

#[derive(Debug, Deserialize, IntoParams)]
pub struct ChannelQuery {
    /// The tenant, for a signed webhook that carries no API key.
    pub tenant: Option<String>,
    /// Forces the account (otherwise the document or its headers name it).
    pub account: Option<String>,
    /// The store the document comes from, when neither it nor its headers say (a Magento
    /// base URL, a WooCommerce site).
    pub store: Option<String>,
}

/// The headers a channel's webhook signs with and names its store and delivery in.
struct Hook {
    signature: &'static str,
    store: &'static str,
    delivery: Option<&'static str>,
}

fn hook(channel: Channel) -> Option<Hook> {
    match channel {
        Channel::Shopify => Some(Hook {
            signature: "x-shopify-hmac-sha256",
            store: "x-shopify-shop-domain",
            delivery: Some("x-shopify-webhook-id"),
        }),
        // WooCommerce makes a new delivery id for every attempt: it identifies nothing, so
        // duplicates fall out on the content instead.
        Channel::Woocommerce => Some(Hook {
            signature: "x-wc-webhook-signature",
            store: "x-wc-webhook-source",
            delivery: None,
        }),
        _ => None,
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Take orders in a sales channel's own format.
///
/// `shopify`: an `orders/create`, `orders/updated` or `orders/cancelled` webhook body (or a
/// REST or GraphQL Admin API response); `woocommerce`: an order webhook or `GET /orders`;
/// `magento`: `GET /V1/orders/{id}` or a search result; `x12`: an 850 interchange, answered
/// with its 997 and an 855 per purchase order; `api`, `csv`, `jsonl`: Waypost's order schema
/// (what `waypost orders import` sends). Each order is judged and stored as `POST /v1/orders`
/// describes.
#[utoipa::path(
    post, path = "/v1/channels/{channel}/orders", tag = "orders",
    params(
        ("channel" = String, Path, description = "shopify, woocommerce, bigcommerce (its webhook: the order is fetched), magento, x12, api, csv or jsonl"),
        ChannelQuery,
    ),
    request_body(content = String, description = "The channel's document, exactly as it sends it", content_type = "*/*"),
    responses(
        (status = 200, description = "Every order's outcome (and for X12 the 997 and 855s)", body = OrdersReceipt),
        (status = 400, description = "Bad tenant name", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key or signature", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A key without the ingest scope, or of another tenant", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown channel, or one whose orders are polled", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "A BigCommerce order could not be fetched; the webhook is retried", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The document cannot be read; nothing of it was stored", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Order intake is full; retry after Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Shutting down or the store failed; retry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ())
)]
pub async fn post_channel_orders(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    query: Result<Query<ChannelQuery>, QueryRejection>,
    caller: Option<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<OrdersReceipt>, Problem> {
    // A refusal before the body is read leaves it unread: the connection cannot carry another
    // request then.
    let ended = body.is_end_stream();
    let unread = move |p: Problem| if ended { p } else { p.close_connection() };
    let Query(query) = query.map_err(|e| unread(e.into()))?;
    let (channel, tenant, signed) =
        admit(&state, &channel, &query, caller.as_ref(), &headers).map_err(unread)?;
    let desk = desk(&state).map_err(unread)?.clone();
    let limit = state
        .limits
        .max_body_bytes
        .saturating_mul(4)
        .min(channels::common::MAX_DOCUMENT_BYTES);
    let (body, _reservation) = read_within(
        &state,
        &tenant,
        &headers,
        body,
        limit,
        &format!("{channel} orders"),
    )
    .await?;
    let store = query
        .store
        .clone()
        .or_else(|| hook(channel).and_then(|h| header(&headers, h.store).map(str::to_string)));
    if let Some(h) = signed {
        let secrets_owner = desk.settings(&tenant);
        let secrets = secrets_owner.webhook_secrets(channel, store.as_deref());
        let given = header(&headers, h.signature).unwrap_or_default();
        if !secrets
            .iter()
            .any(|s| signature::hmac_sha256_b64(&body, s, given))
        {
            tracing::warn!(%tenant, %channel, "order webhook refused: signature");
            return Err(Problem::unauthorized(format!(
                "the {} header does not sign this body with a secret of the {channel} account {}",
                h.signature,
                store.as_deref().unwrap_or("(none named)")
            )));
        }
    }
    let delivery = hook(channel)
        .and_then(|h| h.delivery)
        .and_then(|d| header(&headers, d))
        .map(str::to_string);
    let account = query.account.clone();
    if channel == Channel::X12 {
        return x12_orders(&state, &desk, &tenant, &body, account).await;
    }
    if channel == Channel::Bigcommerce {
        return bigcommerce_notice(&state, &desk, &tenant, &body).await;
    }
    let orders = read(channel, &body, store.as_deref())?;
    let numbered = orders
        .into_iter()
        .enumerate()
        .map(|(i, o)| (i as u64, o))
        .collect();
    let batch = desk
        .submit_batch(&tenant, channel, numbered, account, delivery)
        .await?;
    Ok(Json(receipt(batch)))
}

/// The channel, tenant and (for a signed webhook) its hook, from the request's head alone.
fn admit(
    state: &AppState,
    channel: &str,
    query: &ChannelQuery,
    caller: Option<&Caller>,
    headers: &HeaderMap,
) -> Result<(Channel, TenantId, Option<Hook>), Problem> {
    let channel = Channel::parse(channel).ok_or_else(|| {
        Problem::not_found(format!(
            "no order channel {channel:?}; channels: shopify, woocommerce, magento, x12, api, csv, jsonl"
        ))
    })?;
    if channel == Channel::Amazon {
        return Err(Problem::not_found(format!(
            "{channel} orders are fetched from the channel's API by an [[order_channels]] poller, not posted"
        )));
    }
    match (caller, &query.tenant) {
        (Some(c), t) => {
            if let Some(t) = t
                && t != c.tenant.as_str()
            {
                return Err(Problem::forbidden(format!(
                    "the key is of tenant {}, not {t:?}",
                    c.tenant
                )));
            }
            c.require(Scope::Ingest, state)?;
            Ok((channel, c.tenant.clone(), None))
        }
        (None, Some(t)) => {
            let tenant = TenantId::new(t.as_str())
                .map_err(|e| Problem::bad_request("bad-tenant", format!("tenant {t:?}: {e}")))?;
            let Some(h) = hook(channel) else {
                return Err(Problem::unauthorized(format!(
                    "{channel} orders need an API key with the ingest scope"
                )));
            };
            let takes = state
                .orders
                .as_ref()
                .is_some_and(|d| d.settings(&tenant).takes_signed(channel));
            if !takes || header(headers, h.signature).is_none() {
                return Err(Problem::unauthorized(format!(
                    "send an API key, or a {} header signed with a webhook secret of one of the tenant's {channel} accounts",
                    h.signature
                )));
            }
            Ok((channel, tenant, Some(h)))
        }
        (None, None) => Err(Problem::unauthorized(
            "send an API key with the ingest scope, or name the tenant (?tenant=) of a signed webhook",
        )),
    }
}

fn read(channel: Channel, body: &[u8], store: Option<&str>) -> Result<Vec<ChannelOrder>, Problem> {
    let read = match channel {
        Channel::Shopify => {
            let graphql = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .is_some_and(|v| {
                    v.get("data").is_some() || v.get("errors").is_some_and(|e| e.is_array())
                });
            if graphql {
                channels::shopify::graphql(body, store)
            } else {
                channels::shopify::rest(body, store)
            }
        }
        Channel::Woocommerce => channels::woocommerce::read(body, store),
        Channel::Magento => channels::magento::read(body, store),
        Channel::Api | Channel::Csv | Channel::Jsonl => channels::generic::read(body),
        Channel::X12 | Channel::Amazon | Channel::Bigcommerce => {
            return Err(Problem::internal(format!("{channel} is not read here")));
        }
    };
    read.map_err(unreadable)
}

/// A BigCommerce webhook carries only the order's id: the tenant's BigCommerce poller fetches
/// the order, its products and its shipping addresses, and submits it before the answer.
async fn bigcommerce_notice(
    state: &AppState,
    desk: &waypost_order_intake::OrderDesk,
    tenant: &TenantId,
    body: &[u8],
) -> Result<Json<OrdersReceipt>, Problem> {
    use waypost_connectors::orders::NoticeError;
    let notice = channels::bigcommerce::notice(body).map_err(unreadable)?;
    let Some(pollers) = &state.order_pollers else {
        return Err(Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "no-order-channel",
            "No BigCommerce channel",
            "a BigCommerce webhook names an order to fetch: configure an [[order_channels]] entry for this store",
        ));
    };
    pollers
        .bigcommerce_notice(desk, tenant, &notice)
        .await
        .map_err(|e| match e {
            NoticeError::Busy { retry_after } => Problem::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "orders-busy",
                "Order intake is busy",
                e.to_string(),
            )
            .retry_after(retry_after.as_secs().max(1)),
            NoticeError::UnknownStore { .. } => Problem::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "no-order-channel",
                "No BigCommerce channel",
                e.to_string(),
            ),
            NoticeError::Failed(_) => Problem::new(
                axum::http::StatusCode::BAD_GATEWAY,
                "fetch-failed",
                "The order could not be fetched",
                format!("{e}; BigCommerce retries the webhook"),
            ),
        })?;
    Ok(Json(OrdersReceipt {
        results: Vec::new(),
        refused: Vec::new(),
        acknowledgment: None,
        po_acknowledgments: Vec::new(),
    }))
}

/// An 850 interchange: its orders, its 997 and an 855 per purchase order.
async fn x12_orders(
    state: &AppState,
    desk: &waypost_order_intake::OrderDesk,
    tenant: &TenantId,
    body: &[u8],
    account: Option<String>,
) -> Result<Json<OrdersReceipt>, Problem> {
    let answer = desk
        .x12(tenant, body, account, state.transport_clock.now())
        .await?;
    let mut r = receipt(answer.batch);
    r.acknowledgment = Some(answer.ack_997);
    r.po_acknowledgments = answer.acks_855;
    Ok(Json(r))
}
