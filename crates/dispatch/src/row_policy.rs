//! The policy that turns a due row into a message, at the moment of sending: opt-outs made
//! after the row was planned, quiet hours, the SMS spend cap, templates, the tracking link.
//! Reads the store's read side (contacts, link tokens, the day's spend) but writes nothing:
//! what it reserves goes out as marks with the attempt.

use crate::{Outgoing, Policy, Prepared, Secret};
use jiff::Timestamp;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use waypost_domain::TenantId;
use waypost_notify::{
    AlertFacts, ChannelKind, Contact, Context, EndpointSpec, OrderFacts, Phone, SpendLedger,
    Templates, TenantContext, Trigger,
};
use waypost_store::{EndpointRow, OutboxMark, OutboxRow, ReadStore};

/// What the dispatcher applies of one tenant's `[notify.tenants.<tenant>]`.
#[derive(Debug, Clone)]
pub struct TenantRules {
    pub quiet: Option<waypost_notify::QuietHours>,
    pub cap: Option<waypost_notify::SpendCap>,
    pub brand: Option<String>,
}

/// An order's customer page from its link token (the API's `tracking_url` over
/// `notify.public_url`): handed in, so the link has one spelling, the API's.
pub type TrackingUrl = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// Decides, for one due row, what goes out: the checks that must hold at the moment of sending
/// (an opt-out made after the row was planned still stops it), then the message.
pub(crate) struct RowPolicy {
    pub(crate) reader: Arc<dyn ReadStore>,
    pub(crate) templates: Templates,
    /// None: messages carry no tracking link.
    pub(crate) tracking_url: Option<TrackingUrl>,
    pub(crate) tenants: HashMap<String, TenantRules>,
    /// Per tenant: SMS spend reserved and spent per local day.
    pub(crate) ledgers: Mutex<HashMap<String, SpendLedger>>,
    /// Rows whose cost is reserved (a retry reuses its reservation): (day, cents).
    pub(crate) reserved: Mutex<HashMap<i64, (jiff::civil::Date, u64)>>,
}

/// What a row's payload says: a state change or an alert.
enum Facts {
    Order(OrderFacts),
    Alert(AlertFacts),
}

impl Facts {
    fn customer(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match self {
            Facts::Order(f) => (
                f.customer_id.as_deref(),
                f.customer_email.as_deref(),
                f.customer_phone.as_deref(),
            ),
            Facts::Alert(a) => (
                a.customer_id.as_deref(),
                a.customer_email.as_deref(),
                a.customer_phone.as_deref(),
            ),
        }
    }
}

impl RowPolicy {
    fn contact(
        &self,
        tenant: &TenantId,
        customer: Option<&str>,
    ) -> Result<Option<Contact>, String> {
        let Some(id) = customer else {
            return Ok(None);
        };
        let Some(row) = self
            .reader
            .contact_of(tenant, id)
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        Ok(Some(Contact {
            customer_id: row.customer_id,
            email: row.email,
            phone: row.phone.as_deref().and_then(|p| Phone::parse(p).ok()),
            locale: row.locale,
            opted_out: row
                .opted_out
                .iter()
                .filter_map(|k| ChannelKind::from_str(k).ok())
                .collect(),
        }))
    }

    fn context(&self, row: &OutboxRow, facts: &Facts) -> Context {
        let tenant = TenantContext {
            name: row.tenant.to_string(),
            brand: self
                .tenants
                .get(row.tenant.as_str())
                .and_then(|t| t.brand.clone()),
        };
        // The order's customer page (its link token, from the store). A store that cannot
        // answer costs the message its link, not the message.
        let tracking_url = self.tracking_url.as_ref().and_then(|link| {
            let token = match self.reader.tracking_token(&row.tenant, &row.order_id) {
                Ok(t) => t?,
                Err(e) => {
                    tracing::warn!(error = %e, order = %row.order_id, "no tracking link");
                    return None;
                }
            };
            Some(link(&token))
        });
        match facts {
            Facts::Order(f) => Context::for_order(f, tenant, tracking_url),
            Facts::Alert(a) => Context::for_alert(a, tenant, tracking_url),
        }
    }

    /// Reserves an SMS's cost under the tenant's cap; `Err` says why it may not go.
    fn reserve(
        &self,
        row: &OutboxRow,
        rules: &TenantRules,
        text: &str,
        now: Timestamp,
    ) -> Result<Vec<OutboxMark>, String> {
        let segments = waypost_notify::segments(text);
        let Some(cap) = &rules.cap else {
            return Ok(Vec::new());
        };
        let cost = cap.cost(segments.segments);
        let day = cap.day_of(now);
        let mut reserved = self
            .reserved
            .lock()
            .map_err(|_| "the spend ledger is poisoned")?;
        if reserved.get(&row.id).is_none_or(|(d, _)| *d != day) {
            let mut ledgers = self
                .ledgers
                .lock()
                .map_err(|_| "the spend ledger is poisoned")?;
            let ledger = match ledgers.get_mut(row.tenant.as_str()) {
                Some(l) => l,
                None => {
                    let mut l = SpendLedger::new(cap.clone());
                    let tenant = row.tenant.clone();
                    let (_, cents) = self
                        .reader
                        .sms_spent(&tenant, &day.to_string())
                        .map_err(|e| e.to_string())?;
                    l.seed(row.tenant.as_str(), day, cents);
                    ledgers.entry(row.tenant.to_string()).or_insert(l)
                }
            };
            if !ledger.try_reserve(row.tenant.as_str(), day, cost) {
                return Err(format!(
                    "the tenant's daily SMS spend cap of {} cents is reached ({} cents spent on {day}; this message costs {cost})",
                    cap.per_day_cents,
                    ledger.spent(row.tenant.as_str(), day)
                ));
            }
            reserved.insert(row.id, (day, cost));
        }
        Ok(vec![OutboxMark::SpendAdd {
            tenant: row.tenant.clone(),
            day: day.to_string(),
            segments: segments.segments as u64,
            cents: cost,
        }])
    }

