//! The description fallback: for a code no table knows, a proposal read from the vendor's own
//! words ("Out for delivery", "Zustellung heute", "Livré", "En reparto", "In consegna",
//! "Bezorgd", "Objeto entregue"), with a confidence. Never silent: an event mapped this way is
//! marked (`attributes.mapped_by = "description"`), and one under the tenant's threshold stays
//! quarantined with the proposal for a person to accept. An exact table entry or pattern always
//! wins over it.
//!
//! The phrases are data (`phrases/<language>.toml`): for each status (and reason), word
//! sequences that say it. A text is folded to lower-case ASCII words; every phrase found in it
//! counts, the longest one first where two overlap (so "could not be delivered" beats
//! "delivered"); the status with the most matched words wins. Confidence is that status's share
//! of all matched words, times how specific its longest phrase is (one word 0.7, two 0.85,
//! three or more 1.0). Reason phrases ("weather", "customs", "address") only add a reason to a
//! condition status.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;
use waypost_domain::{Reason, Status};

/// The shipped default: the lowest threshold whose precision, measured over every labelled
/// corpus event with its table left out (`tests/classifier.rs`), is at least 98 %.
pub const DEFAULT_THRESHOLD: f32 = 0.8;

/// Words of a text looked at; descriptions are far shorter.
const MAX_WORDS: usize = 64;

/// What the description says, and how sure the classifier is.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub status: Status,
    pub reason: Option<Reason>,
    /// From 0 to 1.
    pub confidence: f32,
    /// The phrase that decided, as written in the phrase file, and its language.
    pub phrase: String,
    pub language: &'static str,
}

#[derive(Debug, Clone)]
struct Phrase {
    words: Vec<String>,
    status: Option<Status>,
    reason: Option<Reason>,
    /// The most confidence this phrase can give: carriers use it for more than one thing
    /// ("returned to sender" is on its way back for some, back at the sender for others).
    cap: f32,
    text: String,
    language: &'static str,
}

/// Words that, just before a phrase, say the opposite ("not yet handed over", "nicht
/// zugestellt"): the phrase does not count.
const NEGATIONS: [&str; 10] = [
    "not", "no", "non", "nicht", "kein", "keine", "pas", "niet", "nao", "never",
];
/// Words that may stand between a negation and its phrase ("not yet handed over").
const NEGATION_FILLERS: [&str; 6] = ["yet", "been", "be", "being", "noch", "encore"];

