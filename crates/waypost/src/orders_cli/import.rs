//! `waypost orders import FILE`: reads a CSV (with its column map) or JSON-lines file here,
//! states each order in Waypost's schema and posts them in batches to
//! `POST /v1/channels/{csv|jsonl}/orders`, waiting out 429s. The report names every refused
//! row with its line: the reader's refusals with the row's own line, the server's with the
//! order's first line.

use super::Server;
use crate::config::Config;
use anyhow::{Context, bail};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use waypost_api::dto::orders::OrdersReceipt;
use waypost_orders::channels::generic::GenericOrder;
use waypost_orders::channels::tabular::{self, ColumnMap, TabularRead};

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The file: `.csv` (read with `--map`) or `.jsonl` / `.ndjson` (one order per line in
    /// Waypost's order schema).
    pub file: PathBuf,
    /// The CSV's column map (TOML): which column holds which field (docs/orders.md).
    #[arg(long)]
    pub map: Option<PathBuf>,
    /// Place every order in this account (otherwise each order's account column or field
    /// decides, or the tenant's account of the channel).
    #[arg(long)]
    pub account: Option<String>,
    /// Read the file as this format, whatever its name ends with.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Orders per request (1 to 1000).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub batch: u16,
    /// Print the report as JSON on standard output instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    fn channel(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

/// Who refused a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefusedBy {
    /// The file's reader, here: nothing of the row was sent.
    Reader,
    /// The server: the order was sent and could not be placed.
    Server,
}

/// One refused row (or order, for the server: its first line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    pub by: RefusedBy,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub file: String,
    /// Orders the server took into its order book (duplicates included).
    pub imported: u64,
    pub accepted: u64,
    pub backordered: u64,
    pub held: u64,
    pub rejected: u64,
    pub cancelled: u64,
    /// Of the imported, those the server already had exactly so.
    pub duplicates: u64,
    /// Rows refused, every one named, by line.
    pub refused: Vec<Refused>,
}

impl Report {
    fn count(&mut self, receipt: &OrdersReceipt) {
        for r in &receipt.results {
            self.imported += 1;
            self.duplicates += u64::from(r.duplicate);
            match r.status.as_str() {
                "accepted" => self.accepted += 1,
                "backordered" => self.backordered += 1,
                "held" => self.held += 1,
                "rejected" => self.rejected += 1,
                "cancelled" => self.cancelled += 1,
                _ => {}
            }
        }
    }

    /// The report for a person.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{}: {} imported ({} accepted, {} backordered, {} held, {} rejected, {} cancelled; {} already known), {} refused\n",
            self.file,
            self.imported,
            self.accepted,
            self.backordered,
            self.held,
            self.rejected,
            self.cancelled,
            self.duplicates,
            self.refused.len()
        );
        if !self.refused.is_empty() {
            let rows: Vec<Vec<String>> = self
                .refused
                .iter()
                .map(|r| {
                    vec![
                        r.line.to_string(),
                        r.order_id.clone().unwrap_or_else(|| "-".into()),
                        match r.by {
                            RefusedBy::Reader => "reader".into(),
                            RefusedBy::Server => "server".into(),
                        },
                        r.reason.clone(),
                    ]
                })
                .collect();
            out.push_str(&super::table(&["LINE", "ORDER", "BY", "REASON"], &rows));
        }
        out
    }
}

/// Reads the file into orders (with their first line) and the rows its reader refused.
pub fn read(bytes: &[u8], format: Format, map: Option<&ColumnMap>) -> anyhow::Result<TabularRead> {
    match format {
        Format::Jsonl => Ok(tabular::jsonl(bytes)),
        Format::Csv => {
            let Some(map) = map else {
                bail!(
                    "a CSV needs its column map: --map MAP.toml naming the column of each field (docs/orders.md)"
                );
            };
            // A file that cannot be read at all (a mapped column missing from its header):
            // nothing is sent.
            Ok(tabular::csv(bytes, map)?)
        }
    }
}

