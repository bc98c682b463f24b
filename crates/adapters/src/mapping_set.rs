//! Every source's mapping table, with tenants' overrides already merged in. Overrides are merged
//! once, when the set is built, so that looking up the table for an incoming document is a map
//! lookup and never a merge: the hot path pays nothing for a tenant having overrides.

use crate::mapping::{MappingError, MappingTable};
use crate::sources::Source;
use std::collections::HashMap;
use waypost_domain::TenantId;

#[derive(Debug, Clone)]
pub struct MappingSet {
    /// Indexed like [`Source::all`].
    builtin: Vec<MappingTable>,
    /// Only the (tenant, source) pairs that have an override; the table is the merged one.
    /// Keyed by tenant first so a lookup borrows the caller's id instead of cloning it.
    tenants: HashMap<TenantId, HashMap<Source, MappingTable>>,
    /// Tenants whose description-fallback threshold is not the default: every table of theirs
    /// is in `tenants`, carrying it.
    thresholds: HashMap<TenantId, Option<f32>>,
}

fn index(source: Source) -> usize {
    // `Source::all` lists every source once, and a `Source` exists only as one of them.
    Source::all().iter().position(|s| *s == source).unwrap_or(0)
}

impl MappingSet {
    /// The tables shipped with Waypost and no override. Fails only if a shipped table is
    /// broken, which the adapters' own tests rule out; the error still names the file.
    pub fn builtin() -> Result<Self, MappingError> {
        let builtin = Source::all()
            .iter()
            .map(|s| s.builtin_table())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MappingSet {
            builtin,
            tenants: HashMap::new(),
            thresholds: HashMap::new(),
        })
    }

    /// Sets the description fallback's threshold for every table (`None`: the fallback off).
    pub fn with_default_threshold(mut self, threshold: Option<f32>) -> Self {
        for t in &mut self.builtin {
            t.description_threshold = threshold;
        }
        self
    }

    /// Sets `tenant`'s description-fallback threshold (`None`: off for this tenant).
    pub fn with_threshold(mut self, tenant: &TenantId, threshold: Option<f32>) -> Self {
        self.thresholds.insert(tenant.clone(), threshold);
        let tables = self.tenants.entry(tenant.clone()).or_default();
        for (i, &source) in Source::all().iter().enumerate() {
            let t = tables
                .entry(source)
                .or_insert_with(|| self.builtin[i].clone());
            t.description_threshold = threshold;
        }
        self
    }

    /// Lays `overrides` over `source`'s table for `tenant` only. A second override for the same
    /// pair is laid over the first, so several files may extend one table.
    pub fn with_override(
        mut self,
        tenant: &TenantId,
        source: Source,
        overrides: &MappingTable,
    ) -> Self {
        let base = &self.builtin[index(source)];
        let tables = self.tenants.entry(tenant.clone()).or_default();
        let mut merged = match tables.get(&source) {
            Some(current) => current.overlay(overrides),
            None => base.overlay(overrides),
        };
        if let Some(t) = self.thresholds.get(tenant) {
            merged.description_threshold = *t;
        }
        tables.insert(source, merged);
        self
    }

    /// The table in force for `source`, for `tenant` when given: its merged override if it has
    /// one, else the shipped table.
    pub fn table(&self, tenant: Option<&TenantId>, source: Source) -> &MappingTable {
        if let Some(table) = tenant
            .and_then(|t| self.tenants.get(t))
            .and_then(|tables| tables.get(&source))
        {
            return table;
        }
        &self.builtin[index(source)]
    }

    /// The tenants that override a table of `source`, sorted (for operators' listings).
    pub fn tenants_overriding(&self, source: Source) -> Vec<&TenantId> {
        let mut out: Vec<&TenantId> = self
            .tenants
            .iter()
            .filter(|(_, tables)| tables.contains_key(&source))
            .map(|(t, _)| t)
            .collect();
        out.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use waypost_domain::Status;

    fn over(text: &str) -> MappingTable {
        MappingTable::from_toml("o.toml", "ups", text).unwrap()
    }

    #[test]
    fn builtin_has_every_source() {
        let set = MappingSet::builtin().unwrap();
        for &s in Source::all() {
            assert_eq!(set.table(None, s).source, s.name());
        }
    }

    #[test]
    fn an_override_applies_to_its_tenant_and_source_only() {
        let acme = TenantId::new("acme").unwrap();
        let other = TenantId::new("other").unwrap();
        let set = MappingSet::builtin().unwrap().with_override(
            &acme,
            Source::Ups,
            &over("source = \"ups\"\n[codes]\n\"X\" = { status = \"on_hold\", description = \"held\" }\n\"ZZ\" = { status = \"lost\", description = \"lost\" }"),
        );
        let t = set.table(Some(&acme), Source::Ups);
        assert_eq!(t.status("X").unwrap().status, Status::OnHold);
        assert_eq!(t.status("ZZ").unwrap().status, Status::Lost);
        // Codes the override does not name keep the shipped meaning.
        assert_eq!(t.status("D").unwrap().status, Status::Delivered);
        for t in [
            set.table(Some(&other), Source::Ups),
            set.table(None, Source::Ups),
        ] {
            assert_eq!(t.status("X").unwrap().status, Status::Exception);
            assert!(t.status("ZZ").is_none());
        }
        assert_eq!(set.table(Some(&acme), Source::Fedex).source, "fedex");
        assert_eq!(set.tenants_overriding(Source::Ups), vec![&acme]);
        assert!(set.tenants_overriding(Source::Fedex).is_empty());
    }

    #[test]
    fn overrides_for_one_pair_accumulate() {
        let acme = TenantId::new("acme").unwrap();
        let set = MappingSet::builtin()
            .unwrap()
            .with_override(
                &acme,
                Source::Ups,
                &over("source = \"ups\"\n[codes]\n\"Q1\" = { status = \"lost\", description = \"a\" }"),
            )
            .with_override(
                &acme,
                Source::Ups,
                &over("source = \"ups\"\n[codes]\n\"Q2\" = { status = \"returning\", description = \"b\" }"),
            );
        let t = set.table(Some(&acme), Source::Ups);
        assert!(t.status("Q1").is_some() && t.status("Q2").is_some());
    }
}