/// Every language's phrases, indexed by first word.
#[derive(Debug)]
pub struct Classifier {
    phrases: Vec<Phrase>,
    by_first: HashMap<String, Vec<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRepr {
    language: String,
    #[serde(default)]
    rule: Vec<RuleRepr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleRepr {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    cap: Option<f32>,
    phrases: Vec<String>,
}

/// The shipped phrase files: (language, text).
const FILES: [(&str, &str); 7] = [
    ("en", include_str!("../phrases/en.toml")),
    ("de", include_str!("../phrases/de.toml")),
    ("fr", include_str!("../phrases/fr.toml")),
    ("es", include_str!("../phrases/es.toml")),
    ("it", include_str!("../phrases/it.toml")),
    ("nl", include_str!("../phrases/nl.toml")),
    ("pt", include_str!("../phrases/pt.toml")),
];

/// Lower-case ASCII words: accents dropped (carriers write "livre" as often as "livré"),
/// everything that is not a letter or digit a separator.
pub fn words(text: &str) -> Vec<String> {
    let ascii = deunicode::deunicode(text).to_ascii_lowercase();
    ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .map(str::to_owned)
        .collect()
}

impl Classifier {
    /// The shipped phrases; built once.
    pub fn builtin() -> &'static Classifier {
        static C: OnceLock<Classifier> = OnceLock::new();
        C.get_or_init(|| {
            // The shipped files are checked by this module's tests; a broken one is a build
            // error in CI, and at run time it leaves that language out rather than failing.
            let files = FILES
                .iter()
                .filter_map(|(l, t)| Classifier::read(l, t).ok());
            Classifier::from_files(files.flatten().collect())
        })
    }

    fn read(language: &'static str, text: &str) -> Result<Vec<Phrase>, String> {
        let file: FileRepr =
            toml::from_str(text).map_err(|e| format!("phrases/{language}.toml: {e}"))?;
        if file.language != language {
            return Err(format!(
                "phrases/{language}.toml: says language {:?}",
                file.language
            ));
        }
        let mut out = Vec::new();
        for (i, r) in file.rule.into_iter().enumerate() {
            let at = |m: String| format!("phrases/{language}.toml: rule {i}: {m}");
            let status = r
                .status
                .map(|s| {
                    s.parse::<Status>()
                        .map_err(|_| at(format!("{s:?} is not a status")))
                })
                .transpose()?;
            let reason = r
                .reason
                .map(|s| {
                    s.parse::<Reason>()
                        .map_err(|_| at(format!("{s:?} is not a reason")))
                })
                .transpose()?;
            if status.is_none() && reason.is_none() {
                return Err(at("needs a status, a reason, or both".into()));
            }
            if status == Some(Status::Unknown) {
                return Err(at("`unknown` is what no phrase says".into()));
            }
            let cap = r.cap.unwrap_or(1.0);
            if !(0.0..=1.0).contains(&cap) {
                return Err(at(format!("cap {cap} is not between 0 and 1")));
            }
            for p in r.phrases {
                let w = words(&p);
                if w.is_empty() {
                    return Err(at(format!("phrase {p:?} has no words")));
                }
                out.push(Phrase {
                    words: w,
                    status,
                    reason,
                    cap,
                    text: p,
                    language,
                });
            }
        }
        Ok(out)
    }

    fn from_files(phrases: Vec<Phrase>) -> Classifier {
        let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in phrases.iter().enumerate() {
            if let Some(first) = p.words.first() {
                by_first.entry(first.clone()).or_default().push(i);
            }
        }
        Classifier { phrases, by_first }
    }

    /// The proposal for `text`, or `None` when no phrase says a status.
    pub fn classify(&self, text: &str) -> Option<Proposal> {
        let w = words(text);
        // Every occurrence of every phrase: (start, end, phrase).
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        for start in 0..w.len() {
            let Some(cands) = self.by_first.get(&w[start]) else {
                continue;
            };
            for &i in cands {
                let p = &self.phrases[i].words;
                let end = start + p.len();
                if end <= w.len() && w[start..end] == p[..] {
                    found.push((start, end, i));
                }
            }
        }
        // Longest first; a phrase inside a longer one that was taken does not count. Status
        // and reason phrases overlap freely: "in customs" says a status and a reason at once.
        found.sort_by_key(|&(s, e, _)| (std::cmp::Reverse(e - s), s));
        let mut taken = [vec![false; w.len()], vec![false; w.len()]];
        let mut kept = Vec::new();
        for (s, e, i) in found {
            let layer = &mut taken[usize::from(self.phrases[i].status.is_none())];
            if layer[s..e].iter().any(|t| *t) {
                continue;
            }
            layer[s..e].iter_mut().for_each(|t| *t = true);
            if !negated(&w, s) {
                kept.push((e - s, i));
            }
        }
        // Matched words per status, and each status's longest phrase.
        let mut score: Vec<(Status, usize, usize, usize)> = Vec::new();
        let mut reason: Option<(usize, Reason)> = None;
        for &(len, i) in &kept {
            let p = &self.phrases[i];
            match p.status {
                Some(st) => match score.iter_mut().find(|(s, ..)| *s == st) {
                    Some(entry) => {
                        entry.1 += len;
                        if len > entry.2 {
                            entry.2 = len;
                            entry.3 = i;
                        }
                    }
                    None => score.push((st, len, len, i)),
                },
                None => {
                    if let Some(r) = p.reason
                        && reason.is_none_or(|(l, _)| len > l)
                    {
                        reason = Some((len, r));
                    }
                }
            }
        }
        let total: usize = score.iter().map(|s| s.1).sum();
        let &(status, words_for, longest, decider) = score.iter().max_by_key(|s| (s.1, s.2))?;
        let tied = score
            .iter()
            .filter(|s| s.1 == words_for && s.2 == longest)
            .count()
            > 1;
        if tied {
            return None;
        }
        let specificity = match longest {
            1 => 0.7,
            2 => 0.85,
            _ => 1.0,
        };
        let p = &self.phrases[decider];
        let confidence = (words_for as f32 / total as f32 * specificity).min(p.cap);
        let reason = reason.map(|(_, r)| r);
        let (status, reason) = match (status, reason) {
            // A delivery that failed for a cause other than the recipient's absence is, in the
            // taxonomy, a delay (weather, volume...) or an exception needing action (address,
            // refusal, damage, payment, customs).
            (Status::AttemptFailed, Some(r)) if is_delay_cause(r) => (Status::Delayed, Some(r)),
            (Status::AttemptFailed, Some(r)) if is_action_cause(r) => (Status::Exception, Some(r)),
            (st, r) => {
                let condition = matches!(
                    st,
                    Status::Delayed | Status::AttemptFailed | Status::Exception | Status::OnHold
                );
                (st, p.reason.or(r.filter(|_| condition)))
            }
        };
        Some(Proposal {
            status,
            reason,
            confidence: (confidence * 100.0).round() / 100.0,
            phrase: p.text.clone(),
            language: p.language,
        })
    }
}

/// Whether the words just before position `start` negate what follows.
fn negated(w: &[String], start: usize) -> bool {
    let before = |k: usize| {
        start
            .checked_sub(k)
            .and_then(|i| w.get(i))
            .map(String::as_str)
    };
    match (before(2), before(1)) {
        (_, Some(b)) if NEGATIONS.contains(&b) => true,
        (Some(a), Some(b)) => NEGATIONS.contains(&a) && NEGATION_FILLERS.contains(&b),
        _ => false,
    }
}

fn is_delay_cause(r: Reason) -> bool {
    matches!(
        r,
        Reason::Weather
            | Reason::Volume
            | Reason::MissedConnection
            | Reason::Mechanical
            | Reason::NaturalDisaster
            | Reason::CarrierCapacity
    )
}

fn is_action_cause(r: Reason) -> bool {
    matches!(
        r,
        Reason::AddressIssue
            | Reason::Refused
            | Reason::Damaged
            | Reason::Payment
            | Reason::Customs
    )
}

/// The shipped phrase files, each read strictly: for tests and `waypost mappings check`.
pub fn check_builtin() -> Vec<String> {
    FILES
        .iter()
        .filter_map(|(l, t)| Classifier::read(l, t).err())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn c(text: &str) -> Option<(Status, Option<Reason>, f32)> {
        Classifier::builtin()
            .classify(text)
            .map(|p| (p.status, p.reason, p.confidence))
    }

    #[test]
    fn every_phrase_file_reads() {
        assert!(check_builtin().is_empty(), "{:?}", check_builtin());
        assert!(Classifier::builtin().phrases.len() > 300);
    }

    #[test]
    fn the_longest_phrase_wins_over_the_words_inside_it() {
        assert_eq!(c("Delivered").unwrap().0, Status::Delivered);
        let (s, r, _) = c("Your parcel could not be delivered, recipient not at home").unwrap();
        assert_eq!(
            (s, r),
            (Status::AttemptFailed, Some(Reason::RecipientUnavailable))
        );
        let (s, r, _) = c("Delayed due to severe weather").unwrap();
        assert_eq!((s, r), (Status::Delayed, Some(Reason::Weather)));
    }

    #[test]
    fn seven_languages() {
        for (text, want) in [
            ("Out for delivery", Status::OutForDelivery),
            (
                "Die Sendung wurde in das Zustellfahrzeug geladen.",
                Status::OutForDelivery,
            ),
            ("Votre colis est livré.", Status::Delivered),
            ("En reparto", Status::OutForDelivery),
            ("Consegnato", Status::Delivered),
            ("Het pakket is bezorgd", Status::Delivered),
            ("Objeto entregue ao destinatário", Status::Delivered),
        ] {
            assert_eq!(c(text).map(|x| x.0), Some(want), "{text}");
        }
    }

    #[test]
    fn nothing_known_proposes_nothing() {
        assert!(c("").is_none());
        assert!(c("Lorem ipsum dolor").is_none());
    }

    #[test]
    fn words_fold_accents_and_punctuation() {
        assert_eq!(words("Livré à: l'adresse!"), ["livre", "a", "l", "adresse"]);
    }
}
