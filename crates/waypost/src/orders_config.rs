//! `[orders]`: order intake's sizing and each tenant's settings files (accounts, the profile in
//! force, a shadow profile), read and validated whole at start and on every reload.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use waypost_domain::TenantId;
use waypost_order_intake::TenantOrders;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersConfig {
    /// Orders waiting for the order book's writer in each priority lane (high: express, VIP,
    /// marketplace SLAs; standard: the rest) before intake answers 429.
    pub lane_capacity: usize,
    /// Per tenant: `[orders.tenants.<tenant>]` with `accounts`, `profile` and `shadow` files.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<String, TenantFiles>,
    /// `[[orders.drops]]`: folders partners leave order files in (X12 850s, order JSON).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drops: Vec<waypost_order_intake::drops::OrderDropConfig>,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        OrdersConfig {
            lane_capacity: 4096,
            tenants: BTreeMap::new(),
            drops: Vec::new(),
        }
    }
}

/// One tenant's settings files, relative to the configuration file's folder.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TenantFiles {
    /// `[[accounts]]`: stores, sellers and trading partners, with their SLAs and signals.
    pub accounts: Option<PathBuf>,
    /// The validation profile in force (`docs/orders.md`).
    pub profile: Option<PathBuf>,
    /// A candidate profile run in the shadow of the one in force: it decides nothing and
    /// reports what it would have done.
    pub shadow: Option<PathBuf>,
}

impl OrdersConfig {
    /// Every tenant's settings, or every problem of every file at once.
    pub fn load(
        &self,
        base: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<(TenantId, TenantOrders)>, String> {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for (tenant, files) in &self.tenants {
            let t = match TenantId::new(tenant.clone()) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("orders.tenants.{tenant}: {e}"));
                    continue;
                }
            };
            let read = |p: &Option<PathBuf>| -> Option<Result<(String, String), String>> {
                let p = p.as_ref()?;
                let full = match base {
                    Some(b) if p.is_relative() => b.join(p),
                    _ => p.clone(),
                };
                Some(
                    std::fs::read_to_string(&full)
                        .map(|text| (full.display().to_string(), text))
                        .map_err(|e| {
                            format!("orders.tenants.{tenant}: reading {}: {e}", full.display())
                        }),
                )
            };
            let mut texts = Vec::new();
            for p in [&files.accounts, &files.profile, &files.shadow] {
                texts.push(match read(p) {
                    None => None,
                    Some(Ok(x)) => Some(x),
                    Some(Err(e)) => {
                        problems.push(e);
                        None
                    }
                });
            }
            let pick = |i: usize| texts[i].as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
            match TenantOrders::parse(pick(0), pick(1), pick(2)) {
                Ok(mut s) => match s.resolve_secrets(env) {
                    Ok(()) => out.push((t, s)),
                    Err(e) => problems.extend(
                        e.problems
                            .into_iter()
                            .map(|p| format!("orders.tenants.{tenant}: {p}")),
                    ),
                },
                Err(e) => problems.extend(e.problems),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(format!(
                "{} problem(s) in the order-intake settings:\n  {}",
                problems.len(),
                problems.join("\n  ")
            ))
        }
    }
}
