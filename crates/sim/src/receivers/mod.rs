//! The notification receivers: what Waypost's notifications land on in a simulated world. A
//! customer portal taking Standard Webhooks (`POST /portal/{tenant}/{hook}`), a Twilio-compatible
//! SMS gateway (`POST /twilio/2010-04-01/Accounts/{sid}/Messages.json`), both on the
//! simulator's HTTP port, and an ESMTP server on its own port. Each checks what a real receiver
//! checks (signature, basic auth, SMTP grammar), injects transient failures, and counts what it
//! accepted once, twice or out of order (`GET /receivers/report`, [`Receivers::report`]).
//!
//! Invariant: a failure is a pure function of (seed, channel, message id, attempt) and the
//! outage window of simulated time; an injected failure is never accepted. The accounting
//! ([`ledger`]) is pure; `http.rs` and `smtp/` read the clock and do the I/O.

mod http;
mod inject;
pub mod ledger;
mod smtp;
mod strings;

pub use inject::{Injected, decide, in_outage};
pub use ledger::{AcceptedKey, ChannelCounts, Delivery, ReceiverReport};

use crate::{SimClock, SimError};
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use ledger::{Acceptance, Ledger};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use waypost_adapters::signature::{self, Headers, Scheme, Secret, SignatureError, Verified};
use waypost_domain::Clock;

pub(crate) use http::router;
pub(crate) use smtp::spawn as spawn_smtp;

/// A notification channel, as Waypost names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Webhook = 0,
    Email = 1,
    Sms = 2,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Webhook, Channel::Email, Channel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A window in which receivers refuse everything: `[start, start + duration)` in simulated
/// minutes after the world's start, on the listed channels (HTTP 503, SMTP 421 at the
/// greeting and 451 at the end of DATA).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiverOutage {
    pub start_sim_minutes: f64,
    pub duration_sim_minutes: f64,
    pub channels: Vec<Channel>,
}

/// How the receivers behave. [`Default`] is issue 6's verification: 10 % transient errors and
/// a 30-minute portal outage an hour into the world.
#[derive(Clone, PartialEq)]
pub struct ReceiversConfig {
    /// Share of attempts refused with a transient error (HTTP 500/503, SMTP 451).
    pub error_rate: f64,
    pub outage: Option<ReceiverOutage>,
    /// Seed of the failure draws; `None`: the world's.
    pub seed: Option<u64>,
    /// `(tenant, "whsec_<base64>")` the portal verifies with. A world tenant not listed gets
    /// one derived from the seed ([`portal_secret`]).
    pub webhook_secrets: Vec<(String, String)>,
    /// Twilio account sid and auth token the SMS gateway expects (basic auth, and the sid in
    /// the path).
    pub sms_sid: String,
    pub sms_token: String,
    /// Where the SMTP server listens; port 0 picks a free one.
    pub smtp_listen: SocketAddr,
    /// Largest message the SMTP server takes (advertised as `SIZE`).
    pub max_message_bytes: usize,
    /// How far a webhook's `webhook-timestamp` may be from now: real time, or the same span
    /// scaled to simulated time (a sender on the simulated clock signs with simulated time).
    pub signature_tolerance: SignedDuration,
}

impl Default for ReceiversConfig {
    fn default() -> Self {
        ReceiversConfig {
            error_rate: 0.10,
            outage: Some(ReceiverOutage {
                start_sim_minutes: 60.0,
                duration_sim_minutes: 30.0,
                channels: vec![Channel::Webhook],
            }),
            seed: None,
            webhook_secrets: Vec::new(),
            sms_sid: "AC7761797061737473696d0000000001".into(),
            sms_token: "waypost-sim-token".into(),
            smtp_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            max_message_bytes: 10 * 1024 * 1024,
            signature_tolerance: signature::DEFAULT_TOLERANCE,
        }
    }
}

impl fmt::Debug for ReceiversConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenants: Vec<&str> = self
            .webhook_secrets
            .iter()
            .map(|(t, _)| t.as_str())
            .collect();
        f.debug_struct("ReceiversConfig")
            .field("error_rate", &self.error_rate)
            .field("outage", &self.outage)
            .field("seed", &self.seed)
            .field("webhook_secrets", &tenants)
            .field("sms_sid", &self.sms_sid)
            .field("sms_token", &"***")
            .field("smtp_listen", &self.smtp_listen)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("signature_tolerance", &self.signature_tolerance)
            .finish()
    }
}

