//! The WMS's webhook sender: each event is POSTed to Waypost when it becomes visible, signed
//! with Standard Webhooks, retried a few times on 5xx, 429 and connection errors, and not sent
//! at all inside an outage window (only the feed recovers those). Copies are pushed again
//! under the same `webhook-id`, which Waypost recognizes as a replay.

use crate::server::Shared;
use crate::snippet::webhook_secret;
use crate::stats::Counters;
use crate::vendor::wms;
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use waypost_adapters::signature::{Scheme, Secret, sign};

/// One delivery to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Push {
    at: Timestamp,
    order: usize,
    event: usize,
    copy: bool,
}

pub(crate) fn spawn(shared: Arc<Shared>, engine: String) -> JoinHandle<()> {
    tokio::spawn(run(shared, engine))
}

fn schedule(shared: &Shared) -> Vec<Push> {
    let world = &shared.world;
    let in_outage = |t: Timestamp| world.outages.iter().any(|&(a, b)| a <= t && t < b);
    let mut pushes = Vec::new();
    for (oi, o) in world.orders.iter().enumerate() {
        for (ei, e) in o.wms.iter().enumerate() {
            for (at, copy) in
                std::iter::once((e.visible_at, false)).chain(e.copy_at.map(|c| (c, true)))
            {
                if in_outage(at) {
                    Counters::bump(&shared.stats.pushes_skipped_outage);
                    continue;
                }
                pushes.push(Push {
                    at,
                    order: oi,
                    event: ei,
                    copy,
                });
            }
        }
    }
    pushes.sort();
    pushes
}

async fn run(shared: Arc<Shared>, engine: String) {
    // reqwest's rustls may have no provider of its own (see the connectors' `tls` feature):
    // ring, unless the process chose one already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "webhook client could not be built");
            return;
        }
    };
    let limit = Arc::new(Semaphore::new(shared.cfg.push_concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for push in schedule(&shared) {
        let wait = push.at.duration_since(shared.now());
        if wait.is_positive() {
            tokio::time::sleep(wait.unsigned_abs()).await;
        }
        let Ok(permit) = limit.clone().acquire_owned().await else {
            break;
        };
        let (shared, client, engine) = (shared.clone(), client.clone(), engine.clone());
        tasks.spawn(async move {
            deliver(&shared, &client, &engine, push).await;
            drop(permit);
        });
        // Reap finished deliveries as we go so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

enum Outcome {
    Done,
    Refused,
    Retry(Duration),
}

async fn deliver(shared: &Shared, client: &reqwest::Client, engine: &str, push: Push) {
    let world = &shared.world;
    let Some(order) = world.orders.get(push.order) else {
        return;
    };
    let Some(event) = order.wms.get(push.event) else {
        return;
    };
    let tenant = world
        .tenants
        .get(order.tenant)
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let planted = event.planted_malformed && !push.copy;
    let mut body = wms::event(order, event).to_string().into_bytes();
    let mut id = event.event_id.clone();
    if planted {
        // Cut mid-document: no retry fixes it, Waypost keeps it as a rejected document. Its own
        // id, so the replay window cannot swallow a later good delivery of the event.
        body.truncate(body.len() / 2);
        id.push_str(".malformed");
    }
    let Ok(secret) = Secret::from_config(&webhook_secret(world.seed, &tenant)) else {
        return;
    };
    let url = format!("{engine}/v1/webhooks/wms?tenant={tenant}");
    let attempts = shared.cfg.push_attempts.max(1);
    for attempt in 0..attempts {
        let outcome = attempt_once(client, &url, &secret, &id, &body, shared.now()).await;
        match outcome {
            Outcome::Done => {
                Counters::bump(&shared.stats.pushes_ok);
                if planted {
                    Counters::bump(&shared.stats.malformed_pushed);
                }
                return;
            }
            Outcome::Refused => {
                if planted {
                    Counters::bump(&shared.stats.malformed_pushed);
                } else {
                    Counters::bump(&shared.stats.pushes_failed);
                }
                return;
            }
            Outcome::Retry(wait) if attempt + 1 < attempts => {
                Counters::bump(&shared.stats.push_retries);
                tokio::time::sleep(wait.max(Duration::from_millis(200) * 2u32.pow(attempt))).await;
            }
            Outcome::Retry(_) => {}
        }
    }
    Counters::bump(&shared.stats.pushes_failed);
}

async fn attempt_once(
    client: &reqwest::Client,
    url: &str,
    secret: &Secret,
    id: &str,
    body: &[u8],
    now: Timestamp,
) -> Outcome {
    let Ok(headers) = sign(&Scheme::StandardWebhooks, secret, id, body, now) else {
        return Outcome::Refused;
    };
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    match req.send().await {
        Ok(r) if r.status().is_success() => Outcome::Done,
        Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {
            let after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(Duration::ZERO, Duration::from_secs);
            Outcome::Retry(after)
        }
        Ok(r) => {
            tracing::debug!(status = %r.status(), id, "webhook refused");
            Outcome::Refused
        }
        Err(e) => {
            tracing::debug!(error = %e, id, "webhook delivery failed");
            Outcome::Retry(Duration::ZERO)
        }
    }
}
