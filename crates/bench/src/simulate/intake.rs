//! Orders entering through the sales channels beside the simulated world: a seeded mix of
//! deliveries (`waypost_sim::orders_in`: the API in batches and singles, signed Shopify and
//! WooCommerce webhooks, X12 850s) with planted bad orders, sent to the engine under a tenant
//! of their own (so the world's tenants, their alerts and notifications stay as they were),
//! then judged against the truth: every order's answer against the outcome the profile must
//! give, and every acknowledged order found afterwards in the order book and the event log.

use crate::Host;
use crate::intake::{send, watch};
use anyhow::{Context as _, bail};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use waypost_sim::orders_in::{self, IntakeDay, Mix, Planted, settings};
use waypost_store::Scope;

/// Requests in flight at once: a shop's steady trickle, not a load test.
const CONCURRENCY: usize = 8;

/// The channel orders of one run, and the tenant they enter as.
pub struct Intake {
    pub tenant: String,
    key: String,
    day: IntakeDay,
}

/// The `intake_*` figures of the `--verify` report.
#[derive(Debug, Serialize)]
pub struct IntakeReport {
    pub intake_expected: u64,
    pub intake_accepted: u64,
    pub intake_held_right: u64,
    /// Held, but the truth says otherwise (accepted: a false positive; or held by another check).
    pub intake_held_wrong: u64,
    pub intake_rejected_right: u64,
    pub intake_rejected_wrong: u64,
    /// Planted bad, but accepted: a bad order let through.
    pub intake_accepted_wrong: u64,
    pub intake_cancelled: u64,
    /// Offered and acknowledged, but not in the order book or the event log.
    pub intake_lost: u64,
    /// Offered but never acknowledged (refused, or the request failed).
    pub intake_unanswered: u64,
    /// A few orders that went wrong, with what differed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub intake_mismatches: Vec<serde_json::Value>,
}

impl IntakeReport {
    pub fn clean(&self) -> bool {
        self.intake_held_wrong == 0
            && self.intake_rejected_wrong == 0
            && self.intake_accepted_wrong == 0
            && self.intake_lost == 0
            && self.intake_unanswered == 0
    }
}

