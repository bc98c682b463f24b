//! The only clocks that read the system's time: every library takes a
//! [`waypost_domain::Clock`] and is handed one of these. [`SystemClock`] is the wall clock,
//! [`Scaled`] an accelerated world, [`FollowClock`] a partner simulator's accelerated clock
//! (`[clock] follow = "<url>/clock"`).
//!
//! The engine may start before the world does, and a world may be restarted: the clock reads
//! the simulator's `GET /clock` (`start`, `speed`) now and then and runs as a [`ScaledClock`]
//! from the last answer, or as the system clock until there is one.

use parking_lot::RwLock;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use waypost_engine::{Clock, ScaledClock};

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// A [`ScaledClock`] running on the system's clock.
#[derive(Debug, Clone, Copy)]
pub struct Scaled(pub ScaledClock);

impl Clock for Scaled {
    fn now(&self) -> jiff::Timestamp {
        self.0.at(jiff::Timestamp::now())
    }

    fn speed(&self) -> f64 {
        self.0.speed
    }
}

#[derive(Debug, Default)]
pub struct FollowClock {
    // A parking_lot lock: read on every `now`, written every few seconds; never held across
    // an await.
    current: RwLock<Option<ScaledClock>>,
}

impl Clock for FollowClock {
    fn now(&self) -> jiff::Timestamp {
        match *self.current.read() {
            Some(c) => c.at(jiff::Timestamp::now()),
            None => jiff::Timestamp::now(),
        }
    }

    fn speed(&self) -> f64 {
        self.current.read().map_or(1.0, |c| c.speed)
    }
}

#[derive(serde::Deserialize)]
struct ClockBody {
    start: jiff::Timestamp,
    speed: f64,
}

impl FollowClock {
    /// Starts following `url`, checking again every `every` until `stop`.
    pub fn start(url: String, every: Duration, mut stop: watch::Receiver<bool>) -> Arc<Self> {
        let clock = Arc::new(FollowClock::default());
        let me = clock.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap_or_default();
            let mut last_error = String::new();
            loop {
                match fetch(&http, &url).await {
                    Ok(c) => {
                        let changed = *me.current.read() != Some(c);
                        if changed {
                            tracing::info!(url = %url, origin = %c.origin, speed = c.speed, "following the world's clock");
                            *me.current.write() = Some(c);
                        }
                        last_error.clear();
                    }
                    Err(e) if e != last_error => {
                        tracing::warn!(url = %url, error = %e, "cannot read the world's clock; keeping the last one");
                        last_error = e;
                    }
                    Err(_) => {}
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.changed() => return,
                }
            }
        });
        clock
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> Result<ScaledClock, String> {
    let resp = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("{url} answered {}", resp.status()));
    }
    let body: ClockBody = resp
        .json()
        .await
        .map_err(|e| format!("{url} sent no clock (start, speed): {e}"))?;
    if !(body.speed.is_finite() && body.speed > 0.0) {
        return Err(format!("{url} sent an impossible speed {}", body.speed));
    }
    Ok(ScaledClock {
        origin: body.start,
        speed: body.speed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    #[test]
    fn waits_on_a_scaled_clock_are_in_real_time() {
        let c = Scaled(ScaledClock {
            origin: jiff::Timestamp::now(),
            speed: 3600.0,
        });
        // One world hour ahead is about one real second away.
        let wait = c.real_wait(c.now() + SignedDuration::from_hours(1));
        assert!(wait <= Duration::from_millis(1001), "{wait:?}");
        assert!(wait >= Duration::from_millis(900), "{wait:?}");
        assert_eq!(
            c.real_wait(c.now() - SignedDuration::from_secs(1)),
            Duration::ZERO
        );
    }
}
