//! Documents of several orders: a batch submitted order by order (one unplaceable order is
//! named, not fatal to the rest), and an X12 850 interchange answered with its 997 and an 855
//! per purchase order. Shared by the HTTP routes and the drop folders.

use crate::{DeskError, OrderDesk, Receipt, Submission};
use jiff::Timestamp;
use serde::Serialize;
use waypost_domain::TenantId;
use waypost_orders::channels::x12;
use waypost_orders::{Channel, ChannelOrder};
use waypost_store::IntakeStatus;

/// An order of a batch that could not be placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// Its position in the document (0-based), or its line in an upload.
    pub index: u64,
    pub order_id: Option<String>,
    pub reason: String,
}

/// What became of a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Batch {
    pub results: Vec<Receipt>,
    pub refused: Vec<Refusal>,
}

/// What became of an X12 interchange, and what goes back to the partner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdiAnswer {
    pub batch: Batch,
    /// The 997 functional acknowledgment of the whole interchange.
    pub ack_997: String,
    /// An 855 for each purchase order accepted, backordered or rejected (held ones are
    /// acknowledged once a person decided).
    pub acks_855: Vec<String>,
}

impl OrderDesk {
    /// Submits `orders` (each with its index in the document) one by one. An order the desk
    /// cannot place is named in `refused`; a full lane or a failing store stops the batch with
    /// its error (what was taken before it stays taken, and a retry finds it a duplicate).
    pub async fn submit_batch(
        &self,
        tenant: &TenantId,
        channel: Channel,
        orders: Vec<(u64, ChannelOrder)>,
        account: Option<String>,
        delivery: Option<String>,
    ) -> Result<Batch, DeskError> {
        let mut out = Batch::default();
        let single = orders.len() == 1;
        for (index, placed) in orders {
            let order_id = placed
                .order_id
                .clone()
                .or_else(|| placed.display_id.clone());
            let sub = Submission {
                channel,
                placed,
                account: account.clone(),
                // A delivery id names the whole delivery: it dedups only a one-order document.
                delivery: if single { delivery.clone() } else { None },
            };
            match self.submit(tenant, sub).await {
                Ok(r) => out.results.push(r),
                Err(e @ (DeskError::Resolve(_) | DeskError::Invalid(_))) => {
                    out.refused.push(Refusal {
                        index,
                        order_id,
                        reason: e.to_string(),
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Reads an 850 interchange, submits every readable purchase order (the partner, ISA06,
    /// names the account unless `account` forces one), and writes the 997 and the 855s, dated
    /// `now` (the partner's real time, not a simulated one).
    pub async fn x12(
        &self,
        tenant: &TenantId,
        bytes: &[u8],
        account: Option<String>,
        now: Timestamp,
    ) -> Result<EdiAnswer, DeskError> {
        let ix = x12::read(bytes, &x12::X12Options::default()).map_err(DeskError::Unreadable)?;
        // The partner's agreement (which qualifier is the SKU, implied decimals) is known once
        // the envelope named the partner: read again under it when it differs.
        let settings = self.settings(tenant);
        let agreed = match account.as_deref() {
            Some(a) => settings.accounts.get(a),
            None => settings.accounts.find(Channel::X12, Some(&ix.sender)),
        }
        .and_then(|a| a.x12.as_ref())
        .map(|x| x.options());
        let ix = match agreed {
            Some(o) if o != x12::X12Options::default() => {
                x12::read(bytes, &o).map_err(DeskError::Unreadable)?
            }
            _ => ix,
        };
        let mut orders = Vec::new();
        for set in ix.groups.iter().flat_map(|g| &g.sets) {
            if let Ok(o) = &set.result {
                let mut o = o.clone();
                o.account_ref = o.account_ref.or_else(|| Some(ix.sender.clone()));
                orders.push(o);
            }
        }
        let numbered = orders
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, o)| (i as u64, o))
            .collect();
        let batch = self
            .submit_batch(tenant, Channel::X12, numbered, account, None)
            .await?;
        let z = now.to_zoned(jiff::tz::TimeZone::UTC);
        let (date, time) = (
            z.strftime("%Y%m%d").to_string(),
            z.strftime("%H%M").to_string(),
        );
        // Control numbers from the clock: unique per second, within ISA13's nine digits.
        let control = now.as_second().rem_euclid(1_000_000_000) as u32;
        let ack_997 = x12::ack_997(&ix, &ix.receiver, control, &date, &time);
        let mut acks_855 = Vec::new();
        for r in &batch.results {
            let Some(po) = orders.iter().find(|o| {
                o.order_id.as_deref() == Some(r.order_id.as_str())
                    || o.external_id == r.order_id
                    || o.display_id.as_deref() == Some(r.order_id.as_str())
            }) else {
                continue;
            };
            let (bak02, line_ack) = match r.status {
                IntakeStatus::Accepted => ("AD", x12::LineAck::Accepted),
                IntakeStatus::Backordered => ("AC", x12::LineAck::Backordered),
                IntakeStatus::Rejected => ("RJ", x12::LineAck::Rejected),
                IntakeStatus::Held | IntakeStatus::Cancelled => continue,
            };
            let lines: Vec<x12::Ack855Line> = po
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| x12::Ack855Line {
                    line: l.line_id.clone().unwrap_or_else(|| (i + 1).to_string()),
                    status: line_ack,
                    quantity: l.quantity,
                    uom: l.uom.clone().unwrap_or_else(|| "EA".into()),
                    unit_price: l.unit_price,
                    sku_qualifier: "VP".into(),
                    sku: l.sku.clone().unwrap_or_default(),
                })
                .collect();
            let env = x12::Envelope855 {
                sender: ix.receiver.clone(),
                receiver: ix.sender.clone(),
                control: control.wrapping_add(1 + acks_855.len() as u32),
                date: date.clone(),
                time: time.clone(),
            };
            acks_855.push(x12::ack_855(po, &lines, bak02, po.promised_at, &env));
        }
        Ok(EdiAnswer {
            batch,
            ack_997,
            acks_855,
        })
    }
}