/// The portal's Standard Webhooks secret of `tenant`: `whsec_` and 32 bytes derived from the
/// seed and the tenant (another derivation than the WMS's own secret).
pub fn portal_secret(seed: u64, tenant: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"waypost-sim portal secret\0");
    h.update(seed.to_le_bytes());
    h.update(tenant.as_bytes());
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(h.finalize())
    )
}

/// What happened to one delivery that got past authentication and parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accepted(Acceptance),
    /// An injected transient failure with this HTTP status.
    Injected(u16),
}

/// The running receivers, shared by the HTTP routes and the SMTP server.
pub struct Receivers {
    cfg: ReceiversConfig,
    seed: u64,
    clock: SimClock,
    /// The real clock the simulated one runs on.
    wall: Arc<dyn Clock>,
    base_url: String,
    smtp_addr: SocketAddr,
    /// `(tenant, secret text, secret)`.
    secrets: Vec<(String, String, Secret)>,
    // A std mutex: held for one ledger operation, never across an await.
    ledger: Mutex<Ledger>,
}

impl Receivers {
    /// Builds the receivers of a world with `tenants`, served at `base_url` (the simulator's
    /// HTTP server) and `smtp_addr`.
    pub(crate) fn new(
        cfg: ReceiversConfig,
        world_seed: u64,
        tenants: &[String],
        clock: SimClock,
        wall: Arc<dyn Clock>,
        base_url: String,
        smtp_addr: SocketAddr,
    ) -> Result<Receivers, SimError> {
        let seed = cfg.seed.unwrap_or(world_seed);
        let mut texts: Vec<(String, String)> = cfg.webhook_secrets.clone();
        for t in tenants {
            if !texts.iter().any(|(name, _)| name == t) {
                texts.push((t.clone(), portal_secret(seed, t)));
            }
        }
        let mut secrets = Vec::with_capacity(texts.len());
        for (tenant, text) in texts {
            let bad =
                |why: String| SimError::Receivers(format!("webhook secret of {tenant}: {why}"));
            let secret = Secret::from_config(&text).map_err(|e| bad(e.to_string()))?;
            Scheme::StandardWebhooks
                .validate_secret(&secret)
                .map_err(|e| bad(e.to_string()))?;
            secrets.push((tenant, text, secret));
        }
        if !(0.0..=1.0).contains(&cfg.error_rate) {
            return Err(SimError::Receivers(format!(
                "error_rate {} is not between 0 and 1",
                cfg.error_rate
            )));
        }
        Ok(Receivers {
            cfg,
            seed,
            clock,
            wall,
            base_url,
            smtp_addr,
            secrets,
            ledger: Mutex::new(Ledger::default()),
        })
    }

    /// Where the SMTP server listens (give the engine this host and port, TLS mode `none`).
    pub fn smtp_addr(&self) -> SocketAddr {
        self.smtp_addr
    }

    /// The portal URL for `tenant`'s webhook endpoint named `hook` (any name; it tells
    /// endpoints apart in the ordering check).
    pub fn portal_url(&self, tenant: &str, hook: &str) -> String {
        format!("{}/portal/{tenant}/{hook}", self.base_url)
    }

    /// The Twilio base URL (`{base}/2010-04-01/Accounts/{sid}/Messages.json` is the gateway).
    pub fn sms_base_url(&self) -> String {
        format!("{}/twilio", self.base_url)
    }

    /// `(account sid, auth token)` of the SMS gateway.
    pub fn sms_credentials(&self) -> (&str, &str) {
        (&self.cfg.sms_sid, &self.cfg.sms_token)
    }

    /// The `whsec_` secret the portal verifies `tenant`'s webhooks with.
    pub fn webhook_secret(&self, tenant: &str) -> Option<&str> {
        self.secrets
            .iter()
            .find(|(t, _, _)| t == tenant)
            .map(|(_, text, _)| text.as_str())
    }

    pub fn config(&self) -> &ReceiversConfig {
        &self.cfg
    }

    /// The counters so far.
    pub fn report(&self) -> ReceiverReport {
        self.ledger.lock().map(|l| l.report()).unwrap_or_default()
    }

    /// Every accepted key (one per idempotency key), first accepted first.
    pub fn accepted(&self) -> Vec<AcceptedKey> {
        self.ledger.lock().map(|l| l.accepted()).unwrap_or_default()
    }

