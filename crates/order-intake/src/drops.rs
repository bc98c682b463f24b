//! Order drop folders: trading partners and exports leave files (X12 850 interchanges,
//! Waypost order JSON or JSON lines) in a folder; each is taken in whole, then moved to
//! `done/` (its 997 and 855s written to `acks/`), or to `rejected/` with a `.problem.txt`
//! saying why. A file the desk defers (busy, shutting down) stays and is taken up again on
//! the next pass; its orders are stored once whatever happens.

use crate::{DeskError, OrderDesk};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use waypost_domain::TenantId;
use waypost_orders::Channel;
use waypost_orders::channels::{ReadError, common::MAX_DOCUMENT_BYTES, generic, tabular};

/// `[[orders.drops]]`: a folder of one tenant's orders in one format.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrderDropConfig {
    pub dir: PathBuf,
    pub tenant: String,
    /// `x12` (850 interchanges), `api` (Waypost order JSON: one order or an array) or `jsonl`.
    pub channel: String,
    /// Forces the account; otherwise the document names it (X12: the ISA sender).
    #[serde(default)]
    pub account: Option<String>,
    /// How often the folder is scanned, in milliseconds (default 2000).
    #[serde(default)]
    pub poll_ms: Option<u64>,
}

/// A drop folder checked for use.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderDrop {
    pub dir: PathBuf,
    pub tenant: TenantId,
    pub channel: Channel,
    pub account: Option<String>,
    pub every: Duration,
}

impl OrderDropConfig {
    /// The folder's settings, or what is wrong with them (named by folder).
    pub fn check(&self) -> Result<OrderDrop, String> {
        let what = format!("orders.drops[{}]", self.dir.display());
        let tenant = TenantId::new(self.tenant.clone())
            .map_err(|e| format!("{what}.tenant {:?}: {e}", self.tenant))?;
        let channel = match Channel::parse(&self.channel) {
            Some(c @ (Channel::X12 | Channel::Api | Channel::Jsonl)) => c,
            _ => {
                return Err(format!(
                    "{what}.channel {:?}: a drop folder takes x12, api or jsonl",
                    self.channel
                ));
            }
        };
        Ok(OrderDrop {
            dir: self.dir.clone(),
            tenant,
            channel,
            account: self.account.clone(),
            every: Duration::from_millis(self.poll_ms.unwrap_or(2000).max(50)),
        })
    }
}

