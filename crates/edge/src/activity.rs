//! What a connection is doing, as far as its timeouts care: requests in flight, since when
//! there have been none, and when the bytes of a next HTTP/1.1 request began to arrive. From it
//! the connection's next deadline: the idle timeout while nothing arrives, the header timeout
//! once a head has begun (hyper's own would start at once, making every kept-alive HTTP/1.1
//! connection's idle time the header timeout).

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub in_flight: usize,
    /// When the last request in flight ended (or the connection began).
    pub since: Instant,
    /// When bytes arrived with no request in flight: a next head has begun.
    pub head_started: Option<Instant>,
}

/// Why a connection's deadline came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// No request in flight, and nothing arriving: close gracefully.
    Idle,
    /// A head began and did not finish in time: close.
    HeadTimeout,
}

impl State {
    /// The next deadline and what it means; `None` while a request is in flight. Pure.
    pub fn deadline(&self, idle: Duration, header: Duration) -> Option<(Instant, Expired)> {
        if self.in_flight > 0 {
            return None;
        }
        Some(match self.head_started {
            Some(t) => (t + header, Expired::HeadTimeout),
            None => (self.since + idle, Expired::Idle),
        })
    }
}

#[derive(Clone)]
pub struct Activity(Arc<watch::Sender<State>>);

/// One request in flight; dropped when its answer has been sent.
pub struct Busy(Arc<watch::Sender<State>>);

impl Activity {
    pub fn new() -> Self {
        Activity(Arc::new(watch::Sender::new(State {
            in_flight: 0,
            since: Instant::now(),
            head_started: None,
        })))
    }

    /// A request's head has been read: it is in flight until its [`Busy`] drops.
    pub fn begin(&self) -> Busy {
        self.0.send_modify(|s| {
            s.in_flight += 1;
            s.head_started = None;
        });
        Busy(self.0.clone())
    }

    /// Bytes arrived from the client (HTTP/1.1): with no request in flight they begin a head.
    pub fn bytes_arrived(&self) {
        self.0.send_if_modified(|s| {
            if s.in_flight == 0 && s.head_started.is_none() {
                s.head_started = Some(Instant::now());
                true
            } else {
                false
            }
        });
    }

    /// Returns when the connection's deadline passes with nothing changing it.
    pub async fn expired(&self, idle: Duration, header: Duration) -> Expired {
        let mut rx = self.0.subscribe();
        loop {
            let state = *rx.borrow_and_update();
            match state.deadline(idle, header) {
                Some((at, why)) => tokio::select! {
                    _ = tokio::time::sleep_until(at) => return why,
                    _ = rx.changed() => {}
                },
                None => {
                    if rx.changed().await.is_err() {
                        // The sender lives as long as this Activity: cannot happen.
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.send_modify(|s| {
            s.in_flight = s.in_flight.saturating_sub(1);
            s.since = Instant::now();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(60);
    const HEADER: Duration = Duration::from_secs(10);

    #[test]
    fn the_deadline_is_idle_then_header_and_none_in_flight() {
        let t = Instant::now();
        let s = State {
            in_flight: 0,
            since: t,
            head_started: None,
        };
        assert_eq!(s.deadline(IDLE, HEADER), Some((t + IDLE, Expired::Idle)));
        let later = t + Duration::from_secs(50);
        let s = State {
            head_started: Some(later),
            ..s
        };
        assert_eq!(
            s.deadline(IDLE, HEADER),
            Some((later + HEADER, Expired::HeadTimeout))
        );
        let s = State { in_flight: 1, ..s };
        assert_eq!(s.deadline(IDLE, HEADER), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_begun_after_idling_gets_the_header_timeout_and_a_request_ends_it() {
        let a = Activity::new();
        let start = Instant::now();
        // Idle: the idle timeout.
        assert_eq!(a.expired(IDLE, HEADER).await, Expired::Idle);
        assert_eq!(start.elapsed(), IDLE);
        // A request, then silence: idle again from its end.
        let busy = a.begin();
        tokio::time::advance(Duration::from_secs(5)).await;
        drop(busy);
        let ended = Instant::now();
        tokio::time::advance(Duration::from_secs(30)).await;
        // Bytes of a next head: the header timeout from then.
        a.bytes_arrived();
        let began = Instant::now();
        assert_eq!(a.expired(IDLE, HEADER).await, Expired::HeadTimeout);
        assert_eq!(began.elapsed(), HEADER);
        assert!(ended.elapsed() < IDLE);
        // Bytes during a request start nothing.
        let busy = a.begin();
        a.bytes_arrived();
        drop(busy);
        let t = Instant::now();
        assert_eq!(a.expired(IDLE, HEADER).await, Expired::Idle);
        assert_eq!(t.elapsed(), IDLE);
    }
}
