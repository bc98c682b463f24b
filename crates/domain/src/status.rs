//! The canonical taxonomy (`shared/taxonomy.md` is the contract). Names are stable API: they are
//! the snake_case strings below and are never renamed once released.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The status of a shipment, or of an order with one shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Allocated,
    Picked,
    Packed,
    LabelCreated,
    Shipped,
    InTransit,
    OutForDelivery,
    AvailableForPickup,
    Delivered,
    Delayed,
    AttemptFailed,
    Exception,
    OnHold,
    Backordered,
    Returning,
    Returned,
    Cancelled,
    Lost,
    Unknown,
}

/// What kind of statement a status makes about a shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// How far along it is; the rank orders progress (0 = pending .. 9 = delivered).
    Progress(u8),
    /// Something is wrong or paused at the current point of progress.
    Condition,
    /// Leaving the normal flow: returning, returned, cancelled, lost.
    Closing,
    /// A vendor code nobody has mapped yet.
    Unknown,
}

impl Status {
    pub const ALL: [Status; 20] = [
        Status::Pending,
        Status::Allocated,
        Status::Picked,
        Status::Packed,
        Status::LabelCreated,
        Status::Shipped,
        Status::InTransit,
        Status::OutForDelivery,
        Status::AvailableForPickup,
        Status::Delivered,
        Status::Delayed,
        Status::AttemptFailed,
        Status::Exception,
        Status::OnHold,
        Status::Backordered,
        Status::Returning,
        Status::Returned,
        Status::Cancelled,
        Status::Lost,
        Status::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Allocated => "allocated",
            Status::Picked => "picked",
            Status::Packed => "packed",
            Status::LabelCreated => "label_created",
            Status::Shipped => "shipped",
            Status::InTransit => "in_transit",
            Status::OutForDelivery => "out_for_delivery",
            Status::AvailableForPickup => "available_for_pickup",
            Status::Delivered => "delivered",
            Status::Delayed => "delayed",
            Status::AttemptFailed => "attempt_failed",
            Status::Exception => "exception",
            Status::OnHold => "on_hold",
            Status::Backordered => "backordered",
            Status::Returning => "returning",
            Status::Returned => "returned",
            Status::Cancelled => "cancelled",
            Status::Lost => "lost",
            Status::Unknown => "unknown",
        }
    }

    pub fn class(self) -> StatusClass {
        use Status::*;
        match self {
            Pending => StatusClass::Progress(0),
            Allocated => StatusClass::Progress(1),
            Picked => StatusClass::Progress(2),
            Packed => StatusClass::Progress(3),
            LabelCreated => StatusClass::Progress(4),
            Shipped => StatusClass::Progress(5),
            InTransit => StatusClass::Progress(6),
            OutForDelivery => StatusClass::Progress(7),
            AvailableForPickup => StatusClass::Progress(8),
            Delivered => StatusClass::Progress(9),
            Delayed | AttemptFailed | Exception | OnHold | Backordered => StatusClass::Condition,
            Returning | Returned | Cancelled | Lost => StatusClass::Closing,
            Unknown => StatusClass::Unknown,
        }
    }

    /// Progress rank, for progress statuses only.
    pub fn rank(self) -> Option<u8> {
        match self.class() {
            StatusClass::Progress(r) => Some(r),
            _ => None,
        }
    }

    /// Statuses after which nothing is expected: a later progress event is a regression.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Delivered | Status::Returned | Status::Cancelled
        )
    }

    /// Statuses after which an order leaves the map and stops being active, and a carrier has
    /// nothing more to say about a shipment: delivered, returned, cancelled, lost. Wider than
    /// [`Status::is_terminal`], which decides regressions: a `lost` shipment that is scanned
    /// again was found, not regressed, so `lost` closes without being terminal.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Status::Delivered | Status::Returned | Status::Cancelled | Status::Lost
        )
    }

    /// The tie-break between two events that happened at the same instant: the higher wins.
    /// Progress keeps its rank order; each condition sits just above the progress point where it
    /// occurs, closing statuses above delivery. `unknown` is lowest: an unmapped code never
    /// overrides a known fact. This table is documented in `docs/taxonomy.md` and is stable.
    pub fn precedence(self) -> u8 {
        use Status::*;
        match self {
            Unknown => 0,
            Pending => 10,
            OnHold => 15,
            Backordered => 17,
            Allocated => 20,
            Picked => 30,
            Packed => 40,
            LabelCreated => 50,
            Shipped => 60,
            InTransit => 70,
            Delayed => 75,
            OutForDelivery => 80,
            AttemptFailed => 85,
            AvailableForPickup => 90,
            Exception => 95,
            Delivered => 100,
            Returning => 110,
            Returned => 120,
            Lost => 125,
            Cancelled => 130,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// The status of an order: a shipment status, or one of the two that only several shipments give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OrderStatus {
    Shipment(Status),
    Partial(PartialStatus),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartialStatus {
    PartiallyShipped,
    PartiallyDelivered,
}

impl OrderStatus {
    /// A partial status is never closed: some shipment is still on its way.
    pub fn is_closed(self) -> bool {
        matches!(self, OrderStatus::Shipment(s) if s.is_closed())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Shipment(s) => s.as_str(),
            OrderStatus::Partial(PartialStatus::PartiallyShipped) => "partially_shipped",
            OrderStatus::Partial(PartialStatus::PartiallyDelivered) => "partially_delivered",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "partially_shipped" => Ok(OrderStatus::Partial(PartialStatus::PartiallyShipped)),
            "partially_delivered" => Ok(OrderStatus::Partial(PartialStatus::PartiallyDelivered)),
            other => other.parse().map(OrderStatus::Shipment),
        }
    }
}

/// Why a status is what it is. A short, stable vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Weather,
    Volume,
    MissedConnection,
    AddressIssue,
    RecipientUnavailable,
    Refused,
    Damaged,
    Customs,
    HeldAtFacility,
    Payment,
    FraudReview,
    Stockout,
    CarrierCapacity,
    Mechanical,
    NaturalDisaster,
    CustomerRequest,
    BusinessClosed,
    AccessIssue,
    Other,
}

