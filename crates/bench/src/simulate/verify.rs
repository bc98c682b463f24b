//! The end-to-end check of a simulated world: when each partner event became visible in the
//! engine's change streams (status latency), and whether every order's final state and status
//! history equal the ground truth once the world has ended.

use crate::Host;
use crate::sse::{SseMessage, SseParser};
use anyhow::{Context, bail};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use waypost_adapters::Source;
use waypost_domain::Clock;
use waypost_sim::{Sim, Truth};

/// `(tenant, source, event_id)`: how the truth and the engine both name an event.
type EventKey = (String, String, String);

/// When each event first caused a change.
type Seen = Arc<Mutex<HashMap<EventKey, jiff::Timestamp>>>;
/// Every change, in stream order.
type Changes = Arc<Mutex<Vec<super::notifications::SeenChange>>>;

/// Follows each tenant's change stream and notes when each event first caused a change.
pub struct Watch {
    seen: Seen,
    /// Every state change, as the notifications must tell of them.
    changes: Changes,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .context("building the HTTP client")
}

async fn open(
    http: &reqwest::Client,
    engine: &str,
    key: &str,
    last: Option<u64>,
) -> anyhow::Result<reqwest::Response> {
    let mut req = http
        .get(format!("{engine}/v1/stream"))
        .bearer_auth(key)
        .header(reqwest::header::ACCEPT, "text/event-stream");
    if let Some(seq) = last {
        req = req.header("Last-Event-ID", seq.to_string());
    }
    let resp = req.send().await.context("opening the change stream")?;
    if !resp.status().is_success() {
        bail!("the change stream answered {}", resp.status());
    }
    Ok(resp)
}

