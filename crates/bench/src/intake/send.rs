//! Sending the day: request `k` is due when the orders before it would have arrived at the
//! offered rate (computed from the start, so rounding never drifts the rate), sent by a
//! bounded pool; a 429 is waited out and sent again, the same body, as the API asks.

use super::watch::Board;
use anyhow::Context as _;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use waypost_orders::channels::signature::sign_b64;
use waypost_sim::orders_in::{Delivery, Route};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one request keeps being retried through 429s and 503s before it is an error.
const GIVE_UP: Duration = Duration::from_secs(120);
const ERROR_SAMPLES: u64 = 5;

pub struct Target {
    pub client: reqwest::Client,
    pub base: String,
    pub auth: String,
    /// The tenant signed webhooks name (`?tenant=`): the key's.
    pub tenant: String,
}

/// What the server answered for one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    Accepted,
    Backordered,
    Held,
    Rejected,
    Cancelled,
}

impl Ack {
    /// The intake status, as the truth names it.
    pub fn name(self) -> &'static str {
        match self {
            Ack::Accepted => "accepted",
            Ack::Backordered => "backordered",
            Ack::Held => "held",
            Ack::Rejected => "rejected",
            Ack::Cancelled => "cancelled",
        }
    }

    fn parse(status: &str) -> Option<Ack> {
        Some(match status {
            "accepted" => Ack::Accepted,
            "backordered" => Ack::Backordered,
            "held" => Ack::Held,
            "rejected" => Ack::Rejected,
            "cancelled" => Ack::Cancelled,
            _ => return None,
        })
    }
}

/// One order's answer: its status and the checks that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub ack: Ack,
    pub because: Vec<String>,
}

pub struct Sent {
    /// Per order of the day: its answer, `None` when it was refused or failed.
    pub acks: Vec<Option<Answer>>,
    pub throttled: u64,
}

#[derive(Deserialize)]
struct Receipt {
    results: Vec<ResultRow>,
}

#[derive(Deserialize)]
struct ResultRow {
    order_id: String,
    status: String,
    #[serde(default)]
    because: Vec<String>,
}

/// Sends `deliveries` (their orders named `ids`), at `rate` orders per second or, without
/// one, as fast as `concurrency` requests in flight allow. A delivery marked
/// `after_earlier` (a planted duplicate) waits until every request before it was answered.
pub async fn replay(
    target: &Target,
    deliveries: &[Delivery],
    ids: Vec<String>,
    board: &Arc<Board>,
    rate: Option<f64>,
    concurrency: usize,
) -> anyhow::Result<Sent> {
    let target = Arc::new(Target {
        client: target.client.clone(),
        base: target.base.clone(),
        auth: target.auth.clone(),
        tenant: target.tenant.clone(),
    });
    let orders = ids.len();
    // A std mutex: each sender locks it once, briefly, after its answer; never across an await.
    let acks: Arc<Mutex<Vec<Option<Answer>>>> = Arc::new(Mutex::new(vec![None; orders]));
    let throttled = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let ids = Arc::new(ids);
    let slots = Arc::new(Semaphore::new(concurrency));
    let start = tokio::time::Instant::now() + Duration::from_millis(10);
    let mut before = 0usize;
    let mut tasks = JoinSet::new();
    let total = deliveries.len();
    for (k, request) in deliveries.iter().enumerate() {
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(before as f64 / rate);
            tokio::time::sleep_until(due).await;
        }
        before += request.orders.len();
        if request.after_earlier {
            while tasks.join_next().await.is_some() {}
        }
        let permit = slots.clone().acquire_owned().await.context("sender pool")?;
        let (target, board, acks, throttled, errors, ids) = (
            target.clone(),
            board.clone(),
            acks.clone(),
            throttled.clone(),
            errors.clone(),
            ids.clone(),
        );
        let request = request.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let at = board.ns(Instant::now());
            for &i in &request.orders {
                board.mark_sent(i, at);
            }
            match post(&target, &request, &throttled).await {
                Ok(rows) => {
                    let Ok(mut acks) = acks.lock() else { return };
                    for row in rows {
                        // Results name orders by Waypost's id; the day knows which is which.
                        if let Some(&i) = request.orders.iter().find(|&&i| ids[i] == row.order_id) {
                            acks[i] = Ack::parse(&row.status).map(|ack| Answer {
                                ack,
                                because: row.because,
                            });
                        }
                    }
                }
                Err(e) => {
                    if errors.fetch_add(1, Relaxed) < ERROR_SAMPLES {
                        eprintln!(
                            "bench: intake: {} request failed: {e:#}",
                            request.route.name()
                        );
                    }
                }
            }
        });
        while tasks.try_join_next().is_some() {}
        if (k + 1) % 1000 == 0 {
            eprintln!("bench: intake: {}/{total} requests sent", k + 1);
        }
    }
    while tasks.join_next().await.is_some() {}
    let acks = Arc::try_unwrap(acks)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .context("the senders still hold the answers")?;
    Ok(Sent {
        acks,
        throttled: throttled.load(Relaxed),
    })
}

async fn post(
    target: &Target,
    request: &Delivery,
    throttled: &AtomicU64,
) -> anyhow::Result<Vec<ResultRow>> {
    let url = match request.route {
        Route::Api => format!("{}/v1/orders", target.base),
        Route::Shopify | Route::Woocommerce => format!(
            "{}/v1/channels/{}/orders?tenant={}",
            target.base,
            request.route.name(),
            target.tenant
        ),
        Route::X12 => format!("{}/v1/channels/x12/orders", target.base),
    };
    let give_up = Instant::now() + GIVE_UP;
    loop {
        let mut r = target
            .client
            .post(&url)
            .body(request.body.clone())
            .timeout(REQUEST_TIMEOUT);
        // Signed webhooks carry no key: the signature is their credential.
        match request.route.signed() {
            Some((header, secret)) => {
                r = r.header(header, sign_b64(&request.body, secret.as_bytes()));
            }
            None => r = r.header(reqwest::header::AUTHORIZATION, &target.auth),
        }
        for (k, v) in &request.headers {
            r = r.header(*k, v.as_str());
        }
        let response = r.send().await.context("sending")?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || status == reqwest::StatusCode::SERVICE_UNAVAILABLE
        {
            throttled.fetch_add(1, Relaxed);
            let wait = retry_after(response.headers());
            if Instant::now() + wait > give_up {
                anyhow::bail!("still {status} after {GIVE_UP:?}");
            }
            tokio::time::sleep(wait).await;
            continue;
        }
        let text = response.text().await.context("reading the answer")?;
        if !status.is_success() {
            anyhow::bail!("{status}: {}", crate::stream::truncate(&text, 400));
        }
        let receipt: Receipt = serde_json::from_str(&text).with_context(|| {
            format!(
                "an unexpected answer: {}",
                crate::stream::truncate(&text, 400)
            )
        })?;
        return Ok(receipt.results);
    }
}

/// `Retry-After` in seconds; 100 ms when it is missing or zero.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map_or(Duration::from_millis(100), Duration::from_secs)
}

/// Whether the order book explains `order_id` (`GET /v1/orders/{id}/intake` answers 200).
pub async fn explained(target: &Target, order_id: &str) -> anyhow::Result<bool> {
    let r = target
        .client
        .get(format!("{}/v1/orders/{order_id}/intake", target.base))
        .header(reqwest::header::AUTHORIZATION, &target.auth)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .context("GET /v1/orders/{id}/intake")?;
    Ok(r.status().is_success())
}
