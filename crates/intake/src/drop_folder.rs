//! Watched drop folders: each file a vendor of one source leaves there for one tenant is one
//! document through [`Intake`], then moved aside with its outcome.

use crate::Intake;
use std::path::{Path, PathBuf};
use std::time::Duration;
use waypost_adapters::Source;
use waypost_domain::TenantId;

/// A drop folder's settings, checked when the configuration was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropFolder {
    pub dir: PathBuf,
    pub tenant: TenantId,
    pub source: Source,
    /// How often the folder is scanned.
    pub every: Duration,
}

/// Watches one drop folder until `stop` turns true: each regular file (not starting with `.`,
/// so a writer can create `.name.tmp` and rename it when complete) is ingested as one
/// document, then moved to `done/`, or to `rejected/` with a `.problem.txt` beside it saying
/// why. A file that cannot be moved is left and retried; its events are deduplicated by then.
pub async fn watch(
    intake: Intake,
    folder: DropFolder,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let done = folder.dir.join("done");
    let rejected = folder.dir.join("rejected");
    for d in [&folder.dir, &done, &rejected] {
        if let Err(e) = tokio::fs::create_dir_all(d).await {
            tracing::error!(dir = %d.display(), error = %e, "drop folder unusable");
            return;
        }
    }
    tracing::info!(dir = %folder.dir.display(), source = folder.source.name(), tenant = %folder.tenant, "watching drop folder");
    loop {
        if let Err(e) = sweep(&intake, &folder, &done, &rejected).await {
            tracing::warn!(dir = %folder.dir.display(), error = %e, "drop folder sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(folder.every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// One pass over the folder, oldest name first; stops at the first file the intake defers
/// (busy or shutting down), which the next pass takes up again.
async fn sweep(
    intake: &Intake,
    folder: &DropFolder,
    done: &Path,
    rejected: &Path,
) -> std::io::Result<()> {
    let mut entries = tokio::fs::read_dir(&folder.dir).await?;
    let mut files = Vec::new();
    while let Some(e) = entries.next_entry().await? {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || !e.file_type().await?.is_file() {
            continue;
        }
        files.push((name.to_owned(), e.path()));
    }
    files.sort();
    for (name, path) in files {
        let meta = tokio::fs::metadata(&path).await?;
        if meta.len() as usize > waypost_adapters::MAX_DOCUMENT_BYTES {
            move_to(
                &path,
                rejected,
                &name,
                Some("larger than the document limit"),
            )
            .await;
            continue;
        }
        let body = tokio::fs::read(&path).await?;
        let outcome = intake
            .document(crate::DocumentIn {
                tenant: folder.tenant.clone(),
                source: folder.source,
                body: body.into(),
                received_at: intake.now(),
                origin: "file".to_owned(),
                replays_document: None,
            })
            .await;
        match outcome {
            Ok(r) => {
                tracing::info!(file = %name, events = r.events, accepted = r.accepted, unmapped = r.unmapped, "drop file ingested");
                move_to(&path, done, &name, None).await;
            }
            Err(e) if e.is_unreadable() => {
                let problem = e.to_string();
                tracing::warn!(file = %name, problem = %problem, "drop file rejected");
                move_to(&path, rejected, &name, Some(&problem)).await;
            }
            // Busy, shutting down or a failed read: leave the file for the next sweep.
            Err(e) => {
                tracing::info!(file = %name, problem = %e, "drop file deferred");
                break;
            }
        }
    }
    Ok(())
}

async fn move_to(path: &Path, dir: &Path, name: &str, problem: Option<&str>) {
    let target = dir.join(name);
    if let Err(e) = tokio::fs::rename(path, &target).await {
        tracing::warn!(file = %path.display(), error = %e, "cannot move drop file");
        return;
    }
    if let Some(p) = problem {
        // The file itself is already aside; a missing note is only a missing explanation.
        let _ = tokio::fs::write(dir.join(format!("{name}.problem.txt")), p).await;
    }
}
