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
