//! Tenants' mapping-table overrides on disk, and `waypost mappings check|show`.
//!
//! Layout: `<dir>/<tenant>/<source>.toml`, each file in the shape of the shipped tables
//! (`crates/adapters/mappings/`) and naming its own source. A missing `<dir>` means no override.
//! Anything else in the tree that is not such a file is an error naming its path: a file dropped
//! in the wrong place should stop the start, not be silently ignored while the tenant's codes go
//! unmapped.

use anyhow::{Context as _, bail};
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use waypost_adapters::{MappingError, MappingSet, MappingTable, Source};
use waypost_domain::TenantId;

use crate::config::Config;

/// One override file, read and parsed.
#[derive(Debug)]
pub struct OverrideFile {
    pub path: PathBuf,
    pub tenant: TenantId,
    pub source: Source,
    pub table: MappingTable,
}

/// What a scan of the override directory found: the files that parsed, and one line per
/// problem (`path: message`), so `mappings check` can report them all at once.
#[derive(Debug, Default)]
pub struct Scan {
    pub files: Vec<OverrideFile>,
    pub problems: Vec<String>,
}

/// `path: code "X": message`, the shape operators grep for; `MappingError`'s own display
/// prefixes "mapping table", which is noise once every line is about one.
pub fn problem_line(e: &MappingError) -> String {
    match e {
        MappingError::Syntax { file, message } => format!("{file}: {}", message.trim_end()),
        MappingError::WrongSource {
            file,
            found,
            expected,
        } => format!("{file}: says source = {found:?}, expected {expected:?}"),
        MappingError::Entry {
            file,
            code,
            message,
        } => format!("{file}: code {code:?}: {message}"),
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let rd = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name();
        // Editors' swap files and `.git` are not overrides.
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        paths.push(entry.path());
    }
    paths.sort();
    Ok(paths)
}

/// Reads every override under `dir`; never stops at the first problem.
pub fn scan(dir: &Path) -> Scan {
    let mut out = Scan::default();
    if !dir.exists() {
        return out;
    }
    let tenants = match sorted_entries(dir) {
        Ok(t) => t,
        Err(e) => {
            out.problems.push(e);
            return out;
        }
    };
    for tenant_dir in tenants {
        let shown = tenant_dir.display();
        if !tenant_dir.is_dir() {
            out.problems.push(format!(
                "{shown}: expected a tenant folder (<dir>/<tenant>/<source>.toml)"
            ));
            continue;
        }
        let name = tenant_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tenant = match TenantId::new(name.as_str()) {
            Ok(t) => t,
            Err(e) => {
                out.problems
                    .push(format!("{shown}: {name:?} is not a tenant id: {e}"));
                continue;
            }
        };
        let files = match sorted_entries(&tenant_dir) {
            Ok(f) => f,
            Err(e) => {
                out.problems.push(e);
                continue;
            }
        };
        for path in files {
            match read_override(&path, &tenant) {
                Ok(file) => out.files.push(file),
                Err(e) => out.problems.push(e),
            }
        }
    }
    out
}

fn read_override(path: &Path, tenant: &TenantId) -> Result<OverrideFile, String> {
    let shown = path.display().to_string();
    let stem = match (
        path.extension().and_then(|e| e.to_str()),
        path.file_stem().and_then(|s| s.to_str()),
    ) {
        (Some("toml"), Some(stem)) if path.is_file() => stem,
        _ => return Err(format!("{shown}: expected <source>.toml")),
    };
    let source: Source = stem
        .parse()
        .map_err(|e: waypost_adapters::UnknownSource| format!("{shown}: {e}"))?;
    let text = fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    let table =
        MappingTable::from_toml(&shown, source.name(), &text).map_err(|e| problem_line(&e))?;
    Ok(OverrideFile {
        path: path.to_owned(),
        tenant: tenant.clone(),
        source,
        table,
    })
}

/// The shipped tables with every override under `dir` merged in. Any problem reading the
/// overrides fails the whole load: a server must not start with half a tenant's mapping.
pub fn load_from(dir: &Path) -> anyhow::Result<MappingSet> {
    load_with(dir, &crate::config::MappingsConfig::default())
}