    pub fn is_accepted(&self, msg_id: &str) -> bool {
        self.ledger.lock().is_ok_and(|l| l.is_accepted(msg_id))
    }

    /// Adds to `channel`'s counters.
    pub(crate) fn count(&self, channel: Channel, f: impl FnOnce(&mut ChannelCounts)) {
        if let Ok(mut l) = self.ledger.lock() {
            f(l.counts_mut(channel));
        }
    }

    /// Counts a request; if `channel` is in its outage now, also counts the refusal and says
    /// so.
    pub(crate) fn arrive(&self, channel: Channel) -> bool {
        let down = self.down(channel);
        self.count(channel, |c| {
            c.received += 1;
            if down {
                c.rejected_injected += 1;
                c.rejected_outage += 1;
            }
        });
        down
    }

    /// Whether `channel` is in its outage now (counts nothing).
    pub(crate) fn down(&self, channel: Channel) -> bool {
        let sim = self.clock.sim_time(self.wall.now());
        in_outage(self.cfg.outage.as_ref(), channel, self.clock.start, sim)
    }

    /// Decides the fate of an authenticated, readable delivery and records it.
    pub(crate) fn deliver(&self, d: &Delivery<'_>) -> Verdict {
        let Ok(mut l) = self.ledger.lock() else {
            return Verdict::Injected(500);
        };
        let attempt = l.attempt(d.channel, d.msg_id);
        if let Some(Injected::Error(code)) =
            decide(self.seed, self.cfg.error_rate, d.channel, d.msg_id, attempt)
        {
            l.counts_mut(d.channel).rejected_injected += 1;
            return Verdict::Injected(code);
        }
        let wall = self.wall.now();
        Verdict::Accepted(l.accept(d, self.clock.sim_time(wall), wall))
    }

    /// The tenant's Standard Webhooks check. The timestamp may be near real time or, for a
    /// sender on the simulated clock, near simulated time (the tolerance scaled by the speed).
    pub(crate) fn verify<H: Headers + ?Sized>(
        &self,
        tenant: &str,
        headers: &H,
        body: &[u8],
    ) -> Option<Result<Verified, SignatureError>> {
        let (_, _, secret) = self.secrets.iter().find(|(t, _, _)| t == tenant)?;
        let secrets = std::slice::from_ref(secret);
        let scheme = Scheme::StandardWebhooks;
        let tol = self.cfg.signature_tolerance;
        let wall = self.wall.now();
        let r = signature::verify(&scheme, secrets, headers, body, wall, tol);
        if let Err(SignatureError::TimestampOutOfTolerance { .. }) = r {
            let sim_tol =
                SignedDuration::try_from_secs_f64(tol.as_secs_f64() * self.clock.speed.max(1.0))
                    .unwrap_or(tol);
            let sim = self.clock.sim_time(wall);
            return Some(signature::verify(
                &scheme, secrets, headers, body, sim, sim_tol,
            ));
        }
        Some(r)
    }

    /// The wall clock's time.
    pub(crate) fn now(&self) -> Timestamp {
        self.wall.now()
    }

    pub fn clock(&self) -> SimClock {
        self.clock
    }
}

/// The optional headers of an email or SMS that the report records when present.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Extras<'a> {
    pub tenant: Option<&'a str>,
    pub trigger: Option<&'a str>,
    pub changed_at: Option<&'a str>,
}

impl Extras<'_> {
    fn changed(&self) -> Option<Timestamp> {
        self.changed_at.and_then(|t| t.trim().parse().ok())
    }

    /// An alert is not a transition: its seq is the alert's id.
    fn transition(&self) -> bool {
        self.trigger.is_none_or(|t| t.trim() != "alert.raised")
    }
}

/// The `Delivery` of an email or SMS from its headers.
pub(crate) fn delivery<'a>(
    channel: Channel,
    endpoint: &'a str,
    order_id: &'a str,
    seq: u64,
    msg_id: &'a str,
    extras: &Extras<'a>,
) -> Delivery<'a> {
    Delivery {
        channel,
        tenant: extras.tenant.map_or("", str::trim),
        endpoint,
        order_id,
        seq,
        trigger: extras.trigger.map_or("", str::trim),
        msg_id,
        changed_at: extras.changed(),
        transition: extras.transition(),
    }
}
