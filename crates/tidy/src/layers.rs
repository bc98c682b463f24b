//! Layers from `cargo metadata`: every workspace crate declares one, the crates that must be
//! pure say so, and a pure crate reaches none of the I/O crates through its normal
//! dependencies, directly or transitively.

use crate::Finding;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// The floors a crate may declare (`[package.metadata.waypost] layer`).
pub const LAYERS: [&str; 6] = ["pure", "backend", "service", "edge", "binary", "tooling"];

/// Crates that must declare themselves pure, so nobody opts out silently.
pub const MUST_BE_PURE: [&str; 7] = [
    "waypost-domain",
    // Channel readers and quality gates: bytes and settings in, orders and decisions out.
    "waypost-orders",
    "waypost-rules",
    "waypost-adapters",
    "waypost-notify",
    "waypost-projection",
    // The store contract: traits and rows, no database crate, so the API and the senders
    // link no backend.
    "waypost-store",
];

/// Crates a pure crate may not reach: async runtimes, HTTP stacks and database drivers.
pub const FORBIDDEN_IN_PURE: [&str; 6] = ["tokio", "hyper", "axum", "reqwest", "rusqlite", "sqlx"];

/// A workspace crate as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// The declared layer, `None` when the manifest has none.
    pub layer: Option<String>,
    /// The crate's folder (its manifest's).
    pub dir: std::path::PathBuf,
    pub manifest: String,
}

/// The workspace's crates, in metadata order.
pub fn members(meta: &Value) -> Vec<Member> {
    let ids: Vec<&str> = meta["workspace_members"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    packages(meta)
        .into_iter()
        .filter(|p| p["id"].as_str().is_some_and(|id| ids.contains(&id)))
        .map(|p| {
            let manifest = p["manifest_path"].as_str().unwrap_or_default().to_owned();
            let dir = std::path::Path::new(&manifest)
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            Member {
                name: p["name"].as_str().unwrap_or_default().to_owned(),
                layer: p["metadata"]["waypost"]["layer"]
                    .as_str()
                    .map(str::to_owned),
                dir,
                manifest,
            }
        })
        .collect()
}

fn packages(meta: &Value) -> Vec<&Value> {
    meta["packages"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// Every crate has a known layer, and the crates that must be pure are (those that exist).
pub fn check_layers(meta: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let members = members(meta);
    for m in &members {
        match m.layer.as_deref() {
            None => out.push(Finding {
                place: m.manifest.clone(),
                line: None,
                message: format!(
                    "{} declares no layer: add `[package.metadata.waypost] layer = \"...\"`, one of {}",
                    m.name,
                    LAYERS.join(", ")
                ),
            }),
            Some(l) if !LAYERS.contains(&l) => out.push(Finding {
                place: m.manifest.clone(),
                line: None,
                message: format!(
                    "{} declares the unknown layer {l:?}: use one of {}",
                    m.name,
                    LAYERS.join(", ")
                ),
            }),
            Some(_) => {}
        }
        if MUST_BE_PURE.contains(&m.name.as_str()) && m.layer.as_deref() != Some("pure") {
            out.push(Finding {
                place: m.manifest.clone(),
                line: None,
                message: format!(
                    "{} must be declared `layer = \"pure\"` (no I/O, no async, no clock): \
                     move what needs I/O into a service crate instead of opting out",
                    m.name
                ),
            });
        }
    }
    out
}

/// Pure crates that reach a forbidden crate through normal (not dev, not build) dependencies,
/// with the path that leads there.
pub fn pure_dependencies(meta: &Value) -> Vec<Finding> {
    let names: HashMap<&str, &str> = packages(meta)
        .into_iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    // id -> ids of its normal dependencies.
    let mut normal: HashMap<&str, Vec<&str>> = HashMap::new();
    for node in meta["resolve"]["nodes"].as_array().into_iter().flatten() {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let deps = node["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k["kind"].is_null())
            })
            .filter_map(|d| d["pkg"].as_str())
            .collect();
        normal.insert(id, deps);
    }
    let ids: HashMap<&str, &str> = packages(meta)
        .into_iter()
        .filter_map(|p| Some((p["manifest_path"].as_str()?, p["id"].as_str()?)))
        .collect();
    let mut out = Vec::new();
    for m in members(meta) {
        if m.layer.as_deref() != Some("pure") {
            continue;
        }
        let Some(&start) = ids.get(m.manifest.as_str()) else {
            continue;
        };
        // Breadth first, so the path reported is a shortest one.
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        let mut found: Vec<(&str, Vec<&str>)> = Vec::new();
        while let Some(id) = queue.pop_front() {
            for &dep in normal.get(id).into_iter().flatten() {
                if dep == start || parent.contains_key(dep) {
                    continue;
                }
                parent.insert(dep, id);
                let name = names.get(dep).copied().unwrap_or(dep);
                if FORBIDDEN_IN_PURE.contains(&name) {
                    let mut path = vec![name];
                    let mut at = id;
                    while at != start {
                        path.push(names.get(at).copied().unwrap_or(at));
                        at = parent.get(at).copied().unwrap_or(start);
                    }
                    path.push(m.name.as_str());
                    path.reverse();
                    found.push((name, path));
                } else {
                    queue.push_back(dep);
                }
            }
        }
        found.sort();
        for (name, path) in found {
            out.push(Finding {
                place: m.manifest.clone(),
                line: None,
                message: format!(
                    "{} is pure but depends on {name} ({}): a pure crate does no I/O; \
                     move that code to a service crate or drop the dependency",
                    m.name,
                    path.join(" -> ")
                ),
            });
        }
    }
    out
}
