//! `waypost bench --normalize <source>`: how many vendor documents one core turns into canonical
//! events per second. Only `waypost_adapters::normalize` is timed, on this one thread, over
//! documents generated beforehand ([`super::docs`]); no I/O, no server.

use anyhow::{Context as _, bail};
use serde::Serialize;
use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::time::Instant;
use waypost_adapters::{MappingSet, Source};

use super::docs;
use super::stats::thread_cpu_ns;

/// The `--json` object; field names are a contract with whoever parses the last line.
#[derive(Debug, Serialize)]
struct Report {
    benchmark: &'static str,
    source: &'static str,
    documents: u64,
    events: u64,
    /// Wall time of the timed loop.
    seconds: f64,
    /// Time the thread was on a CPU during the loop (Linux; else equal to `seconds`). The rates
    /// are per CPU second, so other processes sharing the machine do not lower them.
    cpu_seconds: f64,
    documents_per_sec_per_core: f64,
    events_per_sec: f64,
}

/// Fixed, so every run measures the same documents.
const SEED: u64 = 0x5741_5950;

pub fn run(source: &str, documents: usize, emit: Option<&Path>, json: bool) -> anyhow::Result<()> {
    if source == "corpus" {
        return run_corpus(Path::new(DEFAULT_CORPUS), documents, json);
    }
    let source: Source = source.parse()?;
    if documents == 0 {
        bail!("--documents must be at least 1");
    }
    eprintln!("bench: generating {documents} {source} documents");
    let Some(docs) = docs::generate(source, documents, SEED) else {
        bail!(
            "no document generator for {source}; --normalize supports: {}",
            docs::SUPPORTED.map(Source::name).join(", ")
        );
    };
    if let Some(path) = emit {
        write_lines(path, &docs)?;
        eprintln!(
            "bench: wrote them to {}; `waypost normalize --source {source} --lines --stats < {} > /dev/null` measures the same",
            path.display(),
            path.display()
        );
    }
    // The same table lookup as the server's and `waypost normalize`'s.
    let set = MappingSet::builtin().context("a shipped mapping table is broken")?;
    let table = set.table(None, source);

    // A short warm-up, so the first timed documents do not pay for cold caches and lazy
    // initialization (time zone data, allocator pools).
    for d in docs.iter().take(1000) {
        let _ = std::hint::black_box(waypost_adapters::normalize(source, d, table));
    }

    let bytes: usize = docs.iter().map(Vec::len).sum();
    eprintln!(
        "bench: normalizing {documents} documents ({:.1} MB) on one thread",
        bytes as f64 / 1e6
    );
    let (mut events, mut failed) = (0u64, 0u64);
    let started = Instant::now();
    let cpu_started = thread_cpu_ns();
    for d in &docs {
        match waypost_adapters::normalize(source, std::hint::black_box(d), table) {
            Ok(out) => events += std::hint::black_box(out).events.len() as u64,
            Err(_) => failed += 1,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = match (cpu_started, thread_cpu_ns()) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e9,
        _ => seconds,
    };
    if failed > 0 {
        bail!("{failed} generated documents failed to normalize: a generator bug");
    }
    let per_sec = |n: u64| {
        if cpu_seconds > 0.0 {
            (n as f64 / cpu_seconds).round()
        } else {
            0.0
        }
    };
    let report = Report {
        benchmark: "normalize",
        source: source.name(),
        documents: documents as u64,
        events,
        seconds: super::round(seconds, 3),
        cpu_seconds: super::round(cpu_seconds, 3),
        documents_per_sec_per_core: per_sec(documents as u64),
        events_per_sec: per_sec(events),
    };
    eprintln!(
        "normalize: {} documents, {events} events in {seconds:.3} s ({cpu_seconds:.3} s on CPU) = {:.0} documents/s/core, {:.0} events/s/core",
        report.documents, report.documents_per_sec_per_core, report.events_per_sec
    );
    let text = if json {
        serde_json::to_string(&report)
    } else {
        serde_json::to_string_pretty(&report)
    };
    println!("{}", text.context("serializing the report")?);
    Ok(())
}

fn write_lines(path: &Path, docs: &[Vec<u8>]) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    for d in docs {
        out.write_all(d)?;
        out.write_all(b"\n")?;
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))
}

