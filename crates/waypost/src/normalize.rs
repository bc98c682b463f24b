//! `waypost normalize`: vendor documents in, canonical events out as JSON lines, through
//! `waypost_adapters::normalize` and the mapping set the server uses (so what it prints is what
//! the webhook would take in). Made for operators checking a partner's document and for
//! measuring: with `--lines --stats` over a large file it reports documents per second, and
//! over folders it reports per source how events were read and mapped. An event that cannot be
//! read is named on stderr with its path; a document is counted as refused only when nothing in
//! it could be read.

use anyhow::{Context as _, bail};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use waypost_adapters::{MappedBy, MappingSet, Normalized, Source, UnmappedCode};
use waypost_domain::{Event, TenantId};

use crate::config::Config;

/// Buffer for reading documents: large, so `--lines` over a big file costs few system calls.
const READ_BUF: usize = 1 << 20;
/// Buffer for stdout: one write per many events instead of one per line.
const WRITE_BUF: usize = 1 << 18;

#[derive(Debug, clap::Args)]
pub struct NormalizeArgs {
    /// The source the documents come from (`ups`, `fedex`, `x12-214`, ...). Without it, each
    /// file's source is the name of the folder it is in (`corpus/ups/a.json` is `ups`; a
    /// `synthetic/` folder takes its parent's name).
    #[arg(long)]
    pub source: Option<String>,
    /// Use this tenant's mapping overrides (from `[mappings] dir`).
    #[arg(long)]
    pub tenant: Option<String>,
    /// One document per line (of each file, or of stdin) instead of one per file.
    #[arg(long)]
    pub lines: bool,
    /// At the end, print counts and documents per second as JSON on stderr, with a line per
    /// source: documents, events, refused documents, unreadable events, and how events were
    /// mapped (by code, by pattern, by description) or left unknown.
    #[arg(long)]
    pub stats: bool,
    /// Documents to read, or folders of them (read recursively); none (or `-`) means stdin.
    pub files: Vec<PathBuf>,
}

/// One output line: the canonical event, with the fields a reader looks for first present even
/// when empty (`Event` leaves out what it does not have), and the codes no table knew.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    event: &'a Event,
    // `Some(())` serializes as `null`: set only when the event itself leaves the field out.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tracking_number: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_code: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_description: Option<()>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    unmapped: &'a [UnmappedCode],
    /// `code`, `pattern` or `description`: what decided the status.
    #[serde(skip_serializing_if = "Option::is_none")]
    mapped_by: Option<&'static str>,
    /// For an unknown code: what the description fallback read, under the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    proposal: Option<ProposalLine>,
}

#[derive(Serialize)]
struct ProposalLine {
    status: waypost_domain::Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<waypost_domain::Reason>,
    confidence: f32,
    phrase: String,
    language: &'static str,
}

impl<'a> Line<'a> {
    fn new(n: &'a Normalized) -> Self {
        let e = &n.event;
        let null_if = |absent: bool| absent.then_some(());
        Line {
            event: e,
            reason: null_if(e.reason.is_none()),
            tracking_number: null_if(e.tracking_number.is_none()),
            location: null_if(e.location.is_none()),
            raw_code: null_if(e.raw_code.is_none()),
            raw_description: null_if(e.raw_description.is_none()),
            unmapped: &n.unmapped,
            mapped_by: n.mapped_by.map(MappedBy::as_str),
            proposal: n.proposal.as_ref().map(|p| ProposalLine {
                status: p.status,
                reason: p.reason,
                confidence: p.confidence,
                phrase: p.phrase.clone(),
                language: p.language,
            }),
        }
    }
}

/// What one source's documents gave.
#[derive(Debug, Default, Clone, Serialize)]
struct SourceStats {
    documents: u64,
    events: u64,
    /// Documents refused whole: not of the format, or no event in them readable.
    refused: u64,
    /// Events that could not be read (their documents were still taken).
    unreadable: u64,
    mapped_by_code: u64,
    mapped_by_pattern: u64,
    mapped_by_description: u64,
    /// Events whose code no table knows: quarantined for review.
    unknown: u64,
}

#[derive(Debug, Default, Serialize)]
struct Stats {
    documents: u64,
    events: u64,
    failed: u64,
    unreadable: u64,
    seconds: f64,
    documents_per_sec: f64,
    /// Time this thread was on a CPU (Linux), reading and writing included: on a busy machine
    /// `documents / cpu_seconds` is the per-core figure, while `documents_per_sec` is wall time.
    cpu_seconds: Option<f64>,
    sources: BTreeMap<&'static str, SourceStats>,
}