fn format_of(args: &ImportArgs) -> anyhow::Result<Format> {
    if let Some(f) = args.format {
        return Ok(f);
    }
    let ext = args
        .file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => Ok(Format::Csv),
        Some("jsonl" | "ndjson") => Ok(Format::Jsonl),
        _ => bail!(
            "{}: say which format it is with --format csv or --format jsonl",
            args.file.display()
        ),
    }
}

pub async fn run(cfg: &Config, client: &reqwest::Client, args: ImportArgs) -> anyhow::Result<()> {
    let format = format_of(&args)?;
    let map = match &args.map {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading the column map {}", p.display()))?;
            Some(
                toml::from_str::<ColumnMap>(&text)
                    .with_context(|| format!("the column map {}", p.display()))?,
            )
        }
        None => None,
    };
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let read = read(&bytes, format, map.as_ref())
        .with_context(|| format!("{}: nothing was sent", args.file.display()))?;
    let mut report = Report {
        file: args.file.display().to_string(),
        ..Report::default()
    };
    report
        .refused
        .extend(read.refused.into_iter().map(|r| Refused {
            line: r.line,
            order_id: None,
            by: RefusedBy::Reader,
            reason: r.reason,
        }));
    let orders: Vec<(u64, GenericOrder)> = read
        .orders
        .iter()
        .map(|(line, o)| (*line, GenericOrder::from(o)))
        .collect();
    let url = format!(
        "{}/v1/channels/{}/orders",
        args.server.base(cfg),
        format.channel()
    );
    let sender = Sender {
        client,
        url: &url,
        key: &args.server.key,
        account: args.account.as_deref(),
    };
    let mut progress = Progress::new(orders.len());
    for batch in orders.chunks(usize::from(args.batch)) {
        sender.send(batch, &mut report).await?;
        progress.advance(batch.len(), &report);
    }
    progress.finish();
    report.refused.sort_by_key(|r| r.line);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    if !report.refused.is_empty() {
        bail!(
            "{} rows of {} were refused (listed above)",
            report.refused.len(),
            report.file
        );
    }
    Ok(())
}

/// How long a busy server may keep us waiting in all, before the import gives up.
const MAX_WAIT: Duration = Duration::from_secs(600);

struct Sender<'a> {
    client: &'a reqwest::Client,
    url: &'a str,
    key: &'a str,
    account: Option<&'a str>,
}

/// What one request gave.
enum Answer {
    Taken(OrdersReceipt),
    /// 422: the server could not read the batch. Our own serialization should always read,
    /// so this is one order the server's schema refuses: found by sending them one by one.
    Unreadable(String),
}

