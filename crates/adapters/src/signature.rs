//! Webhook signature schemes: not yet written.
