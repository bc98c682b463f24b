//! `waypost orders catalogue import` and `waypost orders stock import`: a tenant's SKUs and
//! stock counts from CSV files (as spreadsheets and WMS exports write them), sent to the
//! running server in batches; every refused row is named by its line.

use super::{Server, answer};
use crate::config::Config;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::path::Path;

/// Rows per request (the server takes up to 10,000).
const BATCH: usize = 5000;

/// What a CSV holds: its header's columns, and each row's fields with its line.
struct Rows {
    columns: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

fn read(path: &Path) -> anyhow::Result<Rows> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    // A spreadsheet's byte-order mark is not part of the first column's name.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let columns = r
        .headers()
        .with_context(|| format!("{}: the header line", path.display()))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.with_context(|| format!("{}: a row", path.display()))?;
        let line = rec.position().map_or(0, |p| p.line());
        rows.push((line, rec.iter().map(|f| f.trim().to_string()).collect()));
    }
    Ok(Rows { columns, rows })
}

fn column(rows: &Rows, name: &str, path: &Path) -> anyhow::Result<usize> {
    rows.columns
        .iter()
        .position(|c| c == name)
        .with_context(|| {
            format!(
                "{}: no `{name}` column (the header has: {})",
                path.display(),
                rows.columns.join(", ")
            )
        })
}

/// Sends the catalogue file's SKUs; returns how many were written.
pub async fn catalogue(
    cfg: &Config,
    client: &reqwest::Client,
    file: &Path,
    server: &Server,
) -> anyhow::Result<()> {
    let rows = read(file)?;
    let sku = column(&rows, "sku", file)?;
    let title = rows.columns.iter().position(|c| c == "title");
    let mut refused = Vec::new();
    let mut items = Vec::new();
    for (line, f) in &rows.rows {
        match f.get(sku).filter(|s| !s.is_empty()) {
            Some(s) => items.push(
                json!({"sku": s, "title": title.and_then(|t| f.get(t)).filter(|t| !t.is_empty())}),
            ),
            None => refused.push(format!("line {line}: no sku")),
        }
    }
    let url = format!("{}/v1/catalogue", server.base(cfg));
    let mut written = 0;
    for chunk in items.chunks(BATCH) {
        let r = answer(client.put(&url).bearer_auth(&server.key).json(&chunk), &url).await?;
        written += r["written"].as_u64().unwrap_or(0);
    }
    println!(
        "{written} SKUs written to the catalogue, {} rows refused",
        refused.len()
    );
    finish(refused)
}

/// Sends the stock file's counts; prints the backorders they released.
pub async fn stock(
    cfg: &Config,
    client: &reqwest::Client,
    file: &Path,
    server: &Server,
) -> anyhow::Result<()> {
    let rows = read(file)?;
    let (wh, sku, avail) = (
        column(&rows, "warehouse", file)?,
        column(&rows, "sku", file)?,
        column(&rows, "available", file)?,
    );
    let at = rows.columns.iter().position(|c| c == "counted_at");
    let mut refused = Vec::new();
    let mut levels = Vec::new();
    for (line, f) in &rows.rows {
        let get = |i: usize| f.get(i).map(String::as_str).filter(|s| !s.is_empty());
        let (Some(w), Some(s), Some(a)) = (get(wh), get(sku), get(avail)) else {
            refused.push(format!(
                "line {line}: warehouse, sku and available are all required"
            ));
            continue;
        };
        let Ok(n) = a
            .parse::<f64>()
            .map_err(|_| ())
            .and_then(|n| if n.is_finite() { Ok(n) } else { Err(()) })
        else {
            refused.push(format!("line {line}: available {a:?} is not a number"));
            continue;
        };
        let mut level = json!({"warehouse": w, "sku": s, "available": n});
        if let Some(t) = at.and_then(get) {
            if t.parse::<jiff::Timestamp>().is_err() {
                refused.push(format!(
                    "line {line}: counted_at {t:?} is not RFC 3339 with an offset"
                ));
                continue;
            }
            level["counted_at"] = Value::from(t);
        }
        levels.push(level);
    }
    let url = format!("{}/v1/stock", server.base(cfg));
    let (mut changed, mut released) = (0, Vec::new());
    for chunk in levels.chunks(BATCH) {
        let r = answer(client.put(&url).bearer_auth(&server.key).json(&chunk), &url).await?;
        changed += r["changed"].as_u64().unwrap_or(0);
        released.extend(
            r["released"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string)),
        );
    }
    println!(
        "{changed} stock levels changed, {} rows refused; {} backordered orders released{}",
        refused.len(),
        released.len(),
        if released.is_empty() {
            String::new()
        } else {
            format!(": {}", released.join(", "))
        }
    );
    finish(refused)
}

fn finish(refused: Vec<String>) -> anyhow::Result<()> {
    for r in &refused {
        eprintln!("refused: {r}");
    }
    if !refused.is_empty() {
        bail!(
            "{} rows refused; fix them and import the file again (the rows taken are kept)",
            refused.len()
        );
    }
    Ok(())
}
