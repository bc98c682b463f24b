//! Message templates (minijinja): what an email or a text says for each trigger.
//!
//! Every trigger has a built-in email (subject, text, HTML) and SMS, short and plain. A tenant
//! overrides any part with files `<dir>/<tenant>/<trigger>.{subject,txt,html,sms}`, and
//! `<dir>/default/...` overrides the built-ins for every tenant. Reading the files is the
//! binary's job (this crate does no I/O): it hands their contents to [`Templates::load`],
//! which compiles and trial-renders every one, so a broken template is refused at start,
//! naming its file, instead of failing a customer's message later.
//!
//! HTML parts are auto-escaped (by the `.html` name), text, subject and SMS parts are not:
//! an order id like `<b>` is shown as such in a text and escaped in HTML. Rendering is
//! bounded (minijinja's fuel), so a template cannot loop for ever.

use crate::model::Trigger;
use crate::plan::{AlertFacts, OrderFacts};
use minijinja::{AutoEscape, Environment};
use serde::Serialize;
use std::fmt;
use waypost_domain::{Location, Status};

/// Instructions one render may run: far above any sane template, far below a hang.
const FUEL: u64 = 200_000;

/// One part of a message, named by its file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    Subject,
    Text,
    Html,
    Sms,
}

impl Part {
    pub const ALL: [Part; 4] = [Part::Subject, Part::Text, Part::Html, Part::Sms];

    pub fn ext(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Text => "txt",
            Part::Html => "html",
            Part::Sms => "sms",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ext())
    }
}

/// Which template a file is: `scope` is a tenant or `default`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemplateKey {
    pub scope: String,
    pub trigger: Trigger,
    pub part: Part,
}

/// The scope whose files apply to every tenant.
pub const DEFAULT_SCOPE: &str = "default";
/// The scope of the compiled-in templates (not a tenant name: tenant ids have no `@`).
const BUILTIN_SCOPE: &str = "@builtin";

impl TemplateKey {
    /// Reads a path relative to the template directory, `acme/shipped.html`.
    pub fn from_path(path: &str) -> Result<TemplateKey, TemplateError> {
        let bad = |why: String| TemplateError::Path {
            path: path.to_string(),
            why,
        };
        let (scope, file) = path
            .split_once('/')
            .ok_or_else(|| bad("expected <tenant or default>/<trigger>.<part>".into()))?;
        if scope.is_empty() || scope.starts_with('@') {
            return Err(bad(format!("{scope:?} is not a tenant or default")));
        }
        let (trigger, ext) = file
            .rsplit_once('.')
            .ok_or_else(|| bad("no extension: expected .subject, .txt, .html or .sms".into()))?;
        let trigger = trigger.parse::<Trigger>().map_err(|e| bad(e.to_string()))?;
        let part = Part::ALL
            .into_iter()
            .find(|p| p.ext() == ext)
            .ok_or_else(|| {
                bad(format!(
                    "extension {ext:?} is not subject, txt, html or sms"
                ))
            })?;
        Ok(TemplateKey {
            scope: scope.to_string(),
            trigger,
            part,
        })
    }

    fn name(&self) -> String {
        name(&self.scope, self.trigger, self.part)
    }
}

fn name(scope: &str, trigger: Trigger, part: Part) -> String {
    format!("{scope}/{trigger}.{}", part.ext())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template file {path:?}: {why}")]
    Path { path: String, why: String },
    #[error("template {file:?} does not compile: {why}")]
    Syntax { file: String, why: String },
    #[error("template {file:?} fails to render: {why}")]
    Render { file: String, why: String },
}

