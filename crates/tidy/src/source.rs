//! Rules read from the sources: SQL only in backends, the clock and the environment only in
//! the binary. Test code is not held to them: `tests/`, `benches/` and `fuzz/` are not read,
//! nor files named `tests.rs` or `*_tests.rs`, modules declared `#[cfg(test)] mod name;`, or
//! what follows a `#[cfg(test)]` line that opens a `mod` in a file.

use crate::{Finding, Member};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What a finding in the sources is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRule {
    Sql,
    Clock,
    Env,
}

/// Calls that read the system's time. Written in pieces so that this file does not name them.
const CLOCK: [(&str, &str); 4] = [
    ("SystemTime", "now"),
    ("Timestamp", "now"),
    ("Utc", "now"),
    ("Zoned", "now"),
];

/// Calls that read the environment: `env::var` also covers `env::var_os` and `env::vars`.
const ENV: [(&str, &str); 2] = [("env", "var"), ("", "var_os(")];

/// SQL statements, as whole upper-case words: the first, then the second later in the same
/// string literal (`None`: the first must be followed by some word, as in `PRAGMA name`).
const SQL: [(&str, Option<&str>); 6] = [
    ("SELECT", Some("FROM")),
    ("INSERT", Some("INTO")),
    ("UPDATE", Some("SET")),
    ("DELETE", Some("FROM")),
    ("CREATE", Some("TABLE")),
    ("PRAGMA", None),
];

/// Folders that hold no shipped code, or are not compiled.
const SKIP_DIRS: [&str; 6] = ["tests", "benches", "fuzz", "fixtures", "target", "examples"];

fn may(layer: &str, rule: CodeRule) -> bool {
    match rule {
        CodeRule::Sql => layer == "backend",
        CodeRule::Clock | CodeRule::Env => layer == "binary",
    }
}

/// Scans one source file's text (`place` names it in findings) of a crate in `layer`.
pub fn scan_file(place: &str, text: &str, layer: &str) -> Vec<Finding> {
    let lexed = lex(shipped(text));
    let mut out = Vec::new();
    if !may(layer, CodeRule::Sql) {
        for (line, lit) in &lexed.strings {
            if let Some(stmt) = sql_in(lit) {
                out.push(Finding {
                    place: place.to_owned(),
                    line: Some(*line),
                    message: format!(
                        "SQL ({stmt}) in a {layer} crate: only a backend crate holds SQL; \
                         move the query behind a store trait and into the backend"
                    ),
                });
            }
        }
    }
    for (rule, calls, what, fix) in [
        (
            CodeRule::Clock,
            &CLOCK[..],
            "reads the system clock",
            "take a `waypost_domain::Clock` and let the binary hand in its `SystemClock`",
        ),
        (
            CodeRule::Env,
            &ENV[..],
            "reads the environment",
            "let the binary read it and pass the value in through the crate's configuration",
        ),
    ] {
        if may(layer, rule) {
            continue;
        }
        for (i, code) in lexed.code.lines().enumerate() {
            let hit = calls.iter().find_map(|(a, b)| {
                let call = if a.is_empty() {
                    (*b).to_owned()
                } else {
                    format!("{a}::{b}")
                };
                code.contains(&call).then_some(call)
            });
            if let Some(call) = hit {
                out.push(Finding {
                    place: place.to_owned(),
                    line: Some(i + 1),
                    message: format!(
                        "`{}` {what} outside the binary: {fix}",
                        call.trim_end_matches('(')
                    ),
                });
            }
        }
    }
    out.sort_by_key(|f| f.line);
    out
}

