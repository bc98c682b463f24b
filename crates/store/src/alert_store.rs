//! Rule deadlines and alerts: the detector's timers and what it raised.
use crate::*;
use jiff::Timestamp;
use waypost_domain::TenantId;

/// The rules detector's side. Deadlines and snoozes are timers owned per partition: the
/// partition's consumer loads and fires them.
pub trait RuleStore: Send {
    /// The rules detector's commit, in ONE transaction: removes `remove`'s deadlines, then
    /// upserts `upsert`'s (so a key in both ends up upserted), then carries out `alerts` in
    /// order, one outcome each. Any failure (a stale version, an unknown id) writes nothing.
    /// `now` is the server clock, kept as the alerts' last-write time.
    fn rules_commit(
        &mut self,
        upsert: &[DeadlineRow],
        remove: &[(SubjectKey, String)],
        alerts: &[AlertWrite],
        now: Timestamp,
    ) -> Result<Vec<AlertOutcome>, StoreError>;
    /// Hands every stored deadline of `partition`, of every tenant, to `f` one at a time, and
    /// returns how many: the timer index's start-up load, without a second copy of a million
    /// rows.
    fn for_each_deadline(
        &mut self,
        partition: Partition,
        f: &mut dyn FnMut(DeadlineRow),
    ) -> Result<u64, StoreError>;
    /// Every stored deadline of `partition`, collected.
    fn load_deadlines(&mut self, partition: Partition) -> Result<Vec<DeadlineRow>, StoreError> {
        let mut all = Vec::new();
        self.for_each_deadline(partition, &mut |d| all.push(d))?;
        Ok(all)
    }
    /// One order's deadlines (its own and its shipments'), by track then rule.
    fn deadlines_of(
        &mut self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<DeadlineRow>, StoreError>;
    /// One order's alerts that are not resolved, by id: what a new event may clear.
    fn open_alerts_of(
        &mut self,
        tenant: &TenantId,
        order_id: &str,
    ) -> Result<Vec<AlertRow>, StoreError>;
    /// An alert as the writer sees it (including its own latest commit), to build an Update.
    fn alert_for_update(
        &mut self,
        tenant: &TenantId,
        id: i64,
    ) -> Result<Option<AlertRow>, StoreError>;
    /// Deadlines of `partition` due at or before `until`, earliest first, at most `limit`.
    fn deadlines_due(
        &mut self,
        partition: Partition,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeadlineRow>, StoreError>;
    /// Snoozed alerts of `partition` whose snooze ends at or before `until`: `(tenant, id)`,
    /// earliest first.
    fn snoozed_due(
        &mut self,
        partition: Partition,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<(TenantId, i64, Timestamp)>, StoreError>;
}

/// Reads of alerts and their audit trail.
pub trait AlertReads: Send + Sync {
    fn alerts(&self, tenant: &TenantId, q: &AlertQuery) -> Result<Vec<AlertRow>, StoreError>;
    fn alert(&self, tenant: &TenantId, id: i64) -> Result<Option<AlertRow>, StoreError>;
    /// An alert of the tenant by its public id (what the API shows); `None` for another
    /// tenant's or for a string that is not one.
    fn alert_by_public_id(
        &self,
        tenant: &TenantId,
        public_id: &str,
    ) -> Result<Option<AlertRow>, StoreError>;
    /// An alert's audit trail, oldest first; empty if the alert is not the tenant's.
    fn alert_audit(&self, tenant: &TenantId, id: i64) -> Result<Vec<AuditRow>, StoreError>;
    /// Alerts per (tenant, status, severity), for `/metrics`, ordered by those three. A
    /// combination once counted stays listed, with 0 when none are left, so a gauge drops to
    /// zero instead of vanishing.
    fn alert_counts(&self) -> Result<Vec<(String, String, String, u64)>, StoreError>;
}
