//! Where polled orders go: [`OrderSink`], implemented for the order desk, the one way an
//! order enters. The poller saves its cursor only after the sink accepted every order of a
//! page, so `Ok` must mean "stored" (or "already stored": a duplicate is fine).

use std::future::Future;
use std::time::Duration;
use waypost_domain::TenantId;
use waypost_order_intake::{DeskError, OrderDesk, Submission};

/// What the sink made of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub order_id: String,
    pub version: i64,
    /// The same version was already stored.
    pub duplicate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderSinkError {
    /// The order cannot be placed (no account for its reference, an invalid id): the poller
    /// counts it and moves on, so one bad order does not stall the channel.
    #[error("order rejected: {reason}")]
    Rejected { reason: String },
    /// Full for now (the desk's lane answered busy): the poller waits, then reads the same
    /// window again, its cursor unmoved. This is how pullers slow down under a spike.
    #[error("order intake busy, retry after {retry_after:?}")]
    Busy { retry_after: Duration },
    /// Cannot take anything now (shutting down, the book failing): backed off.
    #[error("order intake unavailable: {reason}")]
    Unavailable { reason: String },
}

pub trait OrderSink: Send + Sync + 'static {
    /// Stores the order durably before answering `Ok`.
    fn submit(
        &self,
        tenant: &TenantId,
        sub: Submission,
    ) -> impl Future<Output = Result<Submitted, OrderSinkError>> + Send;
}

impl OrderSink for OrderDesk {
    async fn submit(
        &self,
        tenant: &TenantId,
        sub: Submission,
    ) -> Result<Submitted, OrderSinkError> {
        match OrderDesk::submit(self, tenant, sub).await {
            Ok(r) => Ok(Submitted {
                order_id: r.order_id,
                version: r.version,
                duplicate: r.duplicate,
            }),
            Err(DeskError::Busy {
                retry_after_secs, ..
            }) => Err(OrderSinkError::Busy {
                retry_after: Duration::from_secs(retry_after_secs.max(1)),
            }),
            // Stored; its status history is written at the next start or delivery.
            Err(DeskError::Emit { order_id, .. }) => Ok(Submitted {
                order_id,
                version: 0,
                duplicate: false,
            }),
            Err(e @ (DeskError::ShuttingDown | DeskError::Store(_))) => {
                Err(OrderSinkError::Unavailable {
                    reason: e.to_string(),
                })
            }
            Err(e @ (DeskError::Resolve(_) | DeskError::Invalid(_) | DeskError::Unreadable(_))) => {
                Err(OrderSinkError::Rejected {
                    reason: e.to_string(),
                })
            }
        }
    }
}
