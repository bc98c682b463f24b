//! The HTTP receivers on the simulator's port: the portal's webhook endpoint, the Twilio-like
//! SMS gateway, and the report.

use super::{Channel, Delivery, Extras, Receivers, Verdict, delivery};
use crate::server::{form, json_response};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;

type St = State<Arc<Receivers>>;

pub(crate) fn router(r: Arc<Receivers>) -> Router {
    Router::new()
        .route("/portal/{tenant}/{hook}", post(portal))
        .route(
            "/twilio/2010-04-01/Accounts/{sid}/Messages.json",
            post(twilio),
        )
        .route("/receivers/report", get(report))
        .route("/receivers/accepted", get(accepted))
        .with_state(r)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

async fn report(State(r): St) -> Response {
    let body = serde_json::to_value(r.report()).unwrap_or(Value::Null);
    json_response(StatusCode::OK, &body)
}

/// Every accepted key, one JSON object per line.
async fn accepted(State(r): St) -> Response {
    let mut out = Vec::new();
    for k in r.accepted() {
        if serde_json::to_writer(&mut out, &k).is_ok() {
            out.push(b'\n');
        }
    }
    let mut resp = Response::new(Body::from(out));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    resp
}

/// What a webhook's JSON body says, per the notification envelope.
struct Envelope {
    order_id: String,
    seq: u64,
    trigger: String,
    changed_at: Option<Timestamp>,
    transition: bool,
}

fn envelope(body: &[u8]) -> Result<Envelope, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let data = v.get("data").ok_or("no data object")?;
    let text = |k: &str| data.get(k).and_then(Value::as_str);
    let order_id = text("order_id").ok_or("no data.order_id")?.to_owned();
    let changed_at = text("changed_at")
        .or_else(|| text("opened_at"))
        .and_then(|t| t.parse().ok());
    match v.get("type").and_then(Value::as_str) {
        Some("order.status_changed") => Ok(Envelope {
            order_id,
            seq: data
                .get("seq")
                .and_then(Value::as_u64)
                .ok_or("no data.seq")?,
            trigger: text("status").ok_or("no data.status")?.to_owned(),
            changed_at,
            transition: true,
        }),
        Some("alert.raised") => Ok(Envelope {
            order_id,
            seq: data
                .get("alert_id")
                .and_then(alert_key)
                .ok_or("no data.alert_id")?,
            trigger: "alert.raised".to_owned(),
            changed_at,
            transition: false,
        }),
        Some(other) => Err(format!("unknown type {other:?}")),
        None => Err("no type".to_owned()),
    }
}

/// An alert's id as a number to key it by: the first 64 bits of Waypost's 32 hex digits
/// (random, so as unique as the whole), or an integer as older versions sent.
fn alert_key(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        let s = v.as_str()?;
        (s.len() >= 16)
            .then(|| u64::from_str_radix(s.get(..16)?, 16).ok())
            .flatten()
    })
}

async fn portal(
    State(r): St,
    Path((tenant, hook)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ch = Channel::Webhook;
    if r.arrive(ch) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "portal outage");
    }
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let msg_id = match r.verify(&tenant, &pairs, &body) {
        None => {
            r.count(ch, |c| c.malformed += 1);
            return error(StatusCode::NOT_FOUND, "unknown tenant");
        }
        Some(Err(e)) => {
            r.count(ch, |c| c.bad_signatures += 1);
            return error(StatusCode::UNAUTHORIZED, &e.to_string());
        }
        Some(Ok(v)) => v.delivery_id.unwrap_or_default(),
    };
    let env = match envelope(&body) {
        Ok(env) => env,
        Err(why) => {
            r.count(ch, |c| c.malformed += 1);
            return error(StatusCode::BAD_REQUEST, &why);
        }
    };
    let d = Delivery {
        channel: ch,
        tenant: &tenant,
        endpoint: &hook,
        order_id: &env.order_id,
        seq: env.seq,
        trigger: &env.trigger,
        msg_id: &msg_id,
        changed_at: env.changed_at,
        transition: env.transition,
    };
    match r.deliver(&d) {
        Verdict::Injected(code) => error(status(code), "injected failure"),
        Verdict::Accepted(_) => json_response(StatusCode::OK, &json!({ "received": true })),
    }
}

/// Twilio's error body.
fn twilio_error(code: u16, twilio_code: u32, message: &str) -> Response {
    json_response(
        status(code),
        &json!({
            "code": twilio_code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{twilio_code}"),
            "status": code,
        }),
    )
}

