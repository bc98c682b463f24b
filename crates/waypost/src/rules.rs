//! `waypost rules check`: validates exception rules before a server is asked to use them.

use crate::config::Config;
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum RulesCmd {
    /// Validate the rules: those of a standalone rules file (`[[rules]]`, `[calendars.*]`), or
    /// without one, those of the configuration (`--config`). Prints every problem at once.
    Check {
        /// A rules file; without it, the configuration's rules are checked.
        file: Option<PathBuf>,
    },
}

pub fn run(cfg: &Config, cmd: RulesCmd) -> anyhow::Result<()> {
    let RulesCmd::Check { file } = cmd;
    let (rules, from) = match &file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let rules = waypost_rules::RuleSet::from_toml(&text)
                .map_err(|e| anyhow::anyhow!("{}:\n{e}", path.display()))?;
            (rules, path.display().to_string())
        }
        // Config::load has already refused invalid rules, naming each problem.
        None => (
            cfg.rule_set()?,
            cfg.loaded_from
                .as_ref()
                .map_or("the configuration".into(), |p| p.display().to_string()),
        ),
    };
    println!("{from}: {} rules, valid", rules.len());
    for r in rules.rules() {
        let state = if r.enabled { "" } else { " (disabled)" };
        println!(
            "  {:<32} {:<8} {:<8}{state}",
            r.name,
            r.kind.as_str(),
            r.severity.as_str()
        );
    }
    Ok(())
}