struct Run<'a, W: Write> {
    /// The source given with `--source`; without it, each file's folder names its source.
    source: Option<Source>,
    set: &'a MappingSet,
    tenant: Option<&'a TenantId>,
    out: W,
    stats: Stats,
}

impl<W: Write> Run<'_, W> {
    /// Normalizes one document; a failure is reported on stderr with `origin` (file, or file and
    /// line) and counted, and the run goes on. Only a failed write to stdout stops it.
    fn document(
        &mut self,
        source: Source,
        origin: &dyn std::fmt::Display,
        doc: &[u8],
    ) -> anyhow::Result<()> {
        self.stats.documents += 1;
        let table = self.set.table(self.tenant, source);
        let per = self.stats.sources.entry(source.name()).or_default();
        per.documents += 1;
        match waypost_adapters::normalize(source, doc, table) {
            Ok(out) => {
                for n in &out.events {
                    serde_json::to_writer(&mut self.out, &Line::new(n))
                        .context("writing to stdout")?;
                    self.out.write_all(b"\n").context("writing to stdout")?;
                    match n.mapped_by {
                        Some(MappedBy::Code) => per.mapped_by_code += 1,
                        Some(MappedBy::Pattern) => per.mapped_by_pattern += 1,
                        Some(MappedBy::Description) => per.mapped_by_description += 1,
                        None => per.unknown += 1,
                    }
                }
                for p in &out.unreadable {
                    eprintln!("waypost normalize: {origin}: unreadable event: {p}");
                }
                per.events += out.events.len() as u64;
                per.unreadable += out.unreadable.len() as u64;
                self.stats.events += out.events.len() as u64;
                self.stats.unreadable += out.unreadable.len() as u64;
            }
            Err(e) => {
                per.refused += 1;
                self.stats.failed += 1;
                eprintln!("waypost normalize: {origin}: {e}");
            }
        }
        Ok(())
    }

    /// The source of the file at `path`: `--source`, else its folder's name.
    fn source_of(&self, path: &Path) -> Result<Source, String> {
        if let Some(s) = self.source {
            return Ok(s);
        }
        let mut dir = path.parent();
        if dir
            .and_then(Path::file_name)
            .is_some_and(|n| n == "synthetic")
        {
            dir = dir.and_then(Path::parent);
        }
        let name = dir
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .unwrap_or("");
        name.parse::<Source>()
            .map_err(|e| format!("no --source given and its folder {name:?} names no source ({e})"))
    }

    fn whole(&mut self, source: Source, name: &str, mut input: impl Read) -> anyhow::Result<()> {
        let mut doc = Vec::new();
        match input.read_to_end(&mut doc) {
            Ok(_) => self.document(source, &name, &doc),
            Err(e) => {
                self.stats.documents += 1;
                self.stats.failed += 1;
                eprintln!("waypost normalize: {name}: {e}");
                Ok(())
            }
        }
    }

    fn lines(&mut self, source: Source, name: &str, input: impl Read) -> anyhow::Result<()> {
        let mut reader = BufReader::with_capacity(READ_BUF, input);
        // One buffer for every line: no allocation per document once it has grown.
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut number = 0u64;
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => {
                    self.stats.failed += 1;
                    eprintln!("waypost normalize: {name}: line {}: {e}", number + 1);
                    return Ok(());
                }
            }
            number += 1;
            let doc = trim_line_end(&buf);
            if doc.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.document(source, &format_args!("{name}: line {number}"), doc)?;
        }
    }
}

fn trim_line_end(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = b {
        b = rest;
    }
    b
}

/// A reader that stopped reading (`waypost normalize ... | head`) is not a failure.
pub fn quiet_broken_pipe(r: anyhow::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            Ok(())
        }
        r => r,
    }
}

pub fn run(cfg: &Config, args: NormalizeArgs) -> anyhow::Result<()> {
    quiet_broken_pipe(run_inner(cfg, args))
}