/// [`load_from`] with the description fallback's thresholds of `settings`.
pub fn load_with(
    dir: &Path,
    settings: &crate::config::MappingsConfig,
) -> anyhow::Result<MappingSet> {
    let scan = scan(dir);
    if !scan.problems.is_empty() {
        bail!(
            "mapping overrides in {}:\n  {}",
            dir.display(),
            scan.problems.join("\n  ")
        );
    }
    let mut set = MappingSet::builtin()
        .context("a shipped mapping table is broken")?
        .with_default_threshold(settings.default_threshold());
    for (tenant, threshold) in settings.tenant_thresholds() {
        let tenant =
            TenantId::new(tenant.as_str()).with_context(|| format!("mappings.tenants.{tenant}"))?;
        set = set.with_threshold(&tenant, threshold);
    }
    for f in &scan.files {
        set = set.with_override(&f.tenant, f.source, &f.table);
        let merged = set.table(Some(&f.tenant), f.source);
        for p in merged.check(&f.path.display().to_string()) {
            tracing::warn!(problem = %problem_line(&p), "mapping override");
        }
    }
    Ok(set)
}

/// Reads the carriers an operator described as data in `dir` (`<source>.toml`, a format
/// description, beside `<source>.mapping.toml`, its table) and makes them sources for this
/// process. A missing folder means none; any file that does not read stops the start, naming
/// the file, like a broken override does.
pub fn register_formats(dir: &Path) -> anyhow::Result<()> {
    use waypost_adapters::declarative::{Declared, Format, register};
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.ends_with(".toml") && !n.ends_with(".mapping.toml") && !n.starts_with('.')
        })
        .collect();
    paths.sort();
    let mut formats = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let text = fs::read_to_string(&path).with_context(|| format!("reading {shown}"))?;
        let format = Format::from_toml(&shown, &text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let table_path = path.with_file_name(format!("{}.mapping.toml", format.source));
        let table = fs::read_to_string(&table_path).with_context(|| {
            format!(
                "{shown}: its mapping table {} cannot be read",
                table_path.display()
            )
        })?;
        MappingTable::from_toml(&table_path.display().to_string(), &format.source, &table)
            .map_err(|e| anyhow::anyhow!(problem_line(&e)))?;
        formats.push(Declared { format, table });
    }
    if formats.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = formats.iter().map(|d| d.format.source.clone()).collect();
    register(formats).with_context(|| format!("registering the formats in {}", dir.display()))?;
    tracing::info!(sources = ?names, "carriers described as data registered");
    Ok(())
}

