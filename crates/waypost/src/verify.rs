//! `waypost verify`: replays the event log one order at a time and compares each with its stored
//! state (`waypost_store::Backend::replay_check`), on a consistent snapshot, so it may run
//! beside a live server. The JSON report goes to stdout as before; on a terminal, stderr shows
//! how far it is and a summary at the end.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};
use waypost_store::ReplayProgress;

use crate::config::Config;

/// How often the progress line is redrawn.
const REDRAW: Duration = Duration::from_millis(250);

pub fn run(cfg: &Config) -> anyhow::Result<()> {
    // A progress line only for a person: a script reading stderr gets it unchanged.
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut drawn: Option<Instant> = None;
    let report = crate::store::of(cfg).replay_check(&mut |p| {
        if tty && drawn.is_none_or(|at| at.elapsed() >= REDRAW) {
            drawn = Some(Instant::now());
            let mut err = std::io::stderr().lock();
            // \r and "erase line": the line is redrawn in place.
            let _ = write!(err, "\r\x1b[2K{}", progress_line(p, started.elapsed()));
            let _ = err.flush();
        }
    })?;
    if tty {
        eprintln!(
            "\r\x1b[2Kverified {} orders ({} events) in {:.1} s: {}",
            report.orders,
            report.events,
            started.elapsed().as_secs_f64(),
            match report.mismatched {
                0 => "no mismatch".to_string(),
                1 => "1 order differs".to_string(),
                n => format!("{n} orders differ"),
            }
        );
    }
    println!("{}", serde_json::to_string(&report)?);
    if report.mismatched > 0 {
        let first = report.mismatches.first().map(String::as_str).unwrap_or("");
        anyhow::bail!(
            "{} orders differ from a replay of the log (the first: {first}); the report on \
             stdout lists them. The projection should always equal a replay: keep a copy of the \
             data folder and report it as a bug",
            report.mismatched
        );
    }
    Ok(())
}

/// "verified N of M orders (x%)", with the events replayed and their rate.
fn progress_line(p: &ReplayProgress, elapsed: Duration) -> String {
    let pct = if p.orders_total == 0 {
        100.0
    } else {
        100.0 * p.orders_done as f64 / p.orders_total as f64
    };
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        p.events as f64 / secs
    } else {
        0.0
    };
    format!(
        "verified {} of {} orders ({pct:.0}%), {} events, {rate:.0} events/s",
        p.orders_done, p.orders_total, p.events
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_says_how_far_and_how_fast() {
        let p = ReplayProgress {
            orders_done: 250,
            orders_total: 1000,
            events: 2000,
        };
        assert_eq!(
            progress_line(&p, Duration::from_secs(2)),
            "verified 250 of 1000 orders (25%), 2000 events, 1000 events/s"
        );
        let empty = ReplayProgress {
            orders_done: 0,
            orders_total: 0,
            events: 0,
        };
        assert_eq!(
            progress_line(&empty, Duration::ZERO),
            "verified 0 of 0 orders (100%), 0 events, 0 events/s"
        );
    }
}