fn basic_auth(h: &HeaderMap) -> Option<(String, String)> {
    let b = header(h, "authorization")?.strip_prefix("Basic ")?;
    let text = String::from_utf8(STANDARD.decode(b.trim()).ok()?).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

async fn twilio(
    State(r): St,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ch = Channel::Sms;
    if r.arrive(ch) {
        return twilio_error(503, 20503, "Service Unavailable");
    }
    let (want_sid, want_token) = r.sms_credentials();
    let authed = basic_auth(&headers)
        .is_some_and(|(user, pass)| user == want_sid && pass == want_token && sid == want_sid);
    if !authed {
        r.count(ch, |c| c.unauthorized += 1);
        return twilio_error(401, 20003, "Authenticate");
    }
    let f = form(&body);
    let field = |k: &str| {
        f.get(k)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    };
    let (Some(to), Some(from), Some(text)) = (field("To"), field("From"), field("Body")) else {
        r.count(ch, |c| c.malformed += 1);
        return twilio_error(400, 21604, "To, From and Body are required");
    };
    let msg_id = header(&headers, "x-waypost-notification-id").map(str::trim);
    let order = header(&headers, "x-waypost-order").map(str::trim);
    let seq = header(&headers, "x-waypost-transition").and_then(|s| s.trim().parse().ok());
    let (Some(msg_id), Some(order), Some(seq)) = (msg_id, order, seq) else {
        r.count(ch, |c| c.malformed += 1);
        return twilio_error(
            400,
            21620,
            "X-Waypost-Notification-Id, X-Waypost-Order and X-Waypost-Transition are required",
        );
    };
    let extras = Extras {
        tenant: header(&headers, "x-waypost-tenant"),
        trigger: header(&headers, "x-waypost-trigger"),
        changed_at: header(&headers, "x-waypost-changed-at"),
    };
    let d = delivery(ch, to, order, seq, msg_id, &extras);
    match r.deliver(&d) {
        Verdict::Injected(code) => twilio_error(code, 20500, "Internal Server Error"),
        Verdict::Accepted(_) => {
            let sm = format!(
                "SM{}",
                &hex::encode(Sha256::digest(msg_id.as_bytes()))[..32]
            );
            let now = r.now();
            let date = now.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string();
            let body = json!({
                "sid": sm,
                "account_sid": sid,
                "to": to,
                "from": from,
                "body": text,
                "status": "queued",
                "direction": "outbound-api",
                "num_segments": "1",
                "num_media": "0",
                "api_version": "2010-04-01",
                "date_created": date,
                "date_updated": date,
                "date_sent": null,
                "price": null,
                "price_unit": "USD",
                "error_code": null,
                "error_message": null,
                "uri": format!("/2010-04-01/Accounts/{sid}/Messages/{sm}.json"),
            });
            json_response(StatusCode::CREATED, &body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_of_both_types_and_refusals() {
        let e = envelope(
            br#"{"type":"order.status_changed","timestamp":"2026-11-26T10:00:00Z",
                 "data":{"tenant":"acme","order_id":"SO-1","seq":7,"status":"shipped",
                         "changed_at":"2026-11-26T09:59:00Z"}}"#,
        );
        let e = e.unwrap_or_else(|why| panic!("{why}"));
        assert_eq!(
            (e.order_id.as_str(), e.seq, e.trigger.as_str()),
            ("SO-1", 7, "shipped")
        );
        assert!(e.transition);
        assert!(e.changed_at.is_some());
        let a = envelope(
            br#"{"type":"alert.raised","data":{"order_id":"SO-1","alert_id":3,"rule":"r"}}"#,
        );
        let a = a.unwrap_or_else(|why| panic!("{why}"));
        assert_eq!(
            (a.seq, a.trigger.as_str(), a.transition),
            (3, "alert.raised", false)
        );
        let a = envelope(
            br#"{"type":"alert.raised","data":{"order_id":"SO-1","alert_id":"00000000000000ff0123456789abcdef","rule":"r"}}"#,
        );
        assert_eq!(a.map(|a| a.seq), Ok(255));
        for bad in [
            &b"nope"[..],
            br#"{"data":{"order_id":"SO-1","seq":1,"status":"x"}}"#,
            br#"{"type":"order.status_changed","data":{"seq":1,"status":"x"}}"#,
            br#"{"type":"order.status_changed","data":{"order_id":"SO-1","status":"x"}}"#,
            br#"{"type":"order.created","data":{"order_id":"SO-1"}}"#,
        ] {
            assert!(envelope(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
