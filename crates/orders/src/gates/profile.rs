//! A validation profile from its TOML text, with every problem reported at once.
//!
//! Like the exception rules' files (`waypost-rules`' `config`), the text is walked by hand
//! rather than through serde structs: serde stops at the first error, and an operator fixing a
//! profile wants all of them, each with its path and line. The walk reads toml's spanned tree
//! (`DeTable`) so a problem can name the line it is on.

use super::impact::{ImpactWeights, impact_weights};
use super::spec::{CheckId, CheckLayer, Field, Params, Settings};
use super::{Layer, Outcome};
use crate::model::{Channel, RiskLevel};
use crate::resolve::parse_span;
use jiff::SignedDuration;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One thing wrong with a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where, as a TOML path: `account."acme-shop".checks.sku_known.outcom`; empty for the
    /// file as a whole (a syntax error).
    pub path: String,
    /// 1-based line in the profile's text, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(l) = self.line {
            write!(f, " (line {l})")?;
        }
        Ok(())
    }
}

type Checks = BTreeMap<CheckId, CheckLayer>;

/// A validation profile: the global layer's checks, the channels' and the accounts'
/// overrides, and the intake queue's impact weights. [`Profile::default`] is the built-in
/// profile: every check with its default outcome and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub(super) global: Checks,
    pub(super) channels: BTreeMap<Channel, Checks>,
    pub(super) accounts: BTreeMap<String, Checks>,
    pub impact: ImpactWeights,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            name: "built-in".to_string(),
            global: Checks::new(),
            channels: BTreeMap::new(),
            accounts: BTreeMap::new(),
            impact: ImpactWeights::default(),
        }
    }
}

impl Profile {
    /// Parses and validates a profile. On failure every problem found is returned.
    pub fn parse(text: &str) -> Result<Profile, Vec<Problem>> {
        let mut cx = Cx {
            newlines: (text.bytes().enumerate())
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
            problems: Vec::new(),
        };
        let (doc, errors) = DeTable::parse_recoverable(text);
        if !errors.is_empty() {
            for e in errors {
                let line = e.span().map(|s| cx.line(s.start));
                cx.problems.push(Problem {
                    path: String::new(),
                    line,
                    message: format!("not TOML: {}", e.message().trim()),
                });
            }
            return Err(cx.problems);
        }
        let mut profile = Profile::default();
        let mut name = None;
        for (k, v) in doc.get_ref().iter() {
            let key = k.get_ref().as_ref();
            match key {
                "name" => name = cx.string(key, v),
                "checks" => {
                    if let Some(t) = cx.table(key, v) {
                        profile.global = cx.checks(key, t);
                    }
                }
                "channel" => {
                    for (ck, cv) in cx.table(key, v).into_iter().flatten() {
                        let path = format!("channel.{}", bare(ck.get_ref()));
                        let Some(c) = Channel::parse(ck.get_ref()) else {
                            let valid = Channel::ALL.map(Channel::as_str).join(", ");
                            cx.at(&path, ck, format!("unknown channel (valid: {valid})"));
                            continue;
                        };
                        if let Some(checks) = cx.layer(&path, cv) {
                            profile.channels.insert(c, checks);
                        }
                    }
                }
                "account" => {
                    for (ak, av) in cx.table(key, v).into_iter().flatten() {
                        let id = ak.get_ref().as_ref();
                        let path = format!("account.{id:?}");
                        if waypost_domain::SourceName::new(id.to_string()).is_err() {
                            cx.at(&path, ak, "an account id matches [a-z0-9][a-z0-9_.-]*");
                        }
                        if let Some(checks) = cx.layer(&path, av) {
                            profile.accounts.insert(id.to_string(), checks);
                        }
                    }
                }
                "impact" => {
                    if let Some(t) = cx.table(key, v) {
                        profile.impact = impact_weights(&mut cx, key, t);
                    }
                }
                _ => cx.at(
                    key,
                    k,
                    "unknown key (valid: name, checks, channel, account, impact)",
                ),
            }
        }
        match name {
            Some(n) if !n.trim().is_empty() => profile.name = n.trim().to_string(),
            Some(_) => cx.whole("name", "must not be blank"),
            None if !doc.get_ref().iter().any(|(k, _)| k.get_ref() == "name") => cx.whole(
                "name",
                "required: shadow reports and explain name the profile",
            ),
            None => {}
        }
        if cx.problems.is_empty() {
            Ok(profile)
        } else {
            // toml's tables come back sorted by key; the file's order reads better.
            cx.problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
            Err(cx.problems)
        }
    }

