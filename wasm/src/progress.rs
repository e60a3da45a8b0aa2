//! Progress reports as callers see them: `loaded` only grows, never passes a known total, and
//! the last report of a successful transfer is always `(total, total)`. Reports are throttled:
//! WebKit fires an upload progress event every few KiB (thousands per second), Chromium and
//! Firefox a few per second, so callers see at most one report per [`REPORT_INTERVAL_MS`] in
//! every engine (docs/browsers.md).

/// Fewest milliseconds between two progress reports of one transfer (the first report, and the
/// one that reaches a known total, go out at once).
pub const REPORT_INTERVAL_MS: f64 = 50.0;

/// Turns raw browser progress events into the reports passed to `onProgress`.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The size fixed before the transfer started (an upload's Blob size), if known.
    known_total: Option<u64>,
    /// The last `(loaded, total)` reported.
    last: Option<(u64, u64)>,
    /// Fewest milliseconds between two reports (0: every growth is reported).
    interval_ms: f64,
    /// When the last report was made.
    last_ms: f64,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Progress {
    /// A tracker for a transfer whose size is `known_total` (None: learn it from the events).
    #[must_use]
    pub fn new(known_total: Option<u64>) -> Self {
        Self {
            known_total,
            last: None,
            interval_ms: 0.0,
            last_ms: f64::NEG_INFINITY,
        }
    }

    /// The same tracker, reporting at most once per `interval_ms`.
    #[must_use]
    pub fn throttled(self, interval_ms: f64) -> Self {
        Self {
            interval_ms,
            ..self
        }
    }

    /// Reads one event (`loaded`, and `total` when the browser knows it) seen at `now_ms` and
    /// returns the report to make, or None when `loaded` did not grow or the last report is
    /// too recent. An unknown total is reported as 0.
    pub fn update(
        &mut self,
        loaded: f64,
        event_total: Option<f64>,
        now_ms: f64,
    ) -> Option<(u64, u64)> {
        let mut loaded = to_u64(loaded)?;
        let total = match self.known_total {
            Some(t) => t,
            None => event_total.and_then(to_u64).filter(|t| *t > 0).unwrap_or(0),
        };
        if total > 0 {
            loaded = loaded.min(total);
        }
        match self.last {
            Some((last, _)) if loaded <= last => None,
            Some(_)
                if !(total > 0 && loaded == total) && now_ms - self.last_ms < self.interval_ms =>
            {
                None
            }
            _ => {
                self.last = Some((loaded, total));
                self.last_ms = now_ms;
                self.last
            }
        }
    }

    /// The closing report `(total, total)` of a finished transfer, unless it was already made.
    pub fn finish(&mut self, total: u64) -> Option<(u64, u64)> {
        if self.last == Some((total, total)) {
            return None;
        }
        self.last = Some((total, total));
        self.last
    }
}

/// A byte count from a JS number: None for negative, fractional or non-finite values.
#[must_use]
pub fn to_u64(value: f64) -> Option<u64> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if (0.0..=MAX_SAFE).contains(&value) && value.fract() == 0.0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(value as u64)
    } else {
        None
    }
}

/// A byte count as a JS number. Counts above 2^53 do not occur for Blobs; they saturate.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn to_f64(value: u64) -> f64 {
    value.min(9_007_199_254_740_991) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_only_grow_and_end_at_the_total() {
        let mut p = Progress::new(Some(100));
        let mut seen = Vec::new();
        for (loaded, total) in [
            (0.0, 100.0),
            (40.0, 100.0),
            (40.0, 100.0),
            (30.0, 100.0),
            (150.0, 200.0),
        ] {
            seen.extend(p.update(loaded, Some(total), 0.0));
        }
        seen.extend(p.finish(100));
        assert_eq!(seen, vec![(0, 100), (40, 100), (100, 100)]);
    }

    #[test]
    fn finish_is_not_repeated() {
        let mut p = Progress::new(Some(10));
        assert_eq!(p.update(10.0, Some(10.0), 0.0), Some((10, 10)));
        assert_eq!(p.finish(10), None);
    }

    #[test]
    fn empty_transfer_still_ends_with_zero_of_zero() {
        let mut p = Progress::new(Some(0));
        assert_eq!(p.finish(0), Some((0, 0)));
    }

    #[test]
    fn unknown_total_is_zero_until_the_end() {
        let mut p = Progress::new(None);
        assert_eq!(p.update(5.0, None, 0.0), Some((5, 0)));
        assert_eq!(p.update(7.0, Some(0.0), 0.0), Some((7, 0)));
        assert_eq!(p.update(8.0, Some(20.0), 0.0), Some((8, 20)));
        assert_eq!(p.finish(20), Some((20, 20)));
    }

    #[test]
    fn junk_numbers_are_ignored() {
        let mut p = Progress::new(Some(10));
        assert_eq!(p.update(f64::NAN, None, 0.0), None);
        assert_eq!(p.update(-1.0, None, 0.0), None);
        assert_eq!(p.update(1.5, None, 0.0), None);
        assert_eq!(to_u64(9_007_199_254_740_992.0), None);
        assert_eq!(to_f64(u64::MAX), 9_007_199_254_740_991.0);
    }

    #[test]
    fn throttled_reports_are_spaced_but_the_first_and_the_total_go_out() {
        // WebKit's pace: an event every 8 KiB, many per millisecond.
        let mut p = Progress::new(Some(100_000)).throttled(50.0);
        let mut seen = Vec::new();
        for i in 1..=12u32 {
            let loaded = f64::from(i) * 8192.0;
            seen.extend(p.update(loaded.min(100_000.0), None, f64::from(i) * 10.0));
        }
        seen.extend(p.finish(100_000));
        assert_eq!(
            seen,
            vec![
                (8192, 100_000),
                (49152, 100_000),
                (90112, 100_000),
                (100_000, 100_000)
            ]
        );
    }

    #[test]
    fn a_throttled_unknown_total_still_ends_at_the_total() {
        let mut p = Progress::new(None).throttled(50.0);
        assert_eq!(p.update(10.0, None, 0.0), Some((10, 0)));
        assert_eq!(p.update(20.0, None, 1.0), None);
        assert_eq!(p.finish(30), Some((30, 30)));
    }
}
