//! Quantiles of measured values, one definition for every report (the simulator's latencies,
//! the carrier scorecards' transit times).

/// The `q` quantile of sorted values by nearest rank; `None` when there are none.
pub fn nearest_rank<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    sorted
        .get(((last as f64) * q.clamp(0.0, 1.0)).round() as usize)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::nearest_rank;

    #[test]
    fn nearest_rank_picks_by_position_and_knows_empty() {
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(nearest_rank(&v, 0.5), Some(6));
        assert_eq!(nearest_rank(&v, 0.99), Some(10));
        assert_eq!(nearest_rank(&v, 0.0), Some(1));
        assert_eq!(nearest_rank::<u64>(&[], 0.5), None);
        assert_eq!(nearest_rank(&[7.5], 0.99), Some(7.5));
    }
}
