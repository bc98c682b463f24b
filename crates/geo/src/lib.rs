//! Offline geocoding (issue 7). Skeleton: see `docs/dashboard-contract.md`.