/// Scans the crate `m` (its folder relative to `root` when not absolute): its `src/` files
/// ending in `ext` (`.rs`; the fixtures use `.rs.txt`), and `.sql` files anywhere in it.
pub fn walk(root: &Path, m: &Member, ext: &str) -> Vec<Finding> {
    let Some(layer) = m.layer.as_deref() else {
        // `check_layers` reports it; without a layer there is nothing to hold it to.
        return Vec::new();
    };
    let dir = if m.dir.is_absolute() {
        m.dir.clone()
    } else {
        root.join(&m.dir)
    };
    let mut files = Vec::new();
    collect(&dir, &mut files);
    files.sort();
    let place = |p: &Path| {
        p.strip_prefix(root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let src = dir.join("src");
    let sources: Vec<&PathBuf> = files
        .iter()
        .filter(|f| f.starts_with(&src) && f.to_string_lossy().ends_with(ext))
        .collect();
    let texts: Vec<(&PathBuf, String)> = sources
        .into_iter()
        .filter_map(|f| Some((f, std::fs::read_to_string(f).ok()?)))
        .collect();
    let test_modules: BTreeSet<String> = texts
        .iter()
        .flat_map(|(_, t)| out_of_line_test_modules(t))
        .collect();
    let mut out = Vec::new();
    for f in &files {
        if f.extension().is_some_and(|e| e == "sql") && !may(layer, CodeRule::Sql) {
            out.push(Finding {
                place: place(f),
                line: None,
                message: format!(
                    "an .sql file in a {layer} crate: only a backend crate holds SQL; move it there"
                ),
            });
        }
    }
    for (f, text) in &texts {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        let stem = name
            .as_deref()
            .and_then(|n| n.strip_suffix(ext))
            .unwrap_or_default();
        let parent = f
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let is_test = stem == "tests"
            || stem.ends_with("_tests")
            || test_modules.contains(stem)
            || (stem == "mod" && test_modules.contains(&parent))
            || f.strip_prefix(&src).is_ok_and(|rel| {
                rel.components().any(|c| {
                    let c = c.as_os_str().to_string_lossy();
                    c == "tests"
                        || test_modules.contains(c.as_ref()) && rel.components().count() > 1
                })
            });
        if !is_test {
            out.extend(scan_file(&place(f), text, layer));
        }
    }
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !name.starts_with('.') && !SKIP_DIRS.contains(&name.as_str()) {
                collect(&p, out);
            }
        } else {
            out.push(p);
        }
    }
}

/// Names of modules declared `#[cfg(test)] mod name;` (their files are tests).
fn out_of_line_test_modules(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if *l != "#[cfg(test)]" {
            continue;
        }
        let Some(next) = lines[i + 1..].iter().find(|l| !l.is_empty()) else {
            continue;
        };
        let decl = next.strip_prefix("pub(crate) ").unwrap_or(next);
        let decl = decl.strip_prefix("pub ").unwrap_or(decl);
        if let Some(name) = decl.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
            out.push(name.trim().to_owned());
        }
    }
    out
}

/// The text up to a `#[cfg(test)]` line followed by a `mod` that opens here (the test module
/// at the end of a file); lines are kept as they are, so line numbers hold.
fn shipped(text: &str) -> &str {
    let mut offset = 0;
    let mut cut: Option<usize> = None;
    let mut pending: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if let Some(at) = pending {
            if t.is_empty() || t.starts_with("#[") {
                // Other attributes may sit between.
            } else if (t.starts_with("mod ")
                || t.starts_with("pub mod ")
                || t.starts_with("pub(crate) mod "))
                && !t.ends_with(';')
            {
                cut = Some(at);
                break;
            } else {
                pending = None;
            }
        }
        if t == "#[cfg(test)]" {
            pending = Some(offset);
        }
        offset += line.len();
    }
    cut.map_or(text, |c| &text[..c])
}