    /// A check's settings for an order of `channel` in `account`: built-in defaults, then
    /// the global layer, the channel's, the account's.
    pub(super) fn settings(&self, check: CheckId, channel: Channel, account: &str) -> Settings {
        let mut s = Settings::defaults(check);
        let layers = [
            (Layer::Global, self.global.get(&check)),
            (
                Layer::Channel(channel),
                self.channels.get(&channel).and_then(|c| c.get(&check)),
            ),
            (
                Layer::Account(account.to_string()),
                self.accounts.get(account).and_then(|c| c.get(&check)),
            ),
        ];
        for (layer, l) in layers {
            if let Some(l) = l {
                s.apply(&layer, l);
            }
        }
        s
    }

    /// How far back the caller looks for orders with the same fingerprint, for an order of
    /// `channel` in `account`.
    pub fn duplicate_window(&self, channel: Channel, account: &str) -> SignedDuration {
        self.settings(CheckId::Duplicate, channel, account).window
    }
}

/// A key as a TOML path segment: bare when it can be, quoted otherwise.
pub(super) fn bare(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

/// The walk's context: where the text's lines end (so a problem's line costs a binary search,
/// not a scan: a hostile profile may have a problem on every line) and the problems so far.
pub(super) struct Cx {
    newlines: Vec<usize>,
    pub problems: Vec<Problem>,
}

type Val<'i> = Spanned<DeValue<'i>>;

/// One string of an array, with where it was.
struct Item {
    text: String,
    path: String,
    line: usize,
}

impl Cx {
    fn line(&self, offset: usize) -> usize {
        1 + self.newlines.partition_point(|n| *n < offset)
    }

    pub fn at<T>(&mut self, path: &str, spanned: &Spanned<T>, message: impl Into<String>) {
        let line = Some(self.line(spanned.span().start));
        self.problems.push(Problem {
            path: path.to_string(),
            line,
            message: message.into(),
        });
    }

    fn whole(&mut self, path: &str, message: &str) {
        self.problems.push(Problem {
            path: path.to_string(),
            line: None,
            message: message.to_string(),
        });
    }

    fn wrong<T>(&mut self, path: &str, v: &Val, expected: &str) -> Option<T> {
        let found = v.get_ref().type_str();
        self.at(path, v, format!("expected {expected}, found {found}"));
        None
    }

    pub fn table<'a, 'i>(&mut self, path: &str, v: &'a Val<'i>) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => self.wrong(path, v, "a table"),
        }
    }

    fn string<'a>(&mut self, path: &str, v: &'a Val) -> Option<&'a str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => self.wrong(path, v, "a string"),
        }
    }

    /// An array of strings, each with its path (`allowed[2]`) and line for later problems.
    fn strings(&mut self, path: &str, v: &Val) -> Option<Vec<Item>> {
        let DeValue::Array(items) = v.get_ref() else {
            return self.wrong(path, v, "an array of strings");
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{path}[{i}]");
            if let Some(s) = self.string(&path, item) {
                let line = self.line(item.span().start);
                out.push(Item {
                    text: s.to_string(),
                    path,
                    line,
                });
            }
        }
        Some(out)
    }

    fn item(&mut self, item: &Item, message: String) {
        self.problems.push(Problem {
            path: item.path.clone(),
            line: Some(item.line),
            message,
        });
    }

    /// A number written as an integer, a float or a string: kept exact.
    fn decimal(&mut self, path: &str, v: &Val) -> Option<Decimal> {
        let text = match v.get_ref() {
            DeValue::Integer(i) if i.radix() == 10 => i.as_str(),
            DeValue::Float(f) => f.as_str(),
            DeValue::String(s) => s.as_ref(),
            _ => return self.wrong(path, v, "a number or a decimal string"),
        };
        let t = text.trim().replace('_', "");
        match t.parse::<Decimal>() {
            Ok(d) if t.len() <= 40 && !t.contains(['e', 'E']) => Some(d),
            _ => {
                self.at(path, v, format!("{text:?} is not a decimal number"));
                None
            }
        }
    }

    /// A non-negative finite weight, as an integer or a float.
    pub fn weight(&mut self, path: &str, v: &Val) -> Option<f64> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            _ => return self.wrong(path, v, "a number"),
        };
        match n {
            Some(n) if n.is_finite() && n >= 0.0 => Some(n),
            _ => {
                self.at(path, v, "must be a finite number, zero or more");
                None
            }
        }
    }

    fn span(&mut self, path: &str, v: &Val) -> Option<SignedDuration> {
        let s = self.string(path, v)?;
        let d = parse_span(s);
        if d.is_none() {
            self.at(
                path,
                v,
                format!("{s:?} is not a duration like \"2d\", \"36h\" or \"90m\""),
            );
        }
        d
    }

    /// `[channel.X]` or `[account."Y"]`: a table holding only `checks`.
    fn layer(&mut self, path: &str, v: &Val) -> Option<Checks> {
        let t = self.table(path, v)?;
        let mut out = None;
        for (k, v) in t.iter() {
            let p = format!("{path}.{}", bare(k.get_ref()));
            if k.get_ref() == "checks" {
                if let Some(t) = self.table(&p, v) {
                    out = Some(self.checks(&p, t));
                }
            } else {
                self.at(&p, k, "unknown key (a layer holds only `checks`)");
            }
        }
        Some(out.unwrap_or_default())
    }

    fn checks(&mut self, path: &str, t: &DeTable) -> Checks {
        let mut out = Checks::new();
        for (k, v) in t.iter() {
            let p = format!("{path}.{}", bare(k.get_ref()));
            let Some(id) = CheckId::parse(k.get_ref()) else {
                let valid = CheckId::ALL.map(CheckId::as_str).join(", ");
                self.at(&p, k, format!("unknown check (valid: {valid})"));
                continue;
            };
            if let Some(t) = self.table(&p, v) {
                out.insert(id, self.check(id, &p, t));
            }
        }
        out
    }

    fn check(&mut self, id: CheckId, path: &str, t: &DeTable) -> CheckLayer {
        let mut l = CheckLayer::default();
        for (k, v) in t.iter() {
            let key = k.get_ref().as_ref();
            let p = format!("{path}.{}", bare(key));
            match key {
                "outcome" => {
                    l.outcome = self.string(&p, v).and_then(|s| {
                        let o = Outcome::parse(s);
                        if o.is_none() {
                            let valid = Outcome::ALL.map(Outcome::as_str).join(", ");
                            self.at(&p, v, format!("unknown outcome {s:?} (valid: {valid})"));
                        }
                        o
                    })
                }
                "enabled" => match v.get_ref() {
                    DeValue::Boolean(b) => l.enabled = Some(*b),
                    _ => self.wrong(&p, v, "true or false").unwrap_or(()),
                },
                _ if id.params().contains(&key) => self.param(&mut l.params, key, &p, v),
                _ => {
                    let mut valid = vec!["outcome", "enabled"];
                    valid.extend(id.params());
                    self.at(&p, k, format!("unknown key (valid: {})", valid.join(", ")));
                }
            }
        }
        l
    }

    fn param(&mut self, params: &mut Params, key: &str, p: &str, v: &Val) {
        match key {
            "fields" => params.fields = self.fields(p, v),
            "max" | "max_unit" => {
                let d = self.decimal(p, v).filter(|d| {
                    let ok = d.is_sign_positive() && !d.is_zero();
                    if !ok {
                        self.at(p, v, format!("{d} must be more than zero"));
                    }
                    ok
                });
                if key == "max" {
                    params.max = d;
                } else {
                    params.max_unit = d;
                }
            }
            "allowed" => {
                let list = self.strings(p, v).map(|codes| {
                    let mut out = Vec::new();
                    for it in codes {
                        let c = &it.text;
                        if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) {
                            out.push(c.clone());
                        } else {
                            self.item(&it, format!("{c:?} is not an ISO 4217 code like \"USD\""));
                        }
                    }
                    out
                });
                params.allowed = list;
            }
            "window" => params.window = self.span(p, v),
            "min_lead" => params.min_lead = self.span(p, v),
            "at_least" => {
                params.at_least = self.string(p, v).and_then(|s| {
                    let l = match s {
                        "low" => Some(RiskLevel::Low),
                        "medium" => Some(RiskLevel::Medium),
                        "high" => Some(RiskLevel::High),
                        _ => None,
                    };
                    if l.is_none() {
                        self.at(
                            p,
                            v,
                            format!("unknown risk level {s:?} (valid: low, medium, high)"),
                        );
                    }
                    l
                })
            }
            _ => {}
        }
    }

    fn fields(&mut self, p: &str, v: &Val) -> Option<Vec<Vec<Field>>> {
        let mut out = Vec::new();
        for it in self.strings(p, v)? {
            let s = &it.text;
            let mut alts = Vec::new();
            for name in s.split('|').map(str::trim) {
                match Field::parse(name) {
                    Some(f) => alts.push(f),
                    None => {
                        let valid = Field::ALL.map(Field::as_str).join(", ");
                        self.item(&it, format!("unknown field {name:?} (valid: {valid})"));
                    }
                }
            }
            if alts.len() == s.split('|').count() {
                out.push(alts);
            }
        }
        Some(out)
    }
}
