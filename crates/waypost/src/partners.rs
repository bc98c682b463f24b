//! The partner connectors' clocks, as this process chooses them; the wiring itself is
//! `waypost_connectors::served`.

/// Polled documents enter exactly like pushed ones (the bench drives it in process).
pub use waypost_connectors::served::IntakeSink;

/// The engine's clock as the connectors' world (schedules follow a simulator's pace too), and
/// the system's as their wall.
pub(crate) fn clocks(
    engine: std::sync::Arc<dyn waypost_engine::Clock>,
) -> waypost_connectors::Clocks {
    waypost_connectors::Clocks {
        world: engine,
        wall: std::sync::Arc::new(crate::clock::SystemClock),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use waypost_adapters::Source;
    use waypost_connectors::{
        ConnectorConfig, Connectors, Fetched, Ingested, MemoryStateStore, Secret, Sink, SinkError,
    };
    use waypost_domain::TenantId;

    /// Nothing is fetched in this test; a sink that takes nothing is enough.
    struct NoSink;

    impl Sink for NoSink {
        async fn ingest(&self, _doc: Fetched) -> Result<Ingested, SinkError> {
            Err(SinkError::Unavailable {
                reason: "a test sink".into(),
            })
        }
    }

    /// The wiring the server does: the engine's families and the connectors' go into one
    /// registry, and one scrape shows both.
    #[tokio::test]
    async fn the_engine_and_the_connectors_answer_in_one_scrape() {
        let mut cfg = ConnectorConfig::new(
            "dhl-acme",
            TenantId::new("acme").unwrap(),
            Source::Dhl,
            "http://127.0.0.1:9/dhl",
        );
        cfg.credentials.api_key = Some(Secret::new("k"));
        let connectors = Connectors::start(
            vec![cfg],
            Arc::new(NoSink),
            Arc::new(MemoryStateStore::default()),
            clocks(Arc::new(crate::clock::SystemClock)),
        )
        .unwrap();
        let engine = waypost_engine::Metrics::default();
        let mut registry = prometheus_client::registry::Registry::default();
        engine.register(&mut registry);
        waypost_connectors::metrics::register(&mut registry, &connectors);
        let scrape = waypost_api::scrape::Scrape::new(registry);
        engine.events_accepted.inc_by(3);
        let text = scrape.encode(None, false);
        for line in [
            "waypost_events_accepted_total 3",
            "waypost_connector_requests_total{connector=\"dhl-acme\"} ",
            "waypost_connector_state{connector=\"dhl-acme\",state=\"healthy\"} ",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(line)),
                "{line} missing from\n{text}"
            );
        }
        connectors.shutdown().await;
    }
}
