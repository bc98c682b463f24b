//! `waypost orders`: order intake from a terminal, a client of a running server's order API
//! (the server's order desk is the single writer of the order book). `import` reads a CSV or
//! JSON-lines file here, so a refused row is named with the line a person sees in an editor,
//! and sends the orders in Waypost's own schema; the other commands read and act on the
//! intake queue.

mod import;
mod stock;
mod view;

use crate::client::{Target, http};
use crate::config::Config;
use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use import::ImportArgs;

/// Where the server is and which key acts.
#[derive(Debug, Clone, clap::Args)]
pub struct Server {
    /// The server's base URL (default: http:// and the configured listen address).
    #[arg(long, env = "WAYPOST_URL")]
    pub url: Option<String>,
    /// An API key of the tenant to act for: the ingest scope to import, read to explain and
    /// list, operate to release, reject or re-validate.
    #[arg(long, env = "WAYPOST_KEY", hide_env_values = true)]
    pub key: String,
}

impl Server {
    fn base(&self, cfg: &Config) -> String {
        Target {
            url: self.url.clone(),
            key: self.key.clone(),
        }
        .base(cfg)
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum OrdersCmd {
    /// Send the orders of a CSV or JSON-lines file, in batches, and report what became of
    /// each: accepted, backordered, held, rejected, or refused with its line and reason.
    ///
    /// Exits non-zero when any row was refused (by the reader here or by the server).
    #[command(
        after_help = "Example:\n  waypost orders import march.csv --map shop-export.toml --account web --key $KEY\n  waypost orders import orders.jsonl --json"
    )]
    Import(ImportArgs),
    /// How an order entered: its outcome, every check's verdict with the layer it came from,
    /// the shadow profile's decision when it differs, its versions and audit trail.
    #[command(
        after_help = "Example:\n  waypost orders explain W-1001\n  waypost orders explain W-1001 --json | jq .decision"
    )]
    Explain {
        /// Waypost's order id.
        order: String,
        /// Print the server's answer as it is (JSON) instead of tables.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: Server,
    },
    /// The intake queue: held orders, highest impact first, with why each is held.
    #[command(after_help = "Example:\n  waypost orders queue --channel shopify --limit 20")]
    Queue {
        /// Statuses to list, commas between (accepted, backordered, held, rejected,
        /// cancelled); default held.
        #[arg(long)]
        status: Option<String>,
        /// Only this channel's orders (shopify, woocommerce, csv, ...).
        #[arg(long)]
        channel: Option<String>,
        /// Only this account's orders.
        #[arg(long)]
        account: Option<String>,
        /// At most this many (1 to 500).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per order and line instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: Server,
    },
    /// Release a held order into the flow as it is; its holds count as false positives of
    /// the checks that made them.
    #[command(
        after_help = "Example:\n  waypost orders release W-1001 --version 2 --note \"SKU added to the catalogue\""
    )]
    Release {
        /// Waypost's order id.
        order: String,
        /// The version you reviewed (`explain` shows it); a newer one refuses the release.
        #[arg(long)]
        version: i64,
        /// Why, for the audit trail.
        #[arg(long, alias = "reason")]
        note: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Reject a held order, saying why.
    #[command(
        after_help = "Example:\n  waypost orders reject W-1001 --version 2 --reason \"duplicate of W-0999\""
    )]
    Reject {
        /// Waypost's order id.
        order: String,
        /// The version you reviewed (`explain` shows it); a newer one refuses the rejection.
        #[arg(long)]
        version: i64,
        /// Why, for the audit trail and the channel (1 to 4096 characters).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        who: Who,
    },
    /// Add SKUs to the tenant's catalogue from a CSV file with a `sku` column (and `title`).
    #[command(after_help = "Example:\n  waypost orders catalogue skus.csv --key $KEY")]
    Catalogue {
        /// The CSV file: a header line naming `sku` and optionally `title`.
        file: std::path::PathBuf,
        #[command(flatten)]
        server: Server,
    },
    /// Set stock levels from a CSV file with `warehouse`, `sku`, `available` (and
    /// `counted_at`) columns; backorders the stock can serve are released.
    #[command(after_help = "Example:\n  waypost orders stock counts-2026-12-08.csv --key $KEY")]
    Stock {
        /// The CSV file: absolute units on hand per warehouse and SKU.
        file: std::path::PathBuf,
        #[command(flatten)]
        server: Server,
    },
    /// Judge every held order again with the profile now in force (after a profile change).
    #[command(after_help = "Example:\n  waypost orders revalidate")]
    Revalidate {
        /// Print the server's report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: Server,
    },
}

/// Who acts on a held order: the key (always recorded) and optionally the person using it.
#[derive(Debug, clap::Args)]
pub struct Who {
    /// The person acting (an email, say), recorded in the audit trail beside the key's id.
    #[arg(long)]
    pub actor: Option<String>,
    /// Print the order's queue entry as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: Server,
}