fn run_inner(cfg: &Config, args: NormalizeArgs) -> anyhow::Result<()> {
    let source: Option<Source> = args.source.as_deref().map(str::parse).transpose()?;
    let tenant = args
        .tenant
        .as_deref()
        .map(|t| TenantId::new(t).with_context(|| format!("tenant {t:?}")))
        .transpose()?;
    let set = crate::mappings::load_mapping_set(cfg)?;

    let stdout = std::io::stdout();
    let mut run = Run {
        source,
        set: &set,
        tenant: tenant.as_ref(),
        out: BufWriter::with_capacity(WRITE_BUF, stdout.lock()),
        stats: Stats::default(),
    };
    let started = Instant::now();
    let cpu_started = waypost_bench::thread_cpu_ns();
    let inputs: Vec<PathBuf> = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        expand(&args.files)
    };
    for path in &inputs {
        if path.as_os_str() == "-" {
            let Some(source) = source else {
                bail!("reading stdin needs --source: there is no folder to name it");
            };
            let stdin = std::io::stdin().lock();
            if args.lines {
                run.lines(source, "stdin", stdin)?;
            } else {
                run.whole(source, "stdin", stdin)?;
            }
            continue;
        }
        let name = path.display().to_string();
        let file_source = match run.source_of(path) {
            Ok(s) => s,
            Err(why) => {
                run.stats.documents += 1;
                run.stats.failed += 1;
                eprintln!("waypost normalize: {name}: {why}");
                continue;
            }
        };
        match File::open(path) {
            Ok(f) if args.lines => run.lines(file_source, &name, f)?,
            Ok(f) => run.whole(file_source, &name, f)?,
            Err(e) => {
                run.stats.documents += 1;
                run.stats.failed += 1;
                eprintln!("waypost normalize: {name}: {e}");
            }
        }
    }
    run.out.flush().context("writing to stdout")?;
    let mut stats = run.stats;
    let seconds = started.elapsed().as_secs_f64();
    stats.seconds = waypost_bench::round(seconds, 3);
    stats.cpu_seconds = cpu_started
        .zip(waypost_bench::thread_cpu_ns())
        .map(|(a, b)| waypost_bench::round(b.saturating_sub(a) as f64 / 1e9, 3));
    stats.documents_per_sec = if seconds > 0.0 {
        (stats.documents as f64 / seconds).round()
    } else {
        0.0
    };
    if args.stats {
        for (name, s) in &stats.sources {
            eprintln!(
                "{}",
                serde_json::to_string(&serde_json::json!({ "source": name, "stats": s }))?
            );
        }
        eprintln!("{}", serde_json::to_string(&stats)?);
    }
    if stats.failed > 0 {
        bail!(
            "{} of {} documents could not be normalized",
            stats.failed,
            stats.documents
        );
    }
    Ok(())
}

/// The files to read: each file given, and every file under each folder given (sorted, labels
/// and origin notes of a corpus left out, hidden files too).
fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found);
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else if !name.ends_with(".expected.jsonl")
            && !name.ends_with(".origin.toml")
            && !name.ends_with(".md")
        {
            out.push(path);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const UPS: &str = r#"{"trackResponse":{"shipment":[{"package":[{"trackingNumber":"1Z999AA10123456784","activity":[{"status":{"type":"I","code":"ZQ","description":"Mystery"},"date":"20240310","time":"031500","gmtOffset":"-04:00"},{"status":{"type":"D","code":"FS","description":"DELIVERED"},"location":{"address":{"city":"NEWARK","countryCode":"US"}},"date":"20240311","time":"120000","gmtOffset":"-04:00"}]}]}]}}"#;

    fn run_lines(input: &str) -> (String, Stats) {
        let set = MappingSet::builtin().unwrap();
        let mut run = Run {
            source: Some(Source::Ups),
            set: &set,
            tenant: None,
            out: Vec::new(),
            stats: Stats::default(),
        };
        run.lines(Source::Ups, "t", input.as_bytes()).unwrap();
        (String::from_utf8(run.out).unwrap(), run.stats)
    }

    #[test]
    fn lines_print_events_with_nulls_and_unmapped_and_count_failures() {
        let (out, stats) = run_lines(&format!("{UPS}\r\n\n{{broken\n{UPS}"));
        assert_eq!((stats.documents, stats.events, stats.failed), (3, 4, 1));
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        let first = &lines[0];
        assert_eq!(first["status"], "unknown");
        assert_eq!(first["reason"], serde_json::Value::Null);
        assert_eq!(first["location"], serde_json::Value::Null);
        assert_eq!(first["unmapped"][0]["code"], "I:ZQ");
        assert_eq!(first["occurred_at"], "2024-03-10T03:15:00-04:00");
        let second = &lines[1];
        assert_eq!(second["status"], "delivered");
        assert_eq!(second["location"]["city"], "Newark");
        assert!(second.get("unmapped").is_none());
        // Each line is still a canonical event.
        let back: Event = serde_json::from_value(second.clone()).unwrap();
        assert_eq!(back.raw_code.as_deref(), Some("FS"));
    }

    #[test]
    fn line_ends_are_trimmed() {
        assert_eq!(trim_line_end(b"ab\r\n"), b"ab");
        assert_eq!(trim_line_end(b"ab"), b"ab");
        assert_eq!(trim_line_end(b"\n"), b"");
    }
}
