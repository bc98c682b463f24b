//! The dashboard's and tracking page's assets (issue 7). Skeleton: see `docs/dashboard-contract.md`.