/// Watches one folder until `stop` turns true.
pub async fn watch(
    desk: OrderDesk,
    drop: OrderDrop,
    wall: std::sync::Arc<dyn waypost_domain::Clock>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let (done, rejected, acks) = (
        drop.dir.join("done"),
        drop.dir.join("rejected"),
        drop.dir.join("acks"),
    );
    for d in [&drop.dir, &done, &rejected, &acks] {
        if let Err(e) = tokio::fs::create_dir_all(d).await {
            tracing::error!(dir = %d.display(), error = %e, "order drop folder unusable");
            return;
        }
    }
    tracing::info!(dir = %drop.dir.display(), channel = %drop.channel, tenant = %drop.tenant, "watching order drop folder");
    loop {
        if let Err(e) = sweep(&desk, &drop, wall.as_ref()).await {
            tracing::warn!(dir = %drop.dir.display(), error = %e, "order drop folder sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(drop.every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// One pass, oldest name first; stops at the first file the desk defers.
pub async fn sweep(
    desk: &OrderDesk,
    drop: &OrderDrop,
    wall: &dyn waypost_domain::Clock,
) -> std::io::Result<usize> {
    let mut entries = tokio::fs::read_dir(&drop.dir).await?;
    let mut files = Vec::new();
    while let Some(e) = entries.next_entry().await? {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !e.file_type().await?.is_file() {
            continue;
        }
        files.push((name, e.path()));
    }
    files.sort();
    let mut taken = 0;
    for (name, path) in files {
        let meta = tokio::fs::metadata(&path).await?;
        let outcome = if meta.len() > MAX_DOCUMENT_BYTES as u64 {
            Err(format!(
                "{} bytes: larger than the {MAX_DOCUMENT_BYTES} a document may have; split it",
                meta.len()
            ))
        } else {
            let bytes = tokio::fs::read(&path).await?;
            match take(desk, drop, &name, &bytes, wall).await {
                Ok(()) => Ok(()),
                Err(DeskError::Busy { .. } | DeskError::ShuttingDown | DeskError::Store(_)) => {
                    // Deferred: the next pass takes it up again.
                    return Ok(taken);
                }
                Err(e) => Err(e.to_string()),
            }
        };
        match outcome {
            Ok(()) => move_to(&path, &drop.dir.join("done"), &name, None).await,
            Err(problem) => {
                tracing::warn!(file = %name, %problem, "order file rejected");
                move_to(&path, &drop.dir.join("rejected"), &name, Some(&problem)).await
            }
        }
        taken += 1;
    }
    Ok(taken)
}

async fn take(
    desk: &OrderDesk,
    drop: &OrderDrop,
    name: &str,
    bytes: &[u8],
    wall: &dyn waypost_domain::Clock,
) -> Result<(), DeskError> {
    let batch = match drop.channel {
        Channel::X12 => {
            let answer = desk
                .x12(&drop.tenant, bytes, drop.account.clone(), wall.now())
                .await?;
            let acks = drop.dir.join("acks");
            write(&acks.join(format!("{name}.997")), &answer.ack_997).await;
            for (i, a) in answer.acks_855.iter().enumerate() {
                write(&acks.join(format!("{name}.{}.855", i + 1)), a).await;
            }
            answer.batch
        }
        Channel::Jsonl => {
            let read = tabular::jsonl(bytes);
            if let Some(first) = read.refused.first() {
                return Err(DeskError::Unreadable(ReadError::new(
                    "jsonl",
                    format!("line {}", first.line),
                    format!(
                        "{} ({} line(s) refused in all)",
                        first.reason,
                        read.refused.len()
                    ),
                )));
            }
            desk.submit_batch(
                &drop.tenant,
                drop.channel,
                read.orders,
                drop.account.clone(),
                None,
            )
            .await?
        }
        _ => {
            let orders = generic::read(bytes).map_err(DeskError::Unreadable)?;
            let numbered = orders
                .into_iter()
                .enumerate()
                .map(|(i, o)| (i as u64, o))
                .collect();
            desk.submit_batch(
                &drop.tenant,
                drop.channel,
                numbered,
                drop.account.clone(),
                None,
            )
            .await?
        }
    };
    if let Some(r) = batch.refused.first() {
        // The others were taken; the file goes to rejected/ naming what was not.
        return Err(DeskError::Invalid(format!(
            "{} order(s) taken, {} refused; the first, at {}: {}",
            batch.results.len(),
            batch.refused.len(),
            r.index,
            r.reason
        )));
    }
    Ok(())
}

async fn write(path: &Path, text: &str) {
    // Written beside, then renamed: a partner's pick-up never reads half an acknowledgment.
    let tmp = path.with_extension("tmp");
    let res = async {
        tokio::fs::write(&tmp, text).await?;
        tokio::fs::rename(&tmp, path).await
    }
    .await;
    if let Err(e) = res {
        tracing::error!(file = %path.display(), error = %e, "could not write an acknowledgment");
    }
}

async fn move_to(path: &Path, dir: &Path, name: &str, problem: Option<&str>) {
    let target = dir.join(name);
    if let Err(e) = tokio::fs::rename(path, &target).await {
        tracing::error!(file = %path.display(), error = %e, "could not move a taken order file; it will be taken again, and stored once");
        return;
    }
    if let Some(p) = problem {
        write(&dir.join(format!("{name}.problem.txt")), p).await;
    }
}
