//! The checks behind the tidy tests (`tests/tidy.rs`): they read `cargo metadata` and the
//! sources and name every place where the house's rules are broken, with what to do about it.
//! The idea is rust-analyzer's `xtask/src/tidy.rs`: a rule that a test enforces does not drift.
//!
//! Invariant: the checkers are plain functions of their inputs (a metadata document, a file's
//! text); only [`walk`] and [`cargo_metadata`] touch the file system or run a process, so the
//! fixtures under `fixtures/` go through exactly the code the real workspace goes through.
//!
//! Every crate declares its floor in its Cargo.toml:
//!
//! ```toml
//! [package.metadata.waypost]
//! layer = "pure"   # or "backend", "service", "edge", "binary", "tooling"
//! ```

mod layers;
mod source;

pub use layers::{
    FORBIDDEN_IN_PURE, LAYERS, MUST_BE_PURE, Member, check_layers, members, pure_dependencies,
};
pub use source::{CodeRule, scan_file, walk};

use std::fmt;
use std::path::Path;
use std::process::Command;

/// One broken rule, where it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file (relative to the root that was scanned) or the manifest, with a line when known.
    pub place: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.place, self.message),
            None => write!(f, "{}: {}", self.place, self.message),
        }
    }
}

/// The findings as one report, one per line, for an assertion's message.
pub fn report(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("  {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `cargo metadata` of the workspace at `root`, resolved for the host only (another platform's
/// dependencies may not be downloaded, and the rules are about what is built here). The test
/// hands in the `cargo` and `rustc` to run: this library reads no environment.
pub fn cargo_metadata(cargo: &str, rustc: &str, root: &Path) -> Result<serde_json::Value, String> {
    let host = Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("running rustc -vV: {e}"))?;
    let host = String::from_utf8_lossy(&host.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .ok_or("rustc -vV names no host")?;
    let out = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .output()
        .map_err(|e| format!("running cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata's output: {e}"))
}