impl Reason {
    pub const ALL: [Reason; 19] = [
        Reason::Weather,
        Reason::Volume,
        Reason::MissedConnection,
        Reason::AddressIssue,
        Reason::RecipientUnavailable,
        Reason::Refused,
        Reason::Damaged,
        Reason::Customs,
        Reason::HeldAtFacility,
        Reason::Payment,
        Reason::FraudReview,
        Reason::Stockout,
        Reason::CarrierCapacity,
        Reason::Mechanical,
        Reason::NaturalDisaster,
        Reason::CustomerRequest,
        Reason::BusinessClosed,
        Reason::AccessIssue,
        Reason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        use Reason::*;
        match self {
            Weather => "weather",
            Volume => "volume",
            MissedConnection => "missed_connection",
            AddressIssue => "address_issue",
            RecipientUnavailable => "recipient_unavailable",
            Refused => "refused",
            Damaged => "damaged",
            Customs => "customs",
            HeldAtFacility => "held_at_facility",
            Payment => "payment",
            FraudReview => "fraud_review",
            Stockout => "stockout",
            CarrierCapacity => "carrier_capacity",
            Mechanical => "mechanical",
            NaturalDisaster => "natural_disaster",
            CustomerRequest => "customer_request",
            BusinessClosed => "business_closed",
            AccessIssue => "access_issue",
            Other => "other",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Reason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown reason {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_is_terminal_plus_lost() {
        let closed: Vec<&str> = Status::ALL
            .into_iter()
            .filter(|s| s.is_closed())
            .map(Status::as_str)
            .collect();
        assert_eq!(closed, ["delivered", "returned", "cancelled", "lost"]);
        for s in Status::ALL {
            assert_eq!(s.is_closed(), s.is_terminal() || s == Status::Lost, "{s}");
        }
        assert!(!OrderStatus::Partial(PartialStatus::PartiallyDelivered).is_closed());
        assert!(OrderStatus::Shipment(Status::Lost).is_closed());
    }

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for s in Status::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
        for r in Reason::ALL {
            assert_eq!(r.as_str().parse::<Reason>(), Ok(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{r}\""));
        }
        assert_eq!(
            "partially_shipped".parse::<OrderStatus>().unwrap().as_str(),
            "partially_shipped"
        );
    }

    #[test]
    fn precedence_is_a_total_order_and_keeps_progress_rank() {
        let mut seen = std::collections::HashSet::new();
        for s in Status::ALL {
            assert!(seen.insert(s.precedence()), "duplicate precedence for {s}");
        }
        let mut progress: Vec<Status> = Status::ALL
            .into_iter()
            .filter(|s| s.rank().is_some())
            .collect();
        progress.sort_by_key(|s| s.rank());
        assert!(
            progress
                .windows(2)
                .all(|w| w[0].precedence() < w[1].precedence())
        );
    }
}
