//! Request bodies under a deadline and a minimum rate. The wrapper is what every route reads
//! its body through, so no handler can be held by a client that trickles (or stops) a body:
//! past the deadline, or below the rate after the grace period, a read fails, the request is
//! answered 408 and its connection closed.

use axum::body::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

/// When a body must be cut; see the module's notes.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub timeout: Duration,
    /// Bytes per second, averaged from the request's start.
    pub min_rate: u64,
    pub grace: Duration,
}

impl Pace {
    /// The first instant at which `received` bytes, since `start`, are too few or too late.
    /// Pure: the wrapper arms its timer with it, tests check it directly.
    pub fn deadline(&self, start: Instant, received: u64) -> Instant {
        let hard = start + self.timeout;
        if self.min_rate == 0 {
            return hard;
        }
        // The rate is met until received / elapsed < min_rate, i.e. until elapsed passes
        // received / min_rate; and never checked before the grace ends.
        let owed = Duration::from_secs_f64(received as f64 / self.min_rate as f64);
        hard.min(start + owed.max(self.grace))
    }
}

/// Why a body was cut; shared with the service that answers for it.
#[derive(Debug, Clone, Default)]
pub struct Cut(Arc<AtomicU8>);

impl Cut {
    const TIMEOUT: u8 = 1;
    const TOO_SLOW: u8 = 2;

    pub fn reason(&self) -> Option<&'static str> {
        match self.0.load(Ordering::Relaxed) {
            Self::TIMEOUT => Some("body_timeout"),
            Self::TOO_SLOW => Some("body_too_slow"),
            _ => None,
        }
    }
}

/// The error a cut body's read returns; handlers see it as an unreadable body.
#[derive(Debug)]
pub struct BodyCut(&'static str);

impl std::fmt::Display for BodyCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for BodyCut {}

pub struct PacedBody<B> {
    inner: B,
    pace: Pace,
    start: Instant,
    received: u64,
    sleep: Pin<Box<Sleep>>,
    cut: Cut,
    /// A slot of `edge.max_bodies_in_flight`, given back when the body ends or is dropped.
    permit: Option<OwnedSemaphorePermit>,
}

impl<B> PacedBody<B> {
    pub fn new(
        inner: B,
        pace: Pace,
        start: Instant,
        cut: Cut,
        permit: OwnedSemaphorePermit,
    ) -> Self {
        PacedBody {
            inner,
            pace,
            start,
            received: 0,
            sleep: Box::pin(tokio::time::sleep_until(pace.deadline(start, 0))),
            cut,
            permit: Some(permit),
        }
    }
}

impl<B> Body for PacedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.permit.is_none() {
            // Ended or cut: nothing more will be read.
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    let next = this.pace.deadline(this.start, this.received);
                    // A body that is always ready is never pending, so its pace is checked
                    // here too, not only when the timer fires.
                    if Instant::now() >= next {
                        return Poll::Ready(Some(Err(this.cut_now())));
                    }
                    this.sleep.as_mut().reset(next);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => {
                this.permit = None;
                Poll::Ready(other.map(|r| r.map_err(Into::into)))
            }
            Poll::Pending => {
                if this.sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                Poll::Ready(Some(Err(this.cut_now())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.permit.is_none() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> PacedBody<B> {
    /// Marks the body cut (for the answer and the metrics) and gives its slot back.
    fn cut_now(&mut self) -> Box<dyn std::error::Error + Send + Sync> {
        let (code, why) = if Instant::now() >= self.start + self.pace.timeout {
            (
                Cut::TIMEOUT,
                "the body did not arrive in full within the time allowed",
            )
        } else {
            (
                Cut::TOO_SLOW,
                "the body arrived more slowly than the minimum rate",
            )
        };
        self.cut.0.store(code, Ordering::Relaxed);
        self.permit = None;
        Box::new(BodyCut(why))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    const PACE: Pace = Pace {
        timeout: Duration::from_secs(30),
        min_rate: 1000,
        grace: Duration::from_secs(5),
    };

    #[test]
    fn the_deadline_follows_the_bytes_received() {
        let t = Instant::now();
        assert_eq!(PACE.deadline(t, 0), t + Duration::from_secs(5));
        assert_eq!(PACE.deadline(t, 4_000), t + Duration::from_secs(5));
        assert_eq!(PACE.deadline(t, 12_000), t + Duration::from_secs(12));
        assert_eq!(PACE.deadline(t, 1 << 30), t + Duration::from_secs(30));
        let no_rate = Pace {
            min_rate: 0,
            ..PACE
        };
        assert_eq!(no_rate.deadline(t, 0), t + Duration::from_secs(30));
    }

    /// A body that sends `chunk` every `every`, forever.
    fn trickle(chunk: usize, every: Duration) -> impl Body<Data = Bytes, Error = std::io::Error> {
        let s = futures::stream::unfold((), move |()| async move {
            tokio::time::sleep(every).await;
            Some((Ok(Frame::data(Bytes::from(vec![b'x'; chunk]))), ()))
        });
        http_body_util::StreamBody::new(Box::pin(s))
    }

    async fn read(
        body: impl Body<Data = Bytes, Error = std::io::Error> + Unpin,
    ) -> (Duration, Option<&'static str>, bool) {
        let permits = Arc::new(tokio::sync::Semaphore::new(1));
        let permit = permits.clone().try_acquire_owned().unwrap();
        let cut = Cut::default();
        let start = Instant::now();
        let body = PacedBody::new(body, PACE, start, cut.clone(), permit);
        let failed = body.collect().await.is_err();
        // The slot is back once the body is cut.
        assert_eq!(permits.available_permits(), 1);
        (start.elapsed(), cut.reason(), failed)
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_is_cut_after_the_grace_and_a_steady_body_at_the_deadline() {
        // 100 bytes a second: under the rate, cut when the grace ends.
        let (took, why, failed) = read(trickle(100, Duration::from_secs(1))).await;
        assert!(failed);
        assert_eq!(why, Some("body_too_slow"));
        assert!(
            took >= Duration::from_secs(5) && took < Duration::from_secs(6),
            "{took:?}"
        );
        // 2000 bytes a second meets the rate, but never ends: cut at the deadline.
        let (took, why, _) = read(trickle(2000, Duration::from_secs(1))).await;
        assert_eq!(why, Some("body_timeout"));
        assert_eq!(took, Duration::from_secs(30));
        // Silence from the start.
        let (took, why, _) = read(trickle(1, Duration::from_secs(3600))).await;
        assert_eq!(why, Some("body_too_slow"));
        assert_eq!(took, Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_within_the_pace_is_read_whole() {
        let body =
            http_body_util::Full::new(Bytes::from_static(b"hello")).map_err(|never| match never {});
        let (_, why, failed) = read(body).await;
        assert!(!failed);
        assert_eq!(why, None);
    }
}