impl Intake {
    /// Plans `orders` channel orders from `seed`, writes the tenant's settings into `dir` and
    /// returns them with the `[orders]` section that names those files.
    pub fn prepare(
        orders: usize,
        seed: u64,
        world_tenants: &[String],
        dir: &Path,
        host: &dyn Host,
    ) -> anyhow::Result<(Intake, toml::Value)> {
        // A tenant of its own, named apart from the world's.
        let mut tenant = "shops".to_owned();
        while world_tenants.contains(&tenant) {
            tenant.push('x');
        }
        let mix = Mix {
            orders,
            seed,
            planted: vec![
                (Planted::UnknownSku, 3.0),
                (Planted::MissingStreet, 3.0),
                (Planted::OverQuantity, 3.0),
                (Planted::Duplicate, 3.0),
                (Planted::Cancelled, 3.0),
            ],
            every_kind: true,
            high_pct: 20.0,
            api_batch: 5,
        };
        let day = orders_in::plan(&mix, host.clock().now()).context("planning channel orders")?;
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))
        };
        write("orders-accounts.toml", settings::ACCOUNTS)?;
        write("orders-profile.toml", &settings::profile())?;
        let section: toml::Table =
            toml::from_str(&settings::config_toml(&tenant, &dir.display().to_string()))
                .context("the channel orders' [orders]")?;
        let orders_section = section
            .get("orders")
            .cloned()
            .context("no [orders] in the channel orders' settings")?;
        let key = host.create_key(
            dir,
            &tenant,
            &[Scope::Ingest, Scope::Read],
            Some("simulate orders"),
        )?;
        Ok((Intake { tenant, key, day }, orders_section))
    }

    /// Puts the catalogue and sends every delivery; returns each order's answer.
    pub async fn send(&self, engine: &str) -> anyhow::Result<send::Sent> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let auth = format!("Bearer {}", self.key);
        let put = client
            .put(format!("{engine}/v1/catalogue"))
            .header(reqwest::header::AUTHORIZATION, &auth)
            .json(&settings::catalogue())
            .send()
            .await
            .context("PUT /v1/catalogue")?;
        if !put.status().is_success() {
            bail!("PUT /v1/catalogue answered {}", put.status());
        }
        let ids: Vec<String> = self.day.truths.iter().map(|t| t.order_id.clone()).collect();
        let board = Arc::new(watch::Board::new(ids.iter().cloned()));
        let target = send::Target {
            client,
            base: engine.to_owned(),
            auth,
            tenant: self.tenant.clone(),
        };
        send::replay(
            &target,
            &self.day.deliveries,
            ids,
            &board,
            None,
            CONCURRENCY,
        )
        .await
    }

    /// Judges the answers against the truth and looks every acknowledged order up, waiting
    /// up to `settle` for the event log to show the ones in the flow.
    pub async fn verify(
        &self,
        engine: &str,
        sent: &send::Sent,
        settle: Duration,
    ) -> anyhow::Result<IntakeReport> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()?;
        let mut r = IntakeReport {
            intake_expected: self.day.truths.len() as u64,
            intake_accepted: 0,
            intake_held_right: 0,
            intake_held_wrong: 0,
            intake_rejected_right: 0,
            intake_rejected_wrong: 0,
            intake_accepted_wrong: 0,
            intake_cancelled: 0,
            intake_lost: 0,
            intake_unanswered: 0,
            intake_mismatches: Vec::new(),
        };
        let deadline = Instant::now() + settle;
        for (truth, answer) in self.day.truths.iter().zip(&sent.acks) {
            let Some(answer) = answer else {
                r.intake_unanswered += 1;
                note(&mut r, truth, "no answer");
                continue;
            };
            let by_check = truth
                .check
                .is_some_and(|c| answer.because.iter().any(|b| b == c));
            let right = answer.ack.name() == truth.outcome && (truth.check.is_none() || by_check);
            match answer.ack {
                send::Ack::Accepted | send::Ack::Backordered => {
                    r.intake_accepted += 1;
                    if truth.outcome != "accepted" {
                        r.intake_accepted_wrong += 1;
                    }
                }
                send::Ack::Held if right => r.intake_held_right += 1,
                send::Ack::Held => r.intake_held_wrong += 1,
                send::Ack::Rejected if right => r.intake_rejected_right += 1,
                send::Ack::Rejected => r.intake_rejected_wrong += 1,
                send::Ack::Cancelled => {
                    r.intake_cancelled += 1;
                    if truth.outcome != "cancelled" {
                        r.intake_accepted_wrong += 1;
                    }
                }
            }
            if !right {
                let got = format!("{} because {:?}", answer.ack.name(), answer.because);
                note(&mut r, truth, &got);
            }
            let found = match answer.ack {
                // In the flow: the event log has the order (its status history began).
                send::Ack::Accepted | send::Ack::Backordered | send::Ack::Cancelled => {
                    in_log(&client, engine, &self.key, &truth.order_id, deadline).await?
                }
                // Parked: the order book explains it.
                send::Ack::Held | send::Ack::Rejected => {
                    found(&client, engine, &self.key, &truth.order_id, "/intake").await?
                }
            };
            if !found {
                r.intake_lost += 1;
                note(&mut r, truth, "acknowledged but not found");
            }
        }
        Ok(r)
    }
}

fn note(r: &mut IntakeReport, truth: &orders_in::IntakeTruth, got: &str) {
    if r.intake_mismatches.len() < 5 {
        r.intake_mismatches.push(serde_json::json!({
            "order_id": truth.order_id,
            "route": truth.route,
            "planted": truth.planted,
            "want": truth.outcome,
            "check": truth.check,
            "got": got,
        }));
    }
}

async fn found(
    client: &reqwest::Client,
    engine: &str,
    key: &str,
    order_id: &str,
    suffix: &str,
) -> anyhow::Result<bool> {
    let url = format!("{engine}/v1/orders/{order_id}{suffix}");
    let resp = client
        .get(&url)
        .bearer_auth(key)
        .send()
        .await
        .with_context(|| format!("reading {url}"))?;
    match resp.status() {
        s if s.is_success() => Ok(true),
        reqwest::StatusCode::NOT_FOUND => Ok(false),
        s => bail!("{url} answered {s}"),
    }
}

/// Whether the event log shows the order, polling until `deadline` (the engine applies the
/// events the desk wrote a moment after it answered).
async fn in_log(
    client: &reqwest::Client,
    engine: &str,
    key: &str,
    order_id: &str,
    deadline: Instant,
) -> anyhow::Result<bool> {
    loop {
        if found(client, engine, key, order_id, "").await? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