impl Watch {
    /// Returns once every tenant's stream is open, so nothing pushed after it is missed.
    /// Changes are stamped with `clock` (the wall's) as they arrive.
    pub async fn start(
        engine: &str,
        keys: &[(String, String)],
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Watch> {
        let http = client()?;
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let changes = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (tenant, key) in keys {
            let first = open(&http, engine, key, None).await?;
            tasks.push(tokio::spawn(follow(
                http.clone(),
                engine.to_owned(),
                tenant.clone(),
                key.clone(),
                first,
                (seen.clone(), changes.clone()),
                clock.clone(),
            )));
        }
        Ok(Watch {
            seen,
            changes,
            tasks,
        })
    }

    pub fn changes(&self) -> Vec<super::notifications::SeenChange> {
        self.changes.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn seen(&self) -> HashMap<EventKey, jiff::Timestamp> {
        self.seen.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

async fn follow(
    http: reqwest::Client,
    engine: String,
    tenant: String,
    key: String,
    mut resp: reqwest::Response,
    (seen, changes): (Seen, Changes),
    clock: Arc<dyn Clock>,
) {
    let mut last: Option<u64> = None;
    let mut parser = SseParser::new();
    let mut messages: Vec<SseMessage> = Vec::new();
    loop {
        let mut body = resp.bytes_stream();
        while let Some(Ok(chunk)) = body.next().await {
            let at = clock.now();
            parser.push(&chunk, &mut messages);
            for m in messages.drain(..) {
                if let Some(id) = m.id.as_deref().and_then(|i| i.parse().ok()) {
                    last = Some(id);
                }
                let Ok(change) = serde_json::from_str::<Value>(&m.data) else {
                    continue;
                };
                if let Some(c) = super::notifications::SeenChange::of(&tenant, &change)
                    && let Ok(mut all) = changes.lock()
                {
                    all.push(c);
                }
                let Some(causes) = change["events"].as_array() else {
                    continue;
                };
                let Ok(mut map) = seen.lock() else { return };
                for c in causes {
                    if let (Some(s), Some(id)) = (c["source"].as_str(), c["event_id"].as_str()) {
                        map.entry((tenant.clone(), s.to_owned(), id.to_owned()))
                            .or_insert(at);
                    }
                }
            }
        }
        // Dropped: resume after the last change seen, so the gap is read back, not lost.
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            match open(&http, &engine, &key, last).await {
                Ok(r) => {
                    resp = r;
                    parser = SseParser::new();
                    break;
                }
                Err(e) => tracing::debug!(error = %e, "change stream reconnect failed"),
            }
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
    /// Events that changed a visible state (the others cannot be timed from the stream).
    pub events_measured: usize,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub orders: usize,
    pub final_state_matches: usize,
    pub history_matches: usize,
    /// Orders whose final state and every stream's status sequence equal the truth.
    pub accuracy: f64,
    pub status_latency_ms: Latency,
    /// The same per source: pushed (the WMS's webhooks) against polled (the carriers).
    pub status_latency_ms_by_source: BTreeMap<String, Latency>,
    pub dead_letters: u64,
    /// Bodies the simulator broke on purpose (truncated, malformed, planted): an upper bound on
    /// the dead letters a correct engine keeps.
    pub malformed_served: u64,
    pub events: usize,
    pub seconds: f64,
    /// Carrier tracking requests served, and per second of the run.
    pub carrier_requests: u64,
    pub carrier_requests_per_s: f64,
    pub faults: BTreeMap<String, u64>,
    pub pushes_ok: u64,
    pub pushes_skipped_outage: u64,
    /// The world's planted exceptions against the engine's alerts (when it ran the rules).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub detection: Option<super::exceptions::Detection>,
    /// The notifications against the state changes that asked for them (when the world ran
    /// its receivers).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<super::notifications::NotifyReport>,
    /// Orders that entered through the sales channels against their truth (when the run
    /// sent any).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub intake: Option<super::intake::IntakeReport>,
    /// A few orders that did not match, with what differed.
    pub mismatches: Vec<Value>,
}

/// Waits (up to `settle`) for every order to match the truth, then reports.
pub async fn settle(
    engine: &str,
    keys: &[(String, String)],
    sim: &Sim,
    watch: &Watch,
    settle: Duration,
    started: Instant,
    host: &dyn Host,
) -> anyhow::Result<Report> {
    let http = client()?;
    let key_of: HashMap<&str, &str> = keys.iter().map(|(t, k)| (t.as_str(), k.as_str())).collect();
    let truths = sim.truths();
    let deadline = Instant::now() + settle;
    let mut pending: Vec<&Truth> = truths.iter().collect();
    let mut last: HashMap<String, Outcome> = HashMap::new();
    loop {
        let checks = futures::stream::iter(pending.iter().map(|t| {
            let key = key_of.get(t.tenant.as_str()).copied().unwrap_or_default();
            check(&http, engine, key, t)
        }))
        .buffered(16)
        .collect::<Vec<_>>()
        .await;
        let mut still = Vec::new();
        for (t, outcome) in pending.iter().zip(checks) {
            let outcome = outcome?;
            if !(outcome.final_ok && outcome.history_ok) {
                still.push(*t);
            }
            last.insert(t.order_id.clone(), outcome);
        }
        pending = still;
        let notified = sim
            .receivers()
            .is_none_or(|r| super::notifications::complete(&watch.changes(), r));
        if (pending.is_empty() && notified) || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let final_ok = last.values().filter(|o| o.final_ok).count();
    let history_ok = last.values().filter(|o| o.history_ok).count();
    let both = last.values().filter(|o| o.final_ok && o.history_ok).count();
    let seen = watch.seen();
    let stats = sim.stats();
    let carrier_requests: u64 = Source::POLLED_CARRIERS
        .iter()
        .filter_map(|p| stats.requests.get(p.name()))
        .sum();
    let broken = |k: &str| stats.faults.get(k).copied().unwrap_or(0);
    let detection = detect(&http, engine, keys, sim, &seen, &*host.clock()).await?;
    let mut dead_letters = 0;
    for (_, key) in keys {
        dead_letters += host.dead_letters(&http, engine, key).await?.len() as u64;
    }
    Ok(Report {
        orders: truths.len(),
        final_state_matches: final_ok,
        history_matches: history_ok,
        accuracy: if truths.is_empty() {
            1.0
        } else {
            both as f64 / truths.len() as f64
        },
        status_latency_ms: latency(truths, &seen, None),
        status_latency_ms_by_source: std::iter::once("wms")
            .chain(Source::POLLED_CARRIERS.map(Source::name))
            .map(|s| (s.to_owned(), latency(truths, &seen, Some(s))))
            .collect(),
        dead_letters,
        malformed_served: broken("truncated") + broken("malformed") + stats.malformed_pushed,
        events: truths
            .iter()
            .map(|t| t.history.values().map(Vec::len).sum::<usize>())
            .sum(),
        seconds,
        carrier_requests,
        carrier_requests_per_s: carrier_requests as f64 / seconds.max(1e-9),
        faults: stats.faults.clone(),
        pushes_ok: stats.pushes_ok,
        pushes_skipped_outage: stats.pushes_skipped_outage,
        detection,
        notifications: sim
            .receivers()
            .map(|r| super::notifications::report(&watch.changes(), r)),
        intake: None,
        mismatches: pending
            .iter()
            .take(5)
            .filter_map(|t| last.get(&t.order_id).map(|o| o.detail.clone()))
            .collect(),
    })
}

/// Reads the engine's alerts and judges them against the exceptions the truth plants. An
/// engine without the world's rule (a separately run one configured otherwise) has none to
/// show: `None` then, rather than a report of misses.
async fn detect(
    http: &reqwest::Client,
    engine: &str,
    keys: &[(String, String)],
    sim: &Sim,
    seen: &HashMap<EventKey, jiff::Timestamp>,
    wall: &dyn Clock,
) -> anyhow::Result<Option<super::exceptions::Detection>> {
    use super::exceptions;
    let clock = sim.clock();
    // Two real seconds either side of reading the alerts: deadlines that close are undecided.
    let margin = jiff::SignedDuration::try_from_secs_f64(2.0 * clock.speed).unwrap_or_default();
    let before = clock.sim_time(wall.now());
    let alerts = match exceptions::fetch(http, engine, keys).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "no alerts to judge");
            return Ok(None);
        }
    };
    let after = clock.sim_time(wall.now());
    let (mut planted, undecided) =
        exceptions::planted(sim.truths(), before - margin, after + margin);
    for p in &mut planted {
        let key = (p.tenant.clone(), p.pending.0.clone(), p.pending.1.clone());
        p.known_at = seen.get(&key).map(|wall| clock.sim_time(*wall));
    }
    Ok(Some(exceptions::compare(
        &planted,
        &undecided,
        &alerts,
        clock.speed,
    )))
}

struct Outcome {
    final_ok: bool,
    history_ok: bool,
    detail: Value,
}

/// One order against its truth: the status, reason and every shipment's status and reason;
/// and per stream, the events (source, id, status) in time order.
async fn check(
    http: &reqwest::Client,
    engine: &str,
    key: &str,
    truth: &Truth,
) -> anyhow::Result<Outcome> {
    let url = format!("{engine}/v1/orders/{}", truth.order_id);
    let resp = http
        .get(&url)
        .bearer_auth(key)
        .send()
        .await
        .with_context(|| format!("reading {url}"))?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(Outcome {
            final_ok: false,
            history_ok: false,
            detail: serde_json::json!({"order_id": truth.order_id, "missing": true}),
        });
    }
    if !resp.status().is_success() {
        bail!("{url} answered {}", resp.status());
    }
    let got: Value = resp
        .json()
        .await
        .with_context(|| format!("reading {url}"))?;
    // A shipment the world planned but nobody ever reported (an order stuck before it shipped)
    // is not something any engine can know.
    let mut want_ships: Vec<(String, String, Option<String>)> = truth
        .shipments
        .iter()
        .filter(|s| {
            truth
                .history
                .get(&s.tracking_number)
                .is_some_and(|h| !h.is_empty())
        })
        .map(|s| {
            (
                s.tracking_number.clone(),
                s.status.clone(),
                s.reason.clone(),
            )
        })
        .collect();
    want_ships.sort();
    let mut got_ships: Vec<(String, String, Option<String>)> = got["shipments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        text(&s["tracking_number"]),
                        text(&s["status"]),
                        s["reason"].as_str().map(str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    got_ships.sort();
    let final_ok = got["status"] == truth.status.as_str()
        && got["reason"].as_str() == truth.reason.as_deref()
        && got_ships == want_ships;
    let want_history = truth_history(truth);
    let got_history = engine_history(&got);
    let history_ok = want_history == got_history;
    Ok(Outcome {
        final_ok,
        history_ok,
        detail: serde_json::json!({
            "order_id": truth.order_id,
            "scenario": truth.scenario,
            "status": {"want": truth.status, "got": got["status"]},
            "reason": {"want": truth.reason, "got": got["reason"]},
            "shipments": {"want": want_ships, "got": got_ships},
            "history_matches": history_ok,
            "history": if history_ok { Value::Null } else {
                serde_json::json!({"want": want_history, "got": got_history})
            },
        }),
    })
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Per stream: `(instant, source, event id, status)` in time order.
type History = BTreeMap<String, Vec<(i128, String, String, String)>>;

fn instant(s: &str) -> i128 {
    s.parse::<jiff::Timestamp>()
        .map(|t| t.as_nanosecond())
        .unwrap_or(i128::MIN)
}

fn truth_history(t: &Truth) -> History {
    t.history
        .iter()
        .map(|(stream, events)| {
            let mut v: Vec<_> = events
                .iter()
                .map(|e| {
                    (
                        instant(&e.occurred_at),
                        e.source.clone(),
                        e.event_id.clone(),
                        e.status.clone(),
                    )
                })
                .collect();
            v.sort();
            v.dedup();
            (stream.clone(), v)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn engine_history(order: &Value) -> History {
    let mut out: History = BTreeMap::new();
    for e in order["timeline"].as_array().into_iter().flatten() {
        out.entry(e["tracking_number"].as_str().unwrap_or("").to_owned())
            .or_default()
            .push((
                instant(e["occurred_at"].as_str().unwrap_or("")),
                text(&e["source"]),
                text(&e["event_id"]),
                text(&e["status"]),
            ));
    }
    for v in out.values_mut() {
        v.sort();
        v.dedup();
    }
    out
}

/// Partner event visible at its partner → its change visible on the engine's stream.
fn latency(
    truths: &[Truth],
    seen: &HashMap<EventKey, jiff::Timestamp>,
    source: Option<&str>,
) -> Latency {
    let mut ms: Vec<u64> = Vec::new();
    for t in truths {
        for e in t
            .history
            .values()
            .flatten()
            .filter(|e| source.is_none_or(|s| e.source == s))
        {
            let key = (t.tenant.clone(), e.source.clone(), e.event_id.clone());
            if let Some(at) = seen.get(&key) {
                let d = at.duration_since(e.visible_at).as_millis().max(0);
                ms.push(u64::try_from(d).unwrap_or(u64::MAX));
            }
        }
    }
    ms.sort_unstable();
    Latency::of(&ms)
}

impl Latency {
    /// From milliseconds in ascending order.
    pub fn of(sorted_ms: &[u64]) -> Latency {
        let pick = |q: f64| nearest_rank(sorted_ms, q).unwrap_or(0);
        Latency {
            p50: pick(0.5),
            p99: pick(0.99),
            max: sorted_ms.last().copied().unwrap_or(0),
            events_measured: sorted_ms.len(),
        }
    }
}

pub use waypost_domain::quantile::nearest_rank;
