//! Who ordered: every order of the world has a customer, derived from its id alone, so the
//! verifier names the same customer the WMS feed sent without a second copy of the world.
//! About a thousand customers per ten thousand orders would be realistic; one per order is
//! simpler and what the notification checks need.

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: String,
    pub email: String,
    /// E.164.
    pub phone: String,
    /// A stable number from 0 to 999 the verifier draws choices from (who opted out).
    pub draw: u32,
}

impl Customer {
    pub fn of(order_id: &str) -> Customer {
        let digest = Sha256::digest(order_id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let n = u64::from_be_bytes(first);
        let id = format!("cust-{:010}", n % 10_000_000_000);
        Customer {
            email: format!("{id}@customers.example"),
            // +1 555 01xx xxxx: the North American range set aside for fiction.
            phone: format!("+155501{:05}", n % 100_000),
            draw: ((n >> 32) % 1000) as u32,
            id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_is_a_function_of_the_order() {
        let a = Customer::of("ACME-1");
        assert_eq!(a, Customer::of("ACME-1"));
        assert_ne!(a.id, Customer::of("ACME-2").id);
        assert!(
            a.phone.starts_with("+155501") && a.phone.len() == 12,
            "{}",
            a.phone
        );
        assert!(a.email.ends_with("@customers.example"));
    }
}