    fn prepare_row(
        &self,
        row: &OutboxRow,
        endpoint: &EndpointRow,
        now: Timestamp,
    ) -> Result<Prepared, String> {
        let tenant = row.tenant.clone();
        let spec: EndpointSpec = serde_json::from_str(&endpoint.spec)
            // The tenant reads this error: it names the endpoint, not its row number.
            .map_err(|e| format!("endpoint {:?} has an unreadable spec: {e}", endpoint.name))?;
        let trigger = Trigger::from_str(&row.trigger).map_err(|e| e.to_string())?;
        let facts = if trigger == Trigger::AlertRaised {
            Facts::Alert(serde_json::from_str(&row.payload).map_err(|e| format!("payload: {e}"))?)
        } else {
            Facts::Order(serde_json::from_str(&row.payload).map_err(|e| format!("payload: {e}"))?)
        };
        let (customer_id, email, phone) = facts.customer();
        let contact = self.contact(&tenant, customer_id)?;
        let notify_endpoint = waypost_notify::Endpoint {
            id: endpoint.id,
            tenant: tenant.clone(),
            name: endpoint.name.clone(),
            spec: spec.clone(),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason.clone(),
        };
        if waypost_notify::suppressed(&notify_endpoint, contact.as_ref()) {
            return Ok(Prepared::Skip(format!(
                "customer {:?} opted out of {}",
                customer_id.unwrap_or_default(),
                spec.kind()
            )));
        }
        let address =
            waypost_notify::recipient_address(&notify_endpoint, contact.as_ref(), email, phone);
        Ok(match spec {
            EndpointSpec::Webhook {
                url,
                secrets,
                timeout_ms,
            } => {
                let body = match &facts {
                    Facts::Order(f) => {
                        waypost_notify::payload::to_body(&waypost_notify::status_changed(f, now))
                    }
                    Facts::Alert(a) => {
                        waypost_notify::payload::to_body(&waypost_notify::alert_raised(a))
                    }
                }
                .map_err(|e| format!("the payload does not serialize: {e}"))?;
                let secrets = secrets
                    .iter()
                    .map(|s| {
                        Secret::from_config(s.expose())
                            .map_err(|e| format!("a signing secret: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Prepared::Send {
                    message: Outgoing::Webhook {
                        url,
                        secrets,
                        body,
                        timeout: Duration::from_millis(timeout_ms),
                    },
                    on_sent: Vec::new(),
                }
            }
            EndpointSpec::Email { .. } => {
                let Some(to) = address else {
                    return Ok(Prepared::Skip("no email address for the customer".into()));
                };
                let ctx = self.context(row, &facts);
                let mail = self
                    .templates
                    .render_email(row.tenant.as_str(), trigger, &ctx)
                    .map_err(|e| e.to_string())?;
                Prepared::Send {
                    message: Outgoing::Email {
                        to,
                        subject: mail.subject,
                        text: mail.text,
                        html: mail.html,
                    },
                    on_sent: Vec::new(),
                }
            }
            EndpointSpec::Sms { .. } => {
                let Some(to) = address else {
                    return Ok(Prepared::Skip("no phone number for the customer".into()));
                };
                let rules = self.tenants.get(row.tenant.as_str()).cloned();
                if let Some(quiet) = rules.as_ref().and_then(|r| r.quiet.as_ref())
                    && let Some(until) = quiet.release_at(now)
                {
                    return Ok(Prepared::Defer(until));
                }
                let ctx = self.context(row, &facts);
                let body = self
                    .templates
                    .render_sms(row.tenant.as_str(), trigger, &ctx)
                    .map_err(|e| e.to_string())?;
                let on_sent = match &rules {
                    Some(r) => match self.reserve(row, r, &body, now) {
                        Ok(marks) => marks,
                        Err(why) => return Ok(Prepared::Skip(why)),
                    },
                    None => Vec::new(),
                };
                Prepared::Send {
                    message: Outgoing::Sms { to, body },
                    on_sent,
                }
            }
        })
    }
}

impl Policy for RowPolicy {
    fn prepare(&self, row: &OutboxRow, endpoint: &EndpointRow, now: Timestamp) -> Prepared {
        match self.prepare_row(row, endpoint, now) {
            Ok(p) => p,
            // A row this version cannot read or render is kept, visible, for an operator:
            // a skip with the reason, replayable once the cause is fixed.
            Err(why) => Prepared::Skip(format!("cannot prepare: {why}")),
        }
    }
}