/// What a template sees.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Context {
    pub tenant: TenantContext,
    pub order: OrderContext,
    pub tracking_url: Option<String>,
    pub alert: Option<AlertContext>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TenantContext {
    pub name: String,
    /// The name customers know the shop by; templates fall back to `name`.
    pub brand: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrderContext {
    pub id: String,
    pub status: String,
    /// `status` for people: "Out for delivery".
    pub status_label: String,
    pub previous_status: Option<String>,
    pub reason: Option<String>,
    pub carrier: Option<String>,
    pub tracking_numbers: Vec<String>,
    /// The last known place, "Leipzig, SN, DE".
    pub location: Option<String>,
    /// The promised delivery date, as the caller words it.
    pub promised: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertContext {
    pub rule: String,
    pub severity: String,
}

impl Context {
    /// The context of a state change's message.
    pub fn for_order(
        facts: &OrderFacts,
        tenant: TenantContext,
        tracking_url: Option<String>,
    ) -> Context {
        let location = facts
            .shipments
            .iter()
            .find_map(|s| s.location.as_ref())
            .and_then(place);
        let carrier = facts
            .carriers
            .first()
            .cloned()
            .or_else(|| facts.shipments.iter().find_map(|s| s.carrier.clone()));
        Context {
            tenant,
            order: OrderContext {
                id: facts.order_id.clone(),
                status: facts.status.clone(),
                status_label: status_label(&facts.status),
                previous_status: facts.previous_status.clone(),
                reason: facts.reason.clone(),
                carrier,
                tracking_numbers: facts
                    .shipments
                    .iter()
                    .map(|s| s.tracking_number.clone())
                    .collect(),
                location,
                promised: None,
            },
            tracking_url,
            alert: None,
        }
    }

    /// The context of an alert's message.
    pub fn for_alert(
        alert: &AlertFacts,
        tenant: TenantContext,
        tracking_url: Option<String>,
    ) -> Context {
        Context {
            tenant,
            order: OrderContext {
                id: alert.order_id.clone(),
                carrier: alert.carriers.first().cloned(),
                tracking_numbers: if alert.track.is_empty() {
                    Vec::new()
                } else {
                    vec![alert.track.clone()]
                },
                ..OrderContext::default()
            },
            tracking_url,
            alert: Some(AlertContext {
                rule: alert.rule.clone(),
                severity: alert.severity.clone(),
            }),
        }
    }
}

fn place(l: &Location) -> Option<String> {
    let parts: Vec<&str> = [&l.city, &l.region, &l.country]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A status name for people: `out_for_delivery` -> "Out for delivery". Names it does not know
/// (`partially_shipped`) are turned the same way.
pub fn status_label(status: &str) -> String {
    let words = status.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// One line: line breaks a template put in are folded to spaces (a header cannot hold
    /// them).
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The name the notification brief used for [`Email`].
pub type Rendered = Email;

/// The compiled templates: the built-ins and whatever files were loaded over them.
#[derive(Debug, Clone)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Only the built-in templates.
    pub fn builtin() -> Templates {
        match Self::load(Vec::new()) {
            Ok(t) => t,
            // The built-ins are tested to compile; an empty environment is the fallback
            // that cannot happen.
            Err(_) => Templates { env: environment() },
        }
    }

    /// The built-ins, with `files` (key and source) laid over them. Every file is compiled
    /// and rendered once with a sample context; the first failure is returned, naming the
    /// file.
    pub fn load(
        files: impl IntoIterator<Item = (TemplateKey, String)>,
    ) -> Result<Templates, TemplateError> {
        let mut env = environment();
        for trigger in Trigger::all() {
            for part in Part::ALL {
                let n = name(BUILTIN_SCOPE, trigger, part);
                env.add_template_owned(n.clone(), builtin_source(trigger, part))
                    .map_err(|e| TemplateError::Syntax {
                        file: n,
                        why: e.to_string(),
                    })?;
            }
        }
        let mut loaded = Vec::new();
        for (key, source) in files {
            let n = key.name();
            env.add_template_owned(n.clone(), source)
                .map_err(|e| TemplateError::Syntax {
                    file: n.clone(),
                    why: e.to_string(),
                })?;
            loaded.push(n);
        }
        let t = Templates { env };
        let sample = sample_context();
        for n in &loaded {
            t.render_named(n, &sample)?;
        }
        Ok(t)
    }

    /// The email for `trigger` as `tenant`'s templates word it.
    pub fn render_email(
        &self,
        tenant: &str,
        trigger: Trigger,
        ctx: &Context,
    ) -> Result<Email, TemplateError> {
        let subject = self.render(tenant, trigger, Part::Subject, ctx)?;
        Ok(Email {
            subject: one_line(&subject),
            text: self.render(tenant, trigger, Part::Text, ctx)?,
            html: self.render(tenant, trigger, Part::Html, ctx)?,
        })
    }

    /// The SMS for `trigger`, trimmed.
    pub fn render_sms(
        &self,
        tenant: &str,
        trigger: Trigger,
        ctx: &Context,
    ) -> Result<String, TemplateError> {
        Ok(self
            .render(tenant, trigger, Part::Sms, ctx)?
            .trim()
            .to_string())
    }

    /// One part: the tenant's file, else the default one, else the built-in.
    pub fn render(
        &self,
        tenant: &str,
        trigger: Trigger,
        part: Part,
        ctx: &Context,
    ) -> Result<String, TemplateError> {
        let chosen = [tenant, DEFAULT_SCOPE, BUILTIN_SCOPE]
            .into_iter()
            .map(|scope| name(scope, trigger, part))
            .find(|n| self.env.get_template(n).is_ok())
            .unwrap_or_else(|| name(BUILTIN_SCOPE, trigger, part));
        self.render_named(&chosen, ctx)
    }

    fn render_named(&self, n: &str, ctx: &Context) -> Result<String, TemplateError> {
        let err = |e: minijinja::Error| TemplateError::Render {
            file: n.to_string(),
            why: e.to_string(),
        };
        self.env
            .get_template(n)
            .map_err(err)?
            .render(ctx)
            .map_err(err)
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_fuel(Some(FUEL));
    env
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a loaded template is trial-rendered with: every field set.
fn sample_context() -> Context {
    Context {
        tenant: TenantContext {
            name: "acme".into(),
            brand: Some("Acme".into()),
        },
        order: OrderContext {
            id: "A-1001".into(),
            status: "shipped".into(),
            status_label: "Shipped".into(),
            previous_status: Some("packed".into()),
            reason: Some("weather".into()),
            carrier: Some("ups".into()),
            tracking_numbers: vec!["1Z999AA10123456784".into()],
            location: Some("Leipzig, SN, DE".into()),
            promised: Some("2026-05-02".into()),
        },
        tracking_url: Some("https://track.example.com/A-1001".into()),
        alert: Some(AlertContext {
            rule: "late".into(),
            severity: "high".into(),
        }),
    }
}

/// The one sentence a built-in message leads with.
fn headline(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::AlertRaised => {
            "Alert on order {{ order.id }}: {{ alert.rule }} ({{ alert.severity }})."
        }
        Trigger::Status(s) => match s {
            Status::Pending => "We have received your order {{ order.id }}.",
            Status::Allocated => "Your order {{ order.id }} is being prepared.",
            Status::Picked => "Your order {{ order.id }} has been picked.",
            Status::Packed => "Your order {{ order.id }} is packed and ready to ship.",
            Status::LabelCreated => {
                "A shipping label has been created for your order {{ order.id }}."
            }
            Status::Shipped => "Your order {{ order.id }} has shipped.",
            Status::InTransit => "Your order {{ order.id }} is on its way.",
            Status::OutForDelivery => "Your order {{ order.id }} is out for delivery.",
            Status::AvailableForPickup => "Your order {{ order.id }} is ready for pickup.",
            Status::Delivered => "Your order {{ order.id }} has been delivered.",
            Status::Delayed => "Your order {{ order.id }} is delayed.",
            Status::AttemptFailed => {
                "A delivery attempt for your order {{ order.id }} did not succeed."
            }
            Status::Exception => {
                "There is a problem with the delivery of your order {{ order.id }}."
            }
            Status::OnHold => "Your order {{ order.id }} is on hold.",
            Status::Backordered => "Your order {{ order.id }} is backordered.",
            Status::Returning => "Your order {{ order.id }} is on its way back to us.",
            Status::Returned => "Your order {{ order.id }} has been returned.",
            Status::Cancelled => "Your order {{ order.id }} has been cancelled.",
            Status::Lost => "Your order {{ order.id }} appears to be lost in transit.",
            Status::Unknown => "There is an update on your order {{ order.id }}.",
        },
    }
}

const BRAND: &str = "{{ tenant.brand or tenant.name }}";

fn builtin_source(trigger: Trigger, part: Part) -> String {
    let h = headline(trigger);
    match part {
        Part::Subject => format!("{BRAND}: {h}"),
        Part::Sms => format!(
            "{BRAND}: {h}\
             {{% if order.carrier %}} {{{{ order.carrier }}}}{{% endif %}}\
             {{% if order.tracking_numbers %}} {{{{ order.tracking_numbers|first }}}}{{% endif %}}\
             {{% if tracking_url %}} {{{{ tracking_url }}}}{{% endif %}}"
        ),
        Part::Text => format!(
            "{h}\n\n\
             {{% if alert %}}Rule: {{{{ alert.rule }}}}\nSeverity: {{{{ alert.severity }}}}\n{{% endif %}}\
             {{% if order.status_label %}}Status: {{{{ order.status_label }}}}\
             {{% if order.reason %}} ({{{{ order.reason }}}}){{% endif %}}\n{{% endif %}}\
             {{% if order.carrier %}}Carrier: {{{{ order.carrier }}}}\n{{% endif %}}\
             {{% if order.tracking_numbers %}}Tracking: {{{{ order.tracking_numbers|join(\", \") }}}}\n{{% endif %}}\
             {{% if order.location %}}Last seen: {{{{ order.location }}}}\n{{% endif %}}\
             {{% if order.promised %}}Expected: {{{{ order.promised }}}}\n{{% endif %}}\
             {{% if tracking_url %}}\nTrack it: {{{{ tracking_url }}}}\n{{% endif %}}\
             \n{BRAND}\n"
        ),
        Part::Html => format!(
            "<!doctype html>\n<html><body style=\"font-family:sans-serif\">\n<p>{h}</p>\n\
             {{% if alert %}}<p>Rule: {{{{ alert.rule }}}}<br>Severity: {{{{ alert.severity }}}}</p>\n{{% endif %}}\
             <p>\
             {{% if order.status_label %}}Status: <strong>{{{{ order.status_label }}}}</strong>\
             {{% if order.reason %}} ({{{{ order.reason }}}}){{% endif %}}<br>{{% endif %}}\
             {{% if order.carrier %}}Carrier: {{{{ order.carrier }}}}<br>{{% endif %}}\
             {{% if order.tracking_numbers %}}Tracking: {{{{ order.tracking_numbers|join(\", \") }}}}<br>{{% endif %}}\
             {{% if order.location %}}Last seen: {{{{ order.location }}}}<br>{{% endif %}}\
             {{% if order.promised %}}Expected: {{{{ order.promised }}}}{{% endif %}}\
             </p>\n\
             {{% if tracking_url %}}<p><a href=\"{{{{ tracking_url }}}}\">Track your order</a></p>\n{{% endif %}}\
             <p>{BRAND}</p>\n</body></html>\n"
        ),
    }
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