impl Sender<'_> {
    async fn send(&self, batch: &[(u64, GenericOrder)], report: &mut Report) -> anyhow::Result<()> {
        match self.post(batch).await? {
            Answer::Taken(receipt) => self.take(batch, receipt, report),
            Answer::Unreadable(detail) if batch.len() == 1 => {
                report.refused.push(Refused {
                    line: batch[0].0,
                    order_id: Some(batch[0].1.order_id.clone()),
                    by: RefusedBy::Server,
                    reason: detail,
                });
            }
            Answer::Unreadable(_) => {
                for one in batch {
                    match self.post(std::slice::from_ref(one)).await? {
                        Answer::Taken(receipt) => {
                            self.take(std::slice::from_ref(one), receipt, report)
                        }
                        Answer::Unreadable(detail) => report.refused.push(Refused {
                            line: one.0,
                            order_id: Some(one.1.order_id.clone()),
                            by: RefusedBy::Server,
                            reason: detail,
                        }),
                    }
                }
            }
        }
        Ok(())
    }

    /// Counts a receipt; its refusals are named by their index in the batch.
    fn take(&self, batch: &[(u64, GenericOrder)], receipt: OrdersReceipt, report: &mut Report) {
        report.count(&receipt);
        for r in receipt.refused {
            let sent = usize::try_from(r.index).ok().and_then(|i| batch.get(i));
            report.refused.push(Refused {
                line: sent.map_or(0, |(line, _)| *line),
                order_id: r.order_id.or_else(|| sent.map(|(_, o)| o.order_id.clone())),
                by: RefusedBy::Server,
                reason: r.reason,
            });
        }
    }

    /// Posts one batch, waiting out a busy server (429) or a store that asked for a retry
    /// (503 with Retry-After): what the server took before it stopped is found again as a
    /// duplicate.
    async fn post(&self, batch: &[(u64, GenericOrder)]) -> anyhow::Result<Answer> {
        let body: Vec<&GenericOrder> = batch.iter().map(|(_, o)| o).collect();
        let mut waited = Duration::ZERO;
        loop {
            let mut req = self.client.post(self.url).bearer_auth(self.key).json(&body);
            if let Some(a) = self.account {
                req = req.query(&[("account", a)]);
            }
            let resp = req
                .send()
                .await
                .with_context(|| format!("calling {}", self.url))?;
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let text = resp.text().await.unwrap_or_default();
            if status.is_success() {
                let receipt: OrdersReceipt = serde_json::from_str(&text)
                    .with_context(|| format!("reading the answer of {}", self.url))?;
                return Ok(Answer::Taken(receipt));
            }
            let value: serde_json::Value =
                serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
            let detail = value["detail"]
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            let retryable = status == reqwest::StatusCode::TOO_MANY_REQUESTS
                || (status == reqwest::StatusCode::SERVICE_UNAVAILABLE && retry_after.is_some());
            if retryable {
                let wait = Duration::from_secs(retry_after.unwrap_or(1).clamp(1, 60));
                if waited + wait > MAX_WAIT {
                    bail!(
                        "the server stayed busy for {} s ({status}: {detail}); what was sent before is stored, run the import again to send the rest",
                        waited.as_secs()
                    );
                }
                tracing::debug!(secs = wait.as_secs(), %status, "server busy, waiting");
                tokio::time::sleep(wait).await;
                waited += wait;
                continue;
            }
            if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
                return Ok(Answer::Unreadable(detail));
            }
            bail!(
                "the server answered {status}: {detail}; what was sent before is stored, run the import again to send the rest"
            );
        }
    }
}

/// A bar on stderr, for a person only: a script reading stderr gets nothing of it.
struct Progress {
    tty: bool,
    total: usize,
    done: usize,
    started: Instant,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal() && total > 0,
            total,
            done: 0,
            started: Instant::now(),
        }
    }

    fn advance(&mut self, n: usize, report: &Report) {
        self.done += n;
        if self.tty {
            let mut err = std::io::stderr().lock();
            // \r and "erase line": the bar is redrawn in place.
            let _ = write!(
                err,
                "\r\x1b[2K{}",
                bar(self.done, self.total, self.started.elapsed(), report)
            );
            let _ = err.flush();
        }
    }

    fn finish(&self) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
    }
}

