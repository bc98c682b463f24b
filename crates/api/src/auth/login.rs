//! One dashboard login attempt through the throttles, in the order that keeps them honest:
//!
//! 1. [`Sessions::begin_login`] (on the request's task, before anything costly): a login that
//!    brings a valid device cookie for its account reserves a place in that device's budget
//!    and nothing else; any other login is refused if its address is over its limit, then
//!    reserves a place in the account's budget. Unknown accounts are throttled like known ones,
//!    so a 429 does not tell which exist.
//! 2. [`LoginAttempt::check`] (on the blocking pool): looks the user up; for an account that
//!    exists, reserves a place in the address's budget too (failures for made-up accounts do
//!    not count against an address, so a stranger cannot lock everyone behind a shared
//!    address out with them); then verifies the password, or a dummy hash for an unknown or
//!    disabled user so the timing tells nothing either.
//! 3. The places are settled: refunded on success (and a device's failures forgotten), kept as
//!    failures otherwise.

use super::password::{dummy_verify, verify_password};
use super::session::{AccountKey, DeviceSlot, Sessions};
use super::throttle::{Reservation, Throttle};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use waypost_engine::Metrics;
use waypost_store::{SessionStore, StoreError, UserRecord};

/// How an attempt ended.
#[derive(Debug)]
pub enum Verdict {
    LoggedIn(UserRecord),
    /// Wrong tenant, email or password: one answer for all three.
    Wrong,
    /// Refused before the password was checked; try again after this long.
    Throttled(Duration),
}

/// The place an attempt holds: in its device's budget or in its account's.
enum Slot {
    Device {
        reservation: Reservation<DeviceSlot>,
        throttle: Arc<Throttle<DeviceSlot>>,
        key: DeviceSlot,
    },
    Account(Reservation<AccountKey>),
}

/// An attempt that holds its place; dropped unsettled, its places count as failures.
pub struct LoginAttempt {
    slot: Slot,
    /// The client's address key, and its throttle, when the address counts.
    address: Option<(IpAddr, Arc<Throttle<IpAddr>>)>,
}

impl Sessions {
    /// Reserves a place for a login of `account` (see the module's notes), or `Err(wait)`.
    /// `device` is the id of a device cookie already verified for this account.
    pub fn begin_login(
        &self,
        account: &AccountKey,
        device: Option<String>,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<LoginAttempt, Duration> {
        if let Some(id) = device {
            let key = (account.0.clone(), account.1.clone(), id);
            let reservation = self.devices.reserve(&key, now)?;
            return Ok(LoginAttempt {
                slot: Slot::Device {
                    reservation,
                    throttle: self.devices.clone(),
                    key,
                },
                address: None,
            });
        }
        if let Some(ip) = address {
            self.addresses.check(&ip, now)?;
        }
        let reservation = self.accounts.reserve(account, now)?;
        Ok(LoginAttempt {
            slot: Slot::Account(reservation),
            address: address.map(|ip| (ip, self.addresses.clone())),
        })
    }
}

impl LoginAttempt {
    /// Looks the user up and checks the password, settling the attempt's places. Blocking:
    /// run it on the blocking pool. A store error refunds the places (nothing was checked).
    pub fn check(
        self,
        store: &dyn SessionStore,
        metrics: &Metrics,
        account: &AccountKey,
        password: &str,
    ) -> Result<Verdict, StoreError> {
        let user = match store.user_for_login(&account.0, &account.1) {
            Ok(u) => u,
            Err(e) => {
                self.slot.refund();
                return Err(e);
            }
        };
        let address = match (&user, &self.address) {
            (Some(_), Some((ip, throttle))) => match throttle.reserve(ip, Instant::now()) {
                Ok(r) => Some(r),
                Err(wait) => {
                    self.slot.refund();
                    return Ok(Verdict::Throttled(wait));
                }
            },
            _ => None,
        };
        metrics.login_password_checks.inc();
        let user = match user {
            Some(u) if u.disabled_at.is_none() => {
                verify_password(&u.password_hash, password).then_some(u)
            }
            _ => {
                dummy_verify(password);
                None
            }
        };
        Ok(match user {
            Some(u) => {
                self.slot.succeed();
                if let Some(r) = address {
                    r.refund();
                }
                Verdict::LoggedIn(u)
            }
            None => {
                self.slot.fail();
                if let Some(r) = address {
                    r.fail();
                }
                Verdict::Wrong
            }
        })
    }
}

impl Slot {
    fn succeed(self) {
        match self {
            Slot::Device {
                reservation,
                throttle,
                key,
            } => {
                reservation.refund();
                // The device's owner is back: its own typos no longer count.
                throttle.clear(&key);
            }
            // The account's other failures stay: they may be someone else's guesses.
            Slot::Account(r) => r.refund(),
        }
    }

    fn fail(self) {
        match self {
            Slot::Device { reservation, .. } => reservation.fail(),
            Slot::Account(r) => r.fail(),
        }
    }

    fn refund(self) {
        match self {
            Slot::Device { reservation, .. } => reservation.refund(),
            Slot::Account(r) => r.refund(),
        }
    }
}