/// Adds `code` (or replaces it) in `tenant`'s override table of `source`
/// (`<dir>/<tenant>/<source>.toml`), keeping everything else in the file, and checks that the
/// result still loads before it replaces the file (written beside it, then renamed, so a crash
/// leaves the old file or the new one, never half of one). Returns the file's path.
pub fn write_mapping(
    dir: &Path,
    tenant: &TenantId,
    source: Source,
    code: &str,
    m: &waypost_api::NewMapping,
) -> anyhow::Result<PathBuf> {
    let folder = dir.join(tenant.as_str());
    let path = folder.join(format!("{}.toml", source.name()));
    let mut doc: toml::Table = match fs::read_to_string(&path) {
        Ok(text) => text
            .parse()
            .with_context(|| format!("{}: not TOML", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut t = toml::Table::new();
            t.insert("source".into(), source.name().into());
            t
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut entry = toml::Table::new();
    entry.insert("status".into(), m.status.to_string().into());
    if let Some(r) = m.reason {
        entry.insert("reason".into(), r.to_string().into());
    }
    entry.insert("description".into(), m.description.clone().into());
    entry.insert("ref".into(), m.reference.clone().into());
    let codes = doc
        .entry("codes")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(codes) = codes.as_table_mut() else {
        bail!("{}: `codes` is not a table", path.display());
    };
    codes.insert(code.to_owned(), toml::Value::Table(entry));
    let text = toml::to_string(&doc).context("writing the table as TOML")?;
    MappingTable::from_toml(&path.display().to_string(), source.name(), &text)
        .map_err(|e| anyhow::anyhow!(problem_line(&e)))?;
    fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let tmp = folder.join(format!(".{}.toml.tmp", source.name()));
    let mut f = fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(path)
}

/// The mapping set the server and `normalize` use: shipped tables plus the configured
/// overrides directory (`[mappings] dir`, default `<data_dir>/mappings`).
pub fn load_mapping_set(cfg: &Config) -> anyhow::Result<MappingSet> {
    load_with(&cfg.mappings_dir(), &cfg.mappings)
}

#[derive(Debug, clap::Subcommand)]
pub enum MappingsCmd {
    /// Check every shipped table and every override file; non-zero exit on any problem.
    Check {
        /// The overrides directory (default: `[mappings] dir`, or `<data_dir>/mappings`).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print the table in force for a source (and tenant), as TOML or JSON lines.
    Show {
        #[arg(long)]
        source: String,
        #[arg(long)]
        tenant: Option<String>,
        /// One JSON object per code instead of TOML.
        #[arg(long)]
        json: bool,
        /// The overrides directory (default: `[mappings] dir`, or `<data_dir>/mappings`).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

pub fn run(cfg: &Config, cmd: MappingsCmd) -> anyhow::Result<()> {
    crate::normalize::quiet_broken_pipe(run_inner(cfg, cmd))
}

fn run_inner(cfg: &Config, cmd: MappingsCmd) -> anyhow::Result<()> {
    match cmd {
        MappingsCmd::Check { dir } => check(&dir.unwrap_or_else(|| cfg.mappings_dir())),
        MappingsCmd::Show {
            source,
            tenant,
            json,
            dir,
        } => {
            let source: Source = source.parse()?;
            let tenant = tenant
                .map(|t| TenantId::new(t.as_str()).with_context(|| format!("tenant {t:?}")))
                .transpose()?;
            let set = load_from(&dir.unwrap_or_else(|| cfg.mappings_dir()))?;
            let table = set.table(tenant.as_ref(), source);
            let text = if json {
                table_json_lines(table)?
            } else {
                table_toml(table)
            };
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}

fn summary(name: &str, table: &MappingTable, problems: usize) -> String {
    let verdict = match problems {
        0 => "ok".to_owned(),
        1 => "1 problem".to_owned(),
        n => format!("{n} problems"),
    };
    format!(
        "{name}: {} codes, {} reasons, {verdict}",
        table.codes.len(),
        table.reasons.len()
    )
}

fn check(dir: &Path) -> anyhow::Result<()> {
    let mut problems = 0usize;
    let mut out = std::io::stdout().lock();
    for &source in Source::all() {
        match source.builtin_table() {
            Ok(table) => {
                let found = table.check(&format!("mappings/{}.toml", source.name()));
                for p in &found {
                    writeln!(out, "{}", problem_line(p))?;
                }
                problems += found.len();
                writeln!(out, "{}", summary(source.name(), &table, found.len()))?;
            }
            Err(e) => {
                problems += 1;
                writeln!(out, "{}", problem_line(&e))?;
            }
        }
    }
    let scan = scan(dir);
    for p in &scan.problems {
        writeln!(out, "{p}")?;
    }
    problems += scan.problems.len();
    for f in &scan.files {
        let file = f.path.display().to_string();
        // The merged table is what the tenant gets: an override's code that differs from a
        // shipped one only by case is a duplicate there, not in the file alone.
        let merged = source_table(f.source)?.overlay(&f.table);
        let found = merged.check(&file);
        for p in &found {
            writeln!(out, "{}", problem_line(p))?;
        }
        problems += found.len();
        let name = format!("{}/{} ({file})", f.tenant, f.source);
        writeln!(out, "{}", summary(&name, &f.table, found.len()))?;
    }
    out.flush()?;
    if problems > 0 {
        bail!("{problems} problem(s) in the mapping tables");
    }
    Ok(())
}

fn source_table(source: Source) -> anyhow::Result<MappingTable> {
    source
        .builtin_table()
        .map_err(|e| anyhow::anyhow!(problem_line(&e)))
}

/// A TOML string literal; TOML's own quoting, so any description round-trips.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The table in the shipped files' format, so it can be copied into an override and edited.
pub fn table_toml(t: &MappingTable) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "source = {}", quote(&t.source));
    let _ = writeln!(s, "vendor = {}", quote(&t.vendor));
    let _ = writeln!(s, "documentation = {}", quote(&t.documentation));
    let _ = writeln!(s, "\n[codes]");
    for (code, m) in &t.codes {
        let _ = write!(
            s,
            "{} = {{ status = {}",
            quote(code),
            quote(m.status.as_str())
        );
        if let Some(r) = m.reason {
            let _ = write!(s, ", reason = {}", quote(r.as_str()));
        }
        let _ = write!(s, ", description = {}", quote(&m.description));
        if let Some(r) = &m.reference {
            let _ = write!(s, ", ref = {}", quote(r));
        }
        let _ = writeln!(s, " }}");
    }
    if !t.reasons.is_empty() {
        let _ = writeln!(s, "\n[reasons]");
        for (code, r) in &t.reasons {
            let _ = write!(s, "{} = {{ ", quote(code));
            if let Some(reason) = r.reason {
                let _ = write!(s, "reason = {}, ", quote(reason.as_str()));
            }
            let _ = writeln!(s, "description = {} }}", quote(&r.description));
        }
    }
    for p in &t.patterns {
        let _ = writeln!(s, "\n[[patterns]]");
        if let Some(code) = &p.code {
            let _ = writeln!(s, "code = {}", quote(code));
        }
        let _ = writeln!(s, "text = {}", quote(p.text.source()));
        let _ = writeln!(s, "status = {}", quote(p.mapping.status.as_str()));
        if let Some(r) = p.mapping.reason {
            let _ = writeln!(s, "reason = {}", quote(r.as_str()));
        }
        let _ = writeln!(s, "description = {}", quote(&p.mapping.description));
        if let Some(r) = &p.mapping.reference {
            let _ = writeln!(s, "ref = {}", quote(r));
        }
    }
    s
}

/// One object per code: `{"kind":"code","code","status","reason","description","ref"}`, then
/// the reason codes with `"kind":"reason"` and no status, then the patterns in the order they
/// are tried (`"kind":"pattern"`, with `text` and the `code` they refine, if any).
pub fn table_json_lines(t: &MappingTable) -> anyhow::Result<String> {
    let mut s = String::new();
    for (code, m) in &t.codes {
        let line = serde_json::json!({
            "kind": "code",
            "code": code,
            "status": m.status.as_str(),
            "reason": m.reason.map(|r| r.as_str()),
            "description": m.description,
            "ref": m.reference,
        });
        let _ = writeln!(s, "{}", serde_json::to_string(&line)?);
    }
    for (code, r) in &t.reasons {
        let line = serde_json::json!({
            "kind": "reason",
            "code": code,
            "reason": r.reason.map(|r| r.as_str()),
            "description": r.description,
        });
        let _ = writeln!(s, "{}", serde_json::to_string(&line)?);
    }
    for p in &t.patterns {
        let line = serde_json::json!({
            "kind": "pattern",
            "code": p.code,
            "text": p.text.source(),
            "status": p.mapping.status.as_str(),
            "reason": p.mapping.reason.map(|r| r.as_str()),
            "description": p.mapping.description,
            "ref": p.mapping.reference,
        });
        let _ = writeln!(s, "{}", serde_json::to_string(&line)?);
    }
    Ok(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_table_round_trips_through_show() {
        for &source in Source::all() {
            let table = source.builtin_table().unwrap();
            let text = table_toml(&table);
            let back = MappingTable::from_toml("shown", source.name(), &text)
                .unwrap_or_else(|e| panic!("{source}: {e}\n{text}"));
            assert_eq!(back, table, "{source}");
            assert_eq!(
                table_json_lines(&table).unwrap().lines().count(),
                table.codes.len() + table.reasons.len() + table.patterns.len()
            );
        }
    }

    #[test]
    fn scan_reads_overrides_and_names_bad_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(scan(&root.join("missing")).problems.is_empty());
        fs::create_dir_all(root.join("acme")).unwrap();
        fs::write(
            root.join("acme/ups.toml"),
            "source = \"ups\"\n[codes]\n\"X\" = { status = \"on_hold\", description = \"held\" }\n",
        )
        .unwrap();
        fs::write(root.join("acme/upz.toml"), "source = \"upz\"\n").unwrap();
        fs::write(root.join("acme/notes.txt"), "").unwrap();
        fs::create_dir_all(root.join("Bad Tenant")).unwrap();
        fs::write(root.join("stray.toml"), "").unwrap();
        fs::write(root.join(".hidden"), "").unwrap();
        let s = scan(root);
        assert_eq!(s.files.len(), 1);
        assert_eq!(s.files[0].tenant.as_str(), "acme");
        assert_eq!(s.files[0].source, Source::Ups);
        assert_eq!(s.problems.len(), 4, "{:?}", s.problems);
        for name in ["upz.toml", "notes.txt", "Bad Tenant", "stray.toml"] {
            assert!(
                s.problems.iter().any(|p| p.contains(name)),
                "{name}: {:?}",
                s.problems
            );
        }
        assert!(s.problems.iter().any(|p| p.contains("known sources")));
        assert!(load_from(root).is_err());
        fs::remove_file(root.join("acme/upz.toml")).unwrap();
        fs::remove_file(root.join("acme/notes.txt")).unwrap();
        fs::remove_file(root.join("stray.toml")).unwrap();
        fs::remove_dir(root.join("Bad Tenant")).unwrap();
        let set = load_from(root).unwrap();
        let acme = TenantId::new("acme").unwrap();
        let x = set.table(Some(&acme), Source::Ups).status("X").unwrap();
        assert_eq!(x.status, waypost_domain::Status::OnHold);
    }
}
