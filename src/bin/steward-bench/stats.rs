//! Percentiles over latency samples.

use std::time::Duration;

/// The p-th percentile (0..=100) in milliseconds, nearest-rank.
pub fn percentile_ms(samples: &mut [Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil().max(1.0) as usize;
    samples[rank.min(samples.len()) - 1].as_secs_f64() * 1_000.0
}

/// Rounds for printing: figures, not noise.
pub fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}
