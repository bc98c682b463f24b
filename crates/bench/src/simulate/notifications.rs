//! The world's notification receivers (`waypost_sim::receivers`: a portal taking signed
//! webhooks, a Twilio-like SMS gateway and an SMTP server, with 10 % transient errors and a
//! 30-minute portal outage) wired to the engine, and the check that every state change the
//! subscriptions ask for reached its receiver once.
//!
//! What is expected comes from the engine's change streams (every state change it made, with
//! the status before and after) and the subscriptions registered here, less the channels each
//! customer opted out of; what was delivered is what the receivers accepted (distinct
//! idempotency keys). The state changes themselves are checked against the truth elsewhere
//! (`verify.rs`), so a notification that matches a change matches the world.

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use waypost_sim::{Channel, Customer, Receivers, Sim};

/// Statuses the portal hears about: every one a customer-facing page shows.
const PORTAL_ON: &[&str] = &[
    "shipped",
    "in_transit",
    "out_for_delivery",
    "available_for_pickup",
    "delivered",
    "delayed",
    "attempt_failed",
    "exception",
    "on_hold",
    "backordered",
    "returning",
    "returned",
    "cancelled",
    "lost",
];
const EMAIL_ON: &[&str] = &["shipped", "out_for_delivery", "delivered", "exception"];
const SMS_ON: &[&str] = &["out_for_delivery", "delivered"];

/// Customers who opted out: a tenth of them of SMS, a twentieth of email.
fn opted_out_of(c: &Customer, channel: Channel) -> bool {
    match channel {
        Channel::Sms => c.draw < 100,
        Channel::Email => (100..150).contains(&c.draw),
        Channel::Webhook => false,
    }
}

/// One state change as the change stream told it.
#[derive(Debug, Clone)]
pub struct SeenChange {
    pub tenant: String,
    pub order_id: String,
    pub seq: u64,
    pub status: String,
    pub previous_status: Option<String>,
}

impl SeenChange {
    pub fn of(tenant: &str, change: &Value) -> Option<SeenChange> {
        Some(SeenChange {
            tenant: tenant.to_owned(),
            order_id: change["order_id"].as_str()?.to_owned(),
            seq: change["seq"].as_u64()?,
            status: change["status"].as_str()?.to_owned(),
            previous_status: change["previous_status"].as_str().map(str::to_owned),
        })
    }
}

/// The `[notify]` section that points the engine at the world's receivers, as an operator
/// would write it (`docs/notifications.md`).
pub fn config(receivers: &Receivers) -> anyhow::Result<toml::Value> {
    let (sid, token) = receivers.sms_credentials();
    let section = json!({
        // The receivers live on loopback, which the SSRF guard refuses unless allowed.
        "allow_networks": ["127.0.0.0/8"],
        "smtp": {
            "host": receivers.smtp_addr().ip().to_string(),
            "port": receivers.smtp_addr().port(),
            "mode": "none",
            "from": "Waypost <notifications@waypost.example>",
            "timeout_ms": 5_000,
        },
        "sms": {
            "provider": "twilio",
            "from": "+15005550006",
            "base_url": receivers.sms_base_url(),
            "account_sid": sid,
            "auth_token": token,
            "headers": {},
            "cents_per_segment": 1,
            "timeout_ms": 5_000,
        },
    });
    toml::Value::try_from(section).context("the world's [notify] section")
}

/// Registers, per tenant, the portal webhook, the customer's email and SMS with their
/// subscriptions, and the customers' opt-outs.
pub async fn register(
    engine: &str,
    admin_keys: &[(String, String)],
    sim: &Sim,
) -> anyhow::Result<()> {
    let receivers = sim.receivers().context("the simulator runs no receivers")?;
    let http = reqwest::Client::new();
    for (tenant, key) in admin_keys {
        let secret = receivers
            .webhook_secret(tenant)
            .with_context(|| format!("no portal secret for {tenant}"))?;
        let endpoints = [
            (
                json!({"name": "portal", "kind": "webhook",
                       "url": receivers.portal_url(tenant, "portal"), "secrets": [secret]}),
                PORTAL_ON,
            ),
            (
                json!({"name": "customer-email", "kind": "email", "to": "customer"}),
                EMAIL_ON,
            ),
            (
                json!({"name": "customer-sms", "kind": "sms", "to": "customer"}),
                SMS_ON,
            ),
        ];
        for (spec, on) in endpoints {
            let endpoint = post(&http, engine, key, "/v1/notify/endpoints", spec).await?;
            post(
                &http,
                engine,
                key,
                "/v1/notify/subscriptions",
                json!({"name": endpoint["name"], "endpoint_id": endpoint["id"], "on": on}),
            )
            .await?;
        }
    }
    let keys: HashMap<&str, &str> = admin_keys
        .iter()
        .map(|(t, k)| (t.as_str(), k.as_str()))
        .collect();
    for t in sim.truths() {
        let c = Customer::of(&t.order_id);
        let out: Vec<&str> = [(Channel::Sms, "sms"), (Channel::Email, "email")]
            .into_iter()
            .filter(|(ch, _)| opted_out_of(&c, *ch))
            .map(|(_, name)| name)
            .collect();
        if out.is_empty() {
            continue;
        }
        let Some(key) = keys.get(t.tenant.as_str()) else {
            continue;
        };
        let url = format!("{engine}/v1/notify/contacts/{}", c.id);
        let resp = http
            .put(&url)
            .bearer_auth(key)
            .json(&json!({"email": c.email, "phone": c.phone, "opted_out": out}))
            .send()
            .await
            .with_context(|| format!("PUT {url}"))?;
        if !resp.status().is_success() {
            bail!("PUT {url} answered {}", resp.status());
        }
    }
    Ok(())
}

