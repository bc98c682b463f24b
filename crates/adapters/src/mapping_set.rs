//! Every source's mapping table, with tenants' overrides merged in at load, so a lookup on the
//! hot path is one map access.

use crate::mapping::{MappingError, MappingTable};
use crate::sources::Source;
use std::collections::BTreeMap;
use waypost_domain::TenantId;

#[derive(Debug, Clone, Default)]
pub struct MappingSet {
    builtin: BTreeMap<Source, MappingTable>,
    tenants: BTreeMap<(TenantId, Source), MappingTable>,
}

impl MappingSet {
    /// The tables shipped with Waypost.
    pub fn builtin() -> Result<Self, MappingError> {
        let mut builtin = BTreeMap::new();
        for s in Source::ALL {
            builtin.insert(s, s.builtin_table()?);
        }
        Ok(MappingSet {
            builtin,
            tenants: BTreeMap::new(),
        })
    }

    /// Lays a tenant's override over the shipped table of `source`.
    pub fn with_override(
        mut self,
        tenant: &TenantId,
        source: Source,
        table: &MappingTable,
    ) -> Self {
        let merged = self
            .builtin
            .get(&source)
            .map_or_else(|| table.clone(), |b| b.overlay(table));
        self.tenants.insert((tenant.clone(), source), merged);
        self
    }

    /// The table that applies to `tenant`'s documents of `source`.
    pub fn table(&self, tenant: Option<&TenantId>, source: Source) -> &MappingTable {
        static EMPTY: std::sync::OnceLock<MappingTable> = std::sync::OnceLock::new();
        tenant
            .and_then(|t| self.tenants.get(&(t.clone(), source)))
            .or_else(|| self.builtin.get(&source))
            .unwrap_or_else(|| EMPTY.get_or_init(MappingTable::default))
    }
}
