//! `waypost notify`: endpoints, subscriptions, contacts, test sends, an order's delivery log
//! and the dead letters, from a terminal: a client of a running server's `/v1/notify` (the
//! server's engine is the one writer of all of it).

use crate::alerts::answer;
use crate::client::{Target, http};
use crate::config::Config;
use serde_json::{Value, json};

#[derive(Debug, clap::Subcommand)]
pub enum NotifyCmd {
    /// Endpoints: webhook URLs, email and SMS recipients.
    #[command(subcommand)]
    Endpoints(EndpointsCmd),
    /// Which transitions go to which endpoint.
    #[command(subcommand)]
    Subscriptions(SubscriptionsCmd),
    /// Customers' contact details and opt-outs.
    #[command(subcommand)]
    Contacts(ContactsCmd),
    /// Every notification of an order with every attempt (codes, latencies, errors).
    Log {
        order_id: String,
        #[command(flatten)]
        target: Target,
    },
    /// Dead letters: notifications given up on, with their attempt logs.
    DeadLetters {
        /// Send this dead letter again (same idempotency key).
        #[arg(long)]
        replay: Option<String>,
        /// Send every dead letter again.
        #[arg(long, conflicts_with = "replay")]
        all: bool,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum EndpointsCmd {
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Registers an endpoint. A webhook without --secret gets one made (printed once).
    Add {
        #[arg(long)]
        name: String,
        /// webhook, email or sms.
        #[arg(long)]
        kind: String,
        /// A webhook's URL (`--url` is the server's, as in every client command).
        #[arg(long)]
        webhook_url: Option<String>,
        /// A webhook's signing secret (whsec_...); repeat during a rotation, newest first.
        #[arg(long)]
        secret: Vec<String>,
        /// A webhook's timeout in milliseconds.
        #[arg(long)]
        timeout_ms: Option<u64>,
        /// An email or SMS endpoint's recipient: `customer` or an address/number.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Deletes an endpoint and its subscriptions.
    Rm {
        /// Its id, as listed (`ep_...` or `sub_...`).
        id: String,
        #[command(flatten)]
        target: Target,
    },
    /// Sends a test notification now and prints how it went.
    Test {
        /// Its id, as listed (`ep_...`).
        id: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum SubscriptionsCmd {
    List {
        #[command(flatten)]
        target: Target,
    },
    Add {
        #[arg(long)]
        name: String,
        /// The endpoint's id, as listed (`ep_...`).
        #[arg(long)]
        endpoint: String,
        /// Transitions: status names and alert.raised; repeatable, or commas.
        #[arg(long, required = true, value_delimiter = ',')]
        on: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        channel: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        carrier: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        tag: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
    Rm {
        /// Its id, as listed (`ep_...` or `sub_...`).
        id: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum ContactsCmd {
    Show {
        customer_id: String,
        #[command(flatten)]
        target: Target,
    },
    /// Sets a customer's whole contact record.
    Set {
        customer_id: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        locale: Option<String>,
        /// Channels the customer opted out of (email, sms, webhook); repeatable, or commas.
        #[arg(long, value_delimiter = ',')]
        opt_out: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
}

pub async fn run(cfg: &Config, cmd: NotifyCmd) -> anyhow::Result<()> {
    let c = http()?;
    let out = match cmd {
        NotifyCmd::Endpoints(EndpointsCmd::List { target }) => {
            let url = format!("{}/v1/notify/endpoints", target.base(cfg));
            let page = answer(c.get(&url).bearer_auth(&target.key), &url).await?;
            return lines(&page["endpoints"]);
        }
        NotifyCmd::Endpoints(EndpointsCmd::Add {
            name,
            kind,
            webhook_url: hook,
            secret,
            timeout_ms,
            to,
            target,
        }) => {
            let mut body = json!({ "name": name, "kind": kind });
            if let Some(u) = hook {
                body["url"] = json!(u);
            }
            if !secret.is_empty() {
                body["secrets"] = json!(secret);
            }
            if let Some(t) = timeout_ms {
                body["timeout_ms"] = json!(t);
            }
            if let Some(t) = to {
                body["to"] = json!(t);
            }
            let url = format!("{}/v1/notify/endpoints", target.base(cfg));
            answer(c.post(&url).bearer_auth(&target.key).json(&body), &url).await?
        }
        NotifyCmd::Endpoints(EndpointsCmd::Rm { id, target }) => {
            let url = format!("{}/v1/notify/endpoints/{}", target.base(cfg), encode(&id));
            answer(c.delete(&url).bearer_auth(&target.key), &url).await?;
            json!({ "deleted": id })
        }
        NotifyCmd::Endpoints(EndpointsCmd::Test { id, target }) => {
            let base = target.base(cfg);
            let url = format!("{base}/v1/notify/endpoints/{}/test", encode(&id));
            let sent = answer(c.post(&url).bearer_auth(&target.key), &url).await?;
            // Wait a little for the outcome: a test is for a person at a terminal.
            let nid = sent["id"].as_str().unwrap_or_default();
            let url = format!("{base}/v1/notify/notifications/{}", encode(nid));
            let mut last = sent;
            for _ in 0..50 {
                if last["state"] != "pending" || last["attempts"].as_u64().unwrap_or(0) > 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                last = answer(c.get(&url).bearer_auth(&target.key), &url).await?;
            }
            last
        }
        NotifyCmd::Subscriptions(SubscriptionsCmd::List { target }) => {
            let url = format!("{}/v1/notify/subscriptions", target.base(cfg));
            let page = answer(c.get(&url).bearer_auth(&target.key), &url).await?;
            return lines(&page["subscriptions"]);
        }
        NotifyCmd::Subscriptions(SubscriptionsCmd::Add {
            name,
            endpoint,
            on,
            channel,
            carrier,
            tag,
            target,
        }) => {
            let body = json!({
                "name": name, "endpoint_id": endpoint, "on": on,
                "channels": channel, "carriers": carrier, "tags": tag,
            });
            let url = format!("{}/v1/notify/subscriptions", target.base(cfg));
            answer(c.post(&url).bearer_auth(&target.key).json(&body), &url).await?
        }
        NotifyCmd::Subscriptions(SubscriptionsCmd::Rm { id, target }) => {
            let url = format!(
                "{}/v1/notify/subscriptions/{}",
                target.base(cfg),
                encode(&id)
            );
            answer(c.delete(&url).bearer_auth(&target.key), &url).await?;
            json!({ "deleted": id })
        }
        NotifyCmd::Contacts(ContactsCmd::Show {
            customer_id,
            target,
        }) => {
            let url = contact_url(&target.base(cfg), &customer_id);
            answer(c.get(&url).bearer_auth(&target.key), &url).await?
        }
        NotifyCmd::Contacts(ContactsCmd::Set {
            customer_id,
            email,
            phone,
            locale,
            opt_out,
            target,
        }) => {
            let body =
                json!({ "email": email, "phone": phone, "locale": locale, "opted_out": opt_out });
            let url = contact_url(&target.base(cfg), &customer_id);
            answer(c.put(&url).bearer_auth(&target.key).json(&body), &url).await?
        }
        NotifyCmd::Log { order_id, target } => {
            let url = format!(
                "{}/v1/orders/{}/notifications",
                target.base(cfg),
                encode(&order_id)
            );
            let page = answer(c.get(&url).bearer_auth(&target.key), &url).await?;
            return lines(&page["notifications"]);
        }
        NotifyCmd::DeadLetters {
            replay,
            all,
            target,
        } => {
            let base = target.base(cfg);
            let mut ids: Vec<String> = replay.iter().cloned().collect();
            let mut after: Option<String> = None;
            loop {
                let mut url = format!("{base}/v1/notify/dead-letters?limit=500");
                if let Some(a) = &after {
                    url.push_str(&format!("&after={}", encode(a)));
                }
                let page = answer(c.get(&url).bearer_auth(&target.key), &url).await?;
                let items = page["notifications"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if replay.is_none() && !all {
                    for n in &items {
                        println!("{n}");
                    }
                }
                if all {
                    ids.extend(
                        items
                            .iter()
                            .filter_map(|n| n["id"].as_str().map(str::to_owned)),
                    );
                }
                match page["next_after"].as_str() {
                    Some(next) if replay.is_none() => after = Some(next.to_owned()),
                    _ => break,
                }
            }
            let mut replayed = 0;
            for id in ids {
                let url = format!("{base}/v1/notify/notifications/{}/replay", encode(&id));
                answer(c.post(&url).bearer_auth(&target.key), &url).await?;
                replayed += 1;
            }
            if replay.is_none() && !all {
                return Ok(());
            }
            json!({ "replayed": replayed })
        }
    };
    println!("{out}");
    Ok(())
}

fn lines(items: &Value) -> anyhow::Result<()> {
    for item in items.as_array().into_iter().flatten() {
        println!("{item}");
    }
    Ok(())
}

fn contact_url(base: &str, customer_id: &str) -> String {
    format!("{base}/v1/notify/contacts/{}", encode(customer_id))
}

/// Percent-encodes a path segment (or a query value).
pub(crate) fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