/// The labelled corpus, from the workspace root (where `cargo run` starts).
const DEFAULT_CORPUS: &str = "crates/adapters/corpus";

/// `--normalize corpus`: every document of the labelled corpus (`corpus/<source>/` and its
/// `synthetic/`), each with its own source, normalized round after round until at least
/// `documents` have been: the rate over documents as real partners write them, every source and
/// format mixed, per CPU second.
fn run_corpus(dir: &Path, documents: usize, json: bool) -> anyhow::Result<()> {
    let set = MappingSet::builtin().context("a shipped mapping table is broken")?;
    let mut docs: Vec<(Source, Vec<u8>)> = Vec::new();
    for &source in Source::all() {
        let folder = dir.join(source.name());
        for sub in [folder.clone(), folder.join("synthetic")] {
            let Ok(entries) = std::fs::read_dir(&sub) else {
                continue;
            };
            let mut paths: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    p.is_file()
                        && !n.starts_with('.')
                        && !n.ends_with(".expected.jsonl")
                        && !n.ends_with(".origin.toml")
                        && !n.ends_with(".md")
                })
                .collect();
            paths.sort();
            for p in paths {
                let bytes =
                    std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                docs.push((source, bytes));
            }
        }
    }
    if docs.is_empty() {
        bail!(
            "no corpus documents under {}: run from the workspace root",
            dir.display()
        );
    }
    let rounds = documents.div_ceil(docs.len()).max(1);
    eprintln!(
        "bench: the corpus's {} documents, {rounds} rounds, on one thread",
        docs.len()
    );
    for (source, d) in &docs {
        let _ = std::hint::black_box(waypost_adapters::normalize(
            *source,
            d,
            set.table(None, *source),
        ));
    }
    let (mut done, mut events, mut unreadable, mut refused) = (0u64, 0u64, 0u64, 0u64);
    let started = Instant::now();
    let cpu_started = thread_cpu_ns();
    for _ in 0..rounds {
        for (source, d) in &docs {
            done += 1;
            match waypost_adapters::normalize(
                *source,
                std::hint::black_box(d),
                set.table(None, *source),
            ) {
                Ok(out) => {
                    events += out.events.len() as u64;
                    unreadable += out.unreadable.len() as u64;
                }
                Err(_) => refused += 1,
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = match (cpu_started, thread_cpu_ns()) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e9,
        _ => seconds,
    };
    let per_sec = |n: u64| {
        if cpu_seconds > 0.0 {
            (n as f64 / cpu_seconds).round()
        } else {
            0.0
        }
    };
    let report = CorpusReport {
        benchmark: "normalize",
        source: "corpus",
        corpus_documents: docs.len() as u64,
        documents: done,
        events,
        unreadable_events: unreadable,
        refused_documents: refused,
        seconds: super::round(seconds, 3),
        cpu_seconds: super::round(cpu_seconds, 3),
        documents_per_sec_per_core: per_sec(done),
        events_per_sec: per_sec(events),
    };
    eprintln!(
        "normalize corpus: {done} documents, {events} events in {cpu_seconds:.3} s on CPU = {:.0} documents/s/core, {:.0} events/s/core",
        report.documents_per_sec_per_core, report.events_per_sec
    );
    let text = if json {
        serde_json::to_string(&report)
    } else {
        serde_json::to_string_pretty(&report)
    };
    println!("{}", text.context("serializing the report")?);
    Ok(())
}

#[derive(Debug, Serialize)]
struct CorpusReport {
    benchmark: &'static str,
    source: &'static str,
    /// Distinct documents in the corpus; `documents` counts every round.
    corpus_documents: u64,
    documents: u64,
    events: u64,
    /// Events the corpus labels as unreadable, per round times rounds.
    unreadable_events: u64,
    refused_documents: u64,
    seconds: f64,
    cpu_seconds: f64,
    documents_per_sec_per_core: f64,
    events_per_sec: f64,
}