async fn post(
    http: &reqwest::Client,
    engine: &str,
    key: &str,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let url = format!("{engine}{path}");
    let resp = http
        .post(&url)
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("POST {url} answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("POST {url} answered {text:?}"))
}

/// What `--verify` reports of notifications.
#[derive(Debug, Serialize)]
pub struct NotifyReport {
    pub notifications_expected: usize,
    /// Expected notifications a receiver accepted (distinct idempotency keys).
    pub notifications_delivered: usize,
    /// A key accepted again after it was accepted once.
    pub notifications_duplicated: u64,
    /// Accepted, but no state change asked for it (or to an opted-out customer).
    pub notifications_unexpected: usize,
    /// For one receiver and order, a transition accepted after a later one.
    pub notifications_out_of_order: u64,
    pub notifications_by_channel: HashMap<String, (usize, usize)>,
    /// Attempts the receivers failed on purpose (errors and the outage).
    pub receiver_failures_injected: u64,
    pub receiver_outage_refusals: u64,
    pub bad_signatures: u64,
    /// Portal webhooks: acceptance minus the state change's time, real milliseconds.
    pub dispatch_latency_ms: Option<super::verify::Latency>,
    /// A few expected notifications that never arrived.
    pub missing: Vec<String>,
    /// A few notifications that arrived although no change seen asked for them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unexpected: Vec<String>,
}

/// The notifications the changes ask for: (channel, tenant, order, seq).
fn expected(changes: &[SeenChange]) -> HashSet<(Channel, String, String, u64)> {
    let mut out = HashSet::new();
    for c in changes {
        if c.previous_status.as_deref() == Some(c.status.as_str()) {
            continue;
        }
        let customer = Customer::of(&c.order_id);
        for (channel, on) in [
            (Channel::Webhook, PORTAL_ON),
            (Channel::Email, EMAIL_ON),
            (Channel::Sms, SMS_ON),
        ] {
            if on.contains(&c.status.as_str()) && !opted_out_of(&customer, channel) {
                out.insert((channel, c.tenant.clone(), c.order_id.clone(), c.seq));
            }
        }
    }
    out
}

/// True once the notifications accepted are exactly those the changes seen ask for. Both ways:
/// under load the change stream's reader can lag the dispatcher, and a notification for a
/// change not read yet would count as unexpected if the report were taken then. One that is
/// truly unexpected stays so until the settle deadline, and the report says so.
pub fn complete(changes: &[SeenChange], receivers: &Receivers) -> bool {
    let want = expected(changes);
    let got: HashSet<_> = receivers
        .accepted()
        .into_iter()
        .map(|a| (a.channel, a.tenant, a.order_id, a.seq))
        .collect();
    want == got
}

pub fn report(changes: &[SeenChange], receivers: &Receivers) -> NotifyReport {
    let want = expected(changes);
    let accepted = receivers.accepted();
    let got: HashSet<(Channel, String, String, u64)> = accepted
        .iter()
        .map(|a| (a.channel, a.tenant.clone(), a.order_id.clone(), a.seq))
        .collect();
    let counts = receivers.report();
    let clock = receivers.clock();
    let mut by_channel = HashMap::new();
    for ch in [Channel::Webhook, Channel::Email, Channel::Sms] {
        let e = want.iter().filter(|k| k.0 == ch).count();
        let d = want
            .iter()
            .filter(|k| k.0 == ch && got.contains(*k))
            .count();
        by_channel.insert(ch.as_str().to_owned(), (e, d));
    }
    let mut latencies: Vec<u64> = accepted
        .iter()
        .filter(|a| a.channel == Channel::Webhook)
        .filter_map(|a| {
            // The engine stamps changes on the world's clock; this is real time.
            let d = a.latency(&clock)?;
            (!d.is_negative()).then(|| d.as_millis() as u64)
        })
        .collect();
    latencies.sort_unstable();
    let mut missing: Vec<String> = want
        .difference(&got)
        .take(5)
        .map(|(ch, t, o, s)| format!("{} {t}/{o} change {s}", ch.as_str()))
        .collect();
    missing.sort();
    let mut unexpected: Vec<String> = got
        .difference(&want)
        .take(5)
        .map(|(ch, t, o, s)| {
            // What the stream said of that order: enough to tell a missed change from a
            // notification the planner should not have made.
            let seen: Vec<String> = changes
                .iter()
                .filter(|c| &c.tenant == t && &c.order_id == o)
                .map(|c| {
                    let from = c.previous_status.as_deref().unwrap_or("-");
                    format!("{}:{from}>{}", c.seq, c.status)
                })
                .collect();
            format!(
                "{} {t}/{o} change {s} (seen {})",
                ch.as_str(),
                seen.join(" ")
            )
        })
        .collect();
    unexpected.sort();
    NotifyReport {
        notifications_expected: want.len(),
        notifications_delivered: want.intersection(&got).count(),
        notifications_duplicated: counts.total.duplicated,
        notifications_unexpected: got.difference(&want).count(),
        notifications_out_of_order: counts.total.out_of_order,
        notifications_by_channel: by_channel,
        receiver_failures_injected: counts.total.rejected_injected,
        receiver_outage_refusals: counts.total.rejected_outage,
        bad_signatures: counts.total.bad_signatures,
        dispatch_latency_ms: (!latencies.is_empty())
            .then(|| super::verify::Latency::of(&latencies)),
        missing,
        unexpected,
    }
}
