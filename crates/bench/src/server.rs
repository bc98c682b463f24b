//! A throwaway Waypost server for one benchmark run: the real binary (`current_exe`), a fresh data
//! directory, a key made with `keys create`, and a port of its own. It is a child process rather
//! than an in-process task so that its memory can be measured alone and the benchmark's own
//! clients do not compete with it inside one runtime.

use anyhow::{Context as _, bail};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const RSS_EVERY: Duration = Duration::from_millis(100);

pub struct LocalServer {
    pub url: String,
    pub key: String,
    /// Killed on drop too, so an error anywhere in the run does not leave a server behind.
    child: Child,
    pid: u32,
    sampler: JoinHandle<()>,
    /// Highest VmRSS sampled so far, in kB.
    peak_kb: Arc<AtomicU64>,
    /// Declared last: fields drop in order, so the directory goes after the child is killed.
    dir: tempfile::TempDir,
}

impl LocalServer {
    pub async fn start(client: &reqwest::Client) -> anyhow::Result<Self> {
        Self::start_configured(client, &[]).await
    }

    /// Starts with configuration: each `(name, text)` is written into the data directory
    /// (where `{dir}` in a text becomes that directory's path), and one named `waypost.toml`
    /// is passed as `--config`. The order-intake bench gives its tenant's accounts and
    /// profile this way, as an operator would.
    pub async fn start_configured(
        client: &reqwest::Client,
        files: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding the waypost executable")?;
        let dir = tempfile::Builder::new()
            .prefix("waypost-bench-")
            .tempdir()
            .context("creating a temporary data directory")?;
        let key = create_key(&exe, dir.path()).await?;
        let mut config_args = Vec::new();
        for (name, text) in files {
            let path = dir.path().join(name);
            let text = text.replace("{dir}", &dir.path().display().to_string());
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            if *name == "waypost.toml" {
                config_args.push(std::ffi::OsString::from("--config"));
                config_args.push(path.into_os_string());
            }
        }

        // The port is released before the server binds it; another process could take it in
        // between, which readiness polling would then report as a failed start.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port")?
            .port();
        let listen = format!("127.0.0.1:{port}");
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).context("creating the server log file")?;
        let log_err = log.try_clone().context("sharing the server log file")?;
        let child = Command::new(&exe)
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--listen", &listen])
            .args(&config_args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting `{} serve`", exe.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let peak_kb = Arc::new(AtomicU64::new(0));
        let sampler = tokio::spawn(sample_rss(pid, peak_kb.clone()));
        let mut server = LocalServer {
            url: format!("http://{listen}"),
            key,
            child,
            pid,
            sampler,
            peak_kb,
            dir,
        };
        if let Err(e) = server.wait_ready(client).await {
            let tail = log_tail(&log_path);
            return Err(e.context(format!(
                "the server did not become ready; its log ends with:\n{tail}"
            )));
        }
        Ok(server)
    }

    async fn wait_ready(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        let url = format!("{}/readyz", self.url);
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .try_wait()
                .context("checking on the server process")?
            {
                bail!("the server exited with {status}");
            }
            match client
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await
            {
                Ok(r) if r.status() == reqwest::StatusCode::OK => return Ok(()),
                Ok(r) => last = format!("{url} answered {}", r.status()),
                Err(e) => last = format!("{url}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("not ready after {READY_TIMEOUT:?} ({last})")
    }

    /// Stops the server and returns its peak resident memory in MB, if it could be read.
    /// The server's data directory (a tool connection may write users there while it runs).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub async fn stop(mut self) -> anyhow::Result<Option<f64>> {
        self.sampler.abort();
        // VmHWM is the kernel's own high-water mark, so a spike between two samples still counts.
        let hwm = read_status_kb(self.pid, "VmHWM").await;
        let peak = self.peak_kb.load(Relaxed).max(hwm.unwrap_or(0));
        self.child.start_kill().context("killing the server")?;
        tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .context("the server did not exit after being killed")?
            .context("waiting for the server to exit")?;
        tracing::debug!(dir = %self.dir.path().display(), "bench server stopped");
        Ok((peak > 0).then(|| peak as f64 / 1024.0))
    }
}

/// Runs `waypost keys create` against the fresh data directory and returns the key it prints.
async fn create_key(exe: &Path, dir: &Path) -> anyhow::Result<String> {
    let output = Command::new(exe)
        .args([
            "keys",
            "create",
            "--tenant",
            "bench",
            "--scopes",
            "ingest,read,admin",
        ])
        .arg("--data-dir")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .await
        .context("running `waypost keys create`")?;
    if !output.status.success() {
        bail!(
            "`waypost keys create` failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    // The key is printed alone; taking the last line tolerates a log line before it.
    let stdout = String::from_utf8(output.stdout).context("the key printed is not UTF-8")?;
    match stdout.lines().map(str::trim).rfind(|l| !l.is_empty()) {
        Some(key) => Ok(key.to_owned()),
        None => bail!("`waypost keys create` printed no key"),
    }
}

async fn sample_rss(pid: u32, peak_kb: Arc<AtomicU64>) {
    let mut tick = tokio::time::interval(RSS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match read_status_kb(pid, "VmRSS").await {
            Some(kb) => {
                peak_kb.fetch_max(kb, Relaxed);
            }
            // No /proc (not Linux) or the process is gone: nothing more to sample.
            None => return,
        }
    }
}

async fn read_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = tokio::fs::read_to_string(format!("/proc/{pid}/status"))
        .await
        .ok()?;
    status_kb(&status, field)
}

/// A `Field:   1234 kB` line of `/proc/PID/status`.
fn status_kb(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// The end of the server's log, for an error message when it fails to start.
fn log_tail(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(log) => {
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n");
            if tail.is_empty() {
                "(empty)".to_owned()
            } else {
                tail
            }
        }
        Err(e) => format!("(unreadable: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kb_fields_of_proc_status() {
        let status = "Name:\twaypost\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n";
        assert_eq!(status_kb(status, "VmRSS"), Some(102_400));
        assert_eq!(status_kb(status, "VmHWM"), Some(204_800));
        assert_eq!(status_kb(status, "VmSwap"), None);
        assert_eq!(status_kb(status, "Threads"), None, "not a kB field");
    }
}