pub async fn run(cfg: &Config, cmd: OrdersCmd) -> anyhow::Result<()> {
    let client = http()?;
    match cmd {
        OrdersCmd::Import(args) => import::run(cfg, &client, args).await,
        OrdersCmd::Explain {
            order,
            json,
            server,
        } => {
            let url = format!(
                "{}/v1/orders/{}/intake",
                server.base(cfg),
                crate::notify::cli::encode(&order)
            );
            let raw = answer(client.get(&url).bearer_auth(&server.key), &url).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&raw)?);
                return Ok(());
            }
            let explain = typed(raw, "the explain answer")?;
            print!("{}", view::explain(&explain, jiff::Timestamp::now()));
            Ok(())
        }
        OrdersCmd::Queue {
            status,
            channel,
            account,
            limit,
            json,
            server,
        } => {
            check_limit(limit)?;
            let mut query: Vec<(&str, String)> = vec![("limit", limit.to_string())];
            query.extend(status.map(|s| ("status", s)));
            query.extend(channel.map(|c| ("channel", c)));
            query.extend(account.map(|a| ("account", a)));
            let url = format!("{}/v1/intake/queue", server.base(cfg));
            let raw = answer(
                client.get(&url).query(&query).bearer_auth(&server.key),
                &url,
            )
            .await?;
            let page: waypost_api::dto::orders::QueuePage = typed(raw, "the queue")?;
            if json {
                for o in &page.orders {
                    println!("{}", serde_json::to_string(o)?);
                }
            } else {
                print!("{}", view::queue(&page.orders, jiff::Timestamp::now()));
                if page.next.is_some() {
                    eprintln!("more orders follow; narrow the filters or raise --limit");
                }
            }
            Ok(())
        }
        OrdersCmd::Release {
            order,
            version,
            note,
            who,
        } => {
            let body = serde_json::json!({"version": version, "note": note, "actor": who.actor});
            act(cfg, &client, &order, "release", body, &who).await
        }
        OrdersCmd::Reject {
            order,
            version,
            reason,
            who,
        } => {
            let body =
                serde_json::json!({"version": version, "reason": reason, "actor": who.actor});
            act(cfg, &client, &order, "reject", body, &who).await
        }
        OrdersCmd::Catalogue { file, server } => {
            stock::catalogue(cfg, &client, &file, &server).await
        }
        OrdersCmd::Stock { file, server } => stock::stock(cfg, &client, &file, &server).await,
        OrdersCmd::Revalidate { json, server } => {
            let url = format!("{}/v1/intake/revalidate", server.base(cfg));
            let raw = answer(client.post(&url).bearer_auth(&server.key), &url).await?;
            if json {
                println!("{raw}");
                return Ok(());
            }
            let r: waypost_api::dto::orders::RevalidateReport = typed(raw, "the report")?;
            println!(
                "re-validated {} held orders: {} accepted, {} backordered, {} rejected, {} still held",
                r.examined, r.accepted, r.backordered, r.rejected, r.still_held
            );
            Ok(())
        }
    }
}

/// Releases or rejects one held order and prints where it now stands.
async fn act(
    cfg: &Config,
    client: &reqwest::Client,
    order: &str,
    action: &str,
    body: Value,
    who: &Who,
) -> anyhow::Result<()> {
    let url = format!(
        "{}/v1/intake/queue/{}/{action}",
        who.server.base(cfg),
        crate::notify::cli::encode(order)
    );
    let raw = answer(
        client.post(&url).bearer_auth(&who.server.key).json(&body),
        &url,
    )
    .await?;
    if who.json {
        println!("{raw}");
        return Ok(());
    }
    let item: waypost_api::dto::orders::QueueItem = typed(raw, "the order")?;
    println!(
        "order {}: {} (version {})",
        item.order_id, item.status, item.version
    );
    Ok(())
}

/// The JSON of a successful answer; a problem's detail as the error otherwise.
async fn answer(req: reqwest::RequestBuilder, url: &str) -> anyhow::Result<Value> {
    crate::alerts::answer(req, url).await
}

fn typed<T: DeserializeOwned>(v: Value, what: &str) -> anyhow::Result<T> {
    serde_json::from_value(v).with_context(|| format!("reading {what}: is the server older?"))
}

/// Rows under a header, columns padded to their widest cell; the last column is not padded.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let last = cells.len().saturating_sub(1);
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            out.push_str(c);
            if i < last {
                out.push_str(&" ".repeat(w.saturating_sub(c.chars().count()) + 2));
            }
        }
        out.push('\n');
    };
    line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for r in rows {
        line(r);
    }
    out
}

/// Refuses a command line that cannot work before anything is read or sent.
fn check_limit(limit: usize) -> anyhow::Result<()> {
    if !(1..=500).contains(&limit) {
        bail!("--limit {limit}: between 1 and 500");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_pads_every_column_but_the_last() {
        let t = table(
            &["A", "BB"],
            &[vec!["xyz".into(), "1".into()], vec!["".into(), "22".into()]],
        );
        assert_eq!(t, "A    BB\nxyz  1\n     22\n");
        assert!(check_limit(0).is_err());
        assert!(check_limit(50).is_ok());
    }
}