/// `[#######·······] 400/1000 orders, 120/s: 380 accepted, 15 held, 2 refused`.
fn bar(done: usize, total: usize, elapsed: Duration, r: &Report) -> String {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    format!(
        "[{}{}] {done}/{total} orders, {rate:.0}/s: {} accepted, {} held, {} rejected, {} refused",
        "#".repeat(filled),
        "·".repeat(WIDTH - filled),
        r.accepted + r.backordered,
        r.held,
        r.rejected,
        r.refused.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "order_id = \"Order\"\nsku = \"SKU\"\nquantity = \"Qty\"\n";

    #[test]
    fn a_csv_reads_into_orders_and_refused_rows_with_their_lines() {
        let map: ColumnMap = toml::from_str(MAP).expect("map");
        let csv = b"Order,SKU,Qty\nA-1,S1,2\nA-1,S2,1\nA-2,,1\nA-3,S1,zero\n";
        let r = read(csv, Format::Csv, Some(&map)).expect("reads");
        assert_eq!(r.orders.len(), 1);
        assert_eq!(r.orders[0].0, 2);
        let g = GenericOrder::from(&r.orders[0].1);
        assert_eq!(g.order_id, "A-1");
        assert_eq!(g.lines.len(), 2);
        let lines: Vec<u64> = r.refused.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![4, 5]);
        assert!(read(csv, Format::Csv, None).is_err());
    }

    #[test]
    fn the_report_names_every_refused_row() {
        let mut r = Report {
            file: "x.csv".into(),
            imported: 3,
            accepted: 2,
            held: 1,
            ..Report::default()
        };
        r.refused.push(Refused {
            line: 4,
            order_id: None,
            by: RefusedBy::Reader,
            reason: "empty SKU".into(),
        });
        let t = r.text();
        assert!(
            t.starts_with("x.csv: 3 imported (2 accepted, 0 backordered, 1 held"),
            "{t}"
        );
        assert!(t.contains("1 refused"), "{t}");
        assert!(t.contains("4     -      reader  empty SKU"), "{t}");
    }

    #[test]
    fn the_bar_fills_with_what_is_done() {
        let r = Report::default();
        let b = bar(5, 10, Duration::from_secs(1), &r);
        assert!(
            b.starts_with(&format!("[{}{}] 5/10", "#".repeat(15), "·".repeat(15))),
            "{b}"
        );
        assert!(bar(0, 0, Duration::ZERO, &r).starts_with("[###"));
    }

    /// A stand-in server: busy once (429, Retry-After 1), then a receipt that refuses the
    /// second order of each batch; a batch holding `BAD` is unreadable (422), and so is `BAD`
    /// alone.
    async fn stand_in() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls = std::sync::Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let app = axum::Router::new().route(
            "/v1/channels/csv/orders",
            axum::routing::post(move |body: axum::Json<Vec<serde_json::Value>>| {
                let seen = seen.clone();
                async move {
                    if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "{}")
                            .into_response();
                    }
                    if body.iter().any(|o| o["order_id"] == "BAD") {
                        let p = serde_json::json!({"detail": "order_id: BAD is refused"});
                        return (StatusCode::UNPROCESSABLE_ENTITY, p.to_string()).into_response();
                    }
                    let result = |o: &serde_json::Value| serde_json::json!({
                        "order_id": o["order_id"], "account": "web", "version": 1,
                        "status": "accepted", "duplicate": false, "stale": false,
                        "outcome": "pass", "because": []});
                    let results: Vec<_> = body.iter().take(1).map(result).collect();
                    let refused: Vec<_> = body.iter().skip(1).take(1)
                        .map(|_| serde_json::json!({"index": 1, "order_id": null, "reason": "no api account lists \"ghost\""}))
                        .collect();
                    axum::Json(serde_json::json!({"results": results, "refused": refused}))
                        .into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/v1/channels/csv/orders"), calls)
    }

    fn order(id: &str) -> GenericOrder {
        serde_json::from_value(serde_json::json!({"order_id": id, "lines": [{"quantity": 1}]}))
            .expect("order")
    }

    #[tokio::test]
    async fn a_busy_server_is_waited_out_and_refusals_map_back_to_their_lines() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (url, calls) = stand_in().await;
        let client = reqwest::Client::new();
        let sender = Sender {
            client: &client,
            url: &url,
            key: "k",
            account: None,
        };
        let mut report = Report::default();
        sender
            .send(&[(2, order("A")), (5, order("B"))], &mut report)
            .await
            .expect("sent");
        assert_eq!((report.imported, report.accepted), (1, 1));
        assert_eq!(
            report.refused,
            vec![Refused {
                line: 5,
                order_id: Some("B".into()),
                by: RefusedBy::Server,
                reason: "no api account lists \"ghost\"".into(),
            }]
        );
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "one 429, then the batch"
        );

        // An unreadable batch is sent again one order at a time: only the bad one is refused.
        let mut report = Report::default();
        sender
            .send(&[(7, order("C")), (9, order("BAD"))], &mut report)
            .await
            .expect("sent");
        assert_eq!(report.imported, 1);
        assert_eq!(report.refused.len(), 1);
        assert_eq!(
            (report.refused[0].line, report.refused[0].reason.as_str()),
            (9, "order_id: BAD is refused")
        );
    }
}
