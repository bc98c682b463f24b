//! Sales channels' payloads read into [`ChannelOrder`]s: one module per channel, pure, every
//! field taken as the channel really sends it (money as strings or numbers, local times,
//! empty objects where null was meant). A reader states what the payload says; it never fills
//! a gap with a default (the account's settings and the quality gates do that, visibly).
//!
//! Rules every reader keeps: no panic on any input and bounded work per byte; an error names
//! where in the document and what was wrong; a field the reader does not need is ignored,
//! so a channel adding fields never breaks intake.

pub mod amazon;
pub mod common;
pub mod generic;
pub mod tabular;
pub mod x12;

pub mod bigcommerce;
pub mod magento;
pub mod shopify;
pub mod signature;
mod web;
pub mod wms_stock;
pub mod woocommerce;

pub use common::ReadError;

use crate::model::ChannelOrder;

/// What a reader gives: the orders it read, in document order.
pub type Read = Result<Vec<ChannelOrder>, ReadError>;