/// A file split into code (comments and string contents blanked, lines kept) and its string
/// literals with the line each starts on.
struct Lexed {
    code: String,
    strings: Vec<(usize, String)>,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn lex(text: &str) -> Lexed {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::with_capacity(text.len());
    let mut strings = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Blanks a skipped char, keeping newlines.
    let blank = |c: char, code: &mut String, line: &mut usize| {
        if c == '\n' {
            code.push('\n');
            *line += 1;
        } else {
            code.push(' ');
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                code.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    code.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    code.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(chars[i], &mut code, &mut line);
                    i += 1;
                }
            }
        } else if c == 'r'
            && (i == 0 || !is_ident(chars[i - 1]) || chars[i - 1] == 'b')
            && matches!(next, Some('"') | Some('#'))
            && {
                let mut j = i + 1;
                while chars.get(j) == Some(&'#') {
                    j += 1;
                }
                chars.get(j) == Some(&'"')
            }
        {
            let mut hashes = 0;
            code.push('r');
            i += 1;
            while chars[i] == '#' {
                hashes += 1;
                code.push('#');
                i += 1;
            }
            code.push('"');
            i += 1;
            let start = line;
            let mut lit = String::new();
            while i < chars.len() {
                if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    code.push('"');
                    i += 1 + hashes;
                    code.extend(std::iter::repeat_n('#', hashes));
                    break;
                }
                lit.push(chars[i]);
                blank(chars[i], &mut code, &mut line);
                i += 1;
            }
            strings.push((start, lit));
        } else if c == '"' {
            code.push('"');
            i += 1;
            let start = line;
            let mut lit = String::new();
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    lit.push(chars[i + 1]);
                    blank(chars[i], &mut code, &mut line);
                    blank(chars[i + 1], &mut code, &mut line);
                    i += 2;
                } else {
                    lit.push(chars[i]);
                    blank(chars[i], &mut code, &mut line);
                    i += 1;
                }
            }
            code.push('"');
            i += 1;
            strings.push((start, lit));
        } else if c == '\'' {
            // A char literal ('x', '\n', '"'), or a lifetime ('a), which is code.
            if next == Some('\\') {
                code.push_str("' ");
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    blank(chars[i], &mut code, &mut line);
                    i += 1;
                }
                code.push('\'');
                i += 1;
            } else if let (Some(inner), Some('\'')) = (next, chars.get(i + 2).copied()) {
                code.push('\'');
                blank(inner, &mut code, &mut line);
                code.push('\'');
                i += 3;
            } else {
                code.push(c);
                i += 1;
            }
        } else {
            if c == '\n' {
                line += 1;
            }
            code.push(c);
            i += 1;
        }
    }
    Lexed { code, strings }
}

/// The SQL statement a string literal holds, as its leading words (`SELECT ... FROM`).
fn sql_in(lit: &str) -> Option<String> {
    let words: Vec<&str> = lit
        .split(|c: char| !is_ident(c))
        .filter(|w| !w.is_empty())
        .collect();
    for (first, then) in SQL {
        let Some(at) = words.iter().position(|w| *w == first) else {
            continue;
        };
        match then {
            Some(then) if words[at + 1..].contains(&then) => {
                return Some(format!("{first} ... {then}"));
            }
            None if words.len() > at + 1 => return Some(format!("{first} {}", words[at + 1])),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the text, the code keeps every line where it was, so a finding's line
        /// number is the file's.
        #[test]
        fn lexing_keeps_lines(text in r##"[a-z"'#/*\\\n r]{0,80}"##) {
            let l = lex(&text);
            prop_assert_eq!(l.code.matches('\n').count(), text.matches('\n').count());
            for (line, _) in &l.strings {
                prop_assert!(*line >= 1 && *line <= text.matches('\n').count() + 1);
            }
        }
    }

    #[test]
    fn strings_and_comments_are_told_apart_from_code() {
        let l = lex("let a = \"x // y\"; // c \"q\"\nlet b = r#\"S \"q\" T\"#; let c = '\"';\n");
        assert_eq!(
            l.strings,
            vec![(1, "x // y".to_owned()), (2, "S \"q\" T".to_owned())]
        );
        assert!(
            !l.code.contains("//") && !l.code.contains('q'),
            "{}",
            l.code.replace('\n', "|")
        );
        assert_eq!(l.code.lines().count(), 2);
    }

    #[test]
    fn sql_is_recognized_by_its_words() {
        assert_eq!(
            sql_in("SELECT a FROM t").as_deref(),
            Some("SELECT ... FROM")
        );
        assert_eq!(
            sql_in("INSERT OR IGNORE INTO t").as_deref(),
            Some("INSERT ... INTO")
        );
        assert_eq!(
            sql_in("PRAGMA journal_mode").as_deref(),
            Some("PRAGMA journal_mode")
        );
        assert_eq!(sql_in("PRAGMA"), None);
        assert_eq!(sql_in("select what you need from the list"), None);
    }

    #[test]
    fn the_test_module_at_the_end_is_not_shipped() {
        let t = "fn a() {}\n#[cfg(test)]\nmod tests {\n}\n";
        assert_eq!(shipped(t), "fn a() {}\n");
        let t = "#[cfg(test)]\nmod formats;\nfn a() {}\n";
        assert_eq!(shipped(t), t);
        assert_eq!(out_of_line_test_modules(t), vec!["formats".to_owned()]);
    }
}
