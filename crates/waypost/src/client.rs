//! Commands that act on a running server through its API: the server is the single writer of
//! its store, so these never open the store themselves.

use anyhow::{Context, bail};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Target {
    /// The server's base URL (default: http:// and the configured listen address).
    #[arg(long)]
    pub url: Option<String>,
    /// An API key of the tenant to act for.
    #[arg(long)]
    pub key: String,
}

impl Target {
    pub(crate) fn base(&self, cfg: &crate::config::Config) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("http://{}", cfg.server.listen))
            .trim_end_matches('/')
            .to_owned()
    }
}

#[derive(Debug, clap::Args)]
pub struct IngestFileArgs {
    /// The documents' source (`waypost normalize --help` lists them).
    #[arg(long)]
    pub source: String,
    #[command(flatten)]
    pub target: Target,
    /// Vendor documents, one per file.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RemapArgs {
    /// Only this source's quarantine.
    #[arg(long)]
    pub source: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

pub(crate) fn http() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .context("building the HTTP client")
}

/// Sends each file as one document to `/v1/webhooks/{source}`; prints one JSON line per file.
pub async fn ingest_files(cfg: &crate::config::Config, args: IngestFileArgs) -> anyhow::Result<()> {
    let source: waypost_adapters::Source = args.source.parse()?;
    let url = format!("{}/v1/webhooks/{}", args.target.base(cfg), source.name());
    let client = http()?;
    let mut failed = 0;
    for file in &args.files {
        let body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let resp = client
            .post(&url)
            .bearer_auth(&args.target.key)
            .body(body)
            .send()
            .await
            .with_context(|| format!("sending {} to {url}", file.display()))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let answer: serde_json::Value =
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        println!(
            "{}",
            serde_json::json!({"file": file.display().to_string(), "status": status.as_u16(), "answer": answer})
        );
        if !status.is_success() {
            failed += 1;
        }
    }
    if failed > 0 {
        bail!("{failed} of {} files were not accepted", args.files.len());
    }
    Ok(())
}

/// Asks the server to reload its mapping tables and re-normalize the quarantine.
pub async fn remap(cfg: &crate::config::Config, args: RemapArgs) -> anyhow::Result<()> {
    let url = format!("{}/v1/unmapped/remap", args.target.base(cfg));
    let resp = http()?
        .post(&url)
        .bearer_auth(&args.target.key)
        .json(&serde_json::json!({ "source": args.source }))
        .send()
        .await
        .with_context(|| format!("calling {url}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    println!("{text}");
    if !status.is_success() {
        bail!("the server answered {status}");
    }
    Ok(())
}

#[derive(Debug, clap::Subcommand)]
pub enum DeadLettersCmd {
    /// Print the open dead letters (one JSON object per line, oldest first).
    List {
        /// Only this source's.
        #[arg(long)]
        source: Option<String>,
        /// Leave out the documents' bodies.
        #[arg(long)]
        brief: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Replay dead letters after an adapter or mapping fix: each is normalized again and, if it
    /// now reads, stored and marked replayed (a letter is replayed once).
    Replay {
        /// The letters to replay, by id as listed (`doc_...`); with none, `--all` is required.
        ids: Vec<String>,
        /// Every open letter (of `--source`, if given).
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        #[arg(long)]
        source: Option<String>,
        #[command(flatten)]
        target: Target,
    },
}

/// Every open dead letter of the key's tenant (of `source`, if given), following the pages.
pub(crate) async fn dead_letters(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    source: Option<&str>,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/v1/dead-letters?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={}", crate::notify::cli::encode(c)));
        }
        let resp = client
            .get(&url)
            .bearer_auth(key)
            .send()
            .await
            .with_context(|| format!("calling {url}"))?;
        let status = resp.status();
        let page: serde_json::Value = resp.json().await.context("reading the dead letters")?;
        if !status.is_success() {
            bail!("the server answered {status}: {page}");
        }
        if let Some(items) = page["items"].as_array() {
            out.extend(
                items
                    .iter()
                    .filter(|i| source.is_none_or(|s| i["source"] == s))
                    .cloned(),
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Ok(out),
        }
    }
}

pub async fn dead_letters_cmd(
    cfg: &crate::config::Config,
    cmd: DeadLettersCmd,
) -> anyhow::Result<()> {
    let client = http()?;
    match cmd {
        DeadLettersCmd::List {
            source,
            brief,
            target,
        } => {
            let base = target.base(cfg);
            for mut letter in dead_letters(&client, &base, &target.key, source.as_deref()).await? {
                if brief && let Some(o) = letter.as_object_mut() {
                    o.remove("body");
                }
                println!("{letter}");
            }
            Ok(())
        }
        DeadLettersCmd::Replay {
            ids,
            all,
            source,
            target,
        } => {
            let base = target.base(cfg);
            let ids = if all {
                dead_letters(&client, &base, &target.key, source.as_deref())
                    .await?
                    .iter()
                    .filter_map(|l| l["id"].as_str().map(str::to_owned))
                    .collect()
            } else if ids.is_empty() {
                bail!("name the dead letters to replay, or pass --all");
            } else {
                ids
            };
            let mut failed = 0;
            for id in &ids {
                let url = format!(
                    "{base}/v1/dead-letters/{}/replay",
                    crate::notify::cli::encode(id)
                );
                let resp = client
                    .post(&url)
                    .bearer_auth(&target.key)
                    .send()
                    .await
                    .with_context(|| format!("calling {url}"))?;
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                let answer: serde_json::Value =
                    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
                println!(
                    "{}",
                    serde_json::json!({"id": id, "status": status.as_u16(), "answer": answer})
                );
                failed += usize::from(!status.is_success());
            }
            if failed > 0 {
                bail!("{failed} of {} dead letters were not replayed", ids.len());
            }
            Ok(())
        }
    }
}
