//! Byte-accurate progress over parts sent in parallel: each part counts the most bytes it has
//! ever reported, so a retried part (whose new try starts again at 0) never makes the total go
//! backwards. Reports are throttled, but the first and the final `(total, total)` always go out.

/// The progress of one multipart upload.
#[derive(Debug, Clone, PartialEq)]
pub struct PartsProgress {
    total: u64,
    /// Most bytes ever seen per part (index = part number - 1).
    seen: Vec<u64>,
    /// Planned size per part.
    sizes: Vec<u64>,
    loaded: u64,
    reported: Option<u64>,
    last_report_ms: f64,
    interval_ms: f64,
}

impl PartsProgress {
    /// Tracks parts of the given sizes; reports at most every `interval_ms`.
    #[must_use]
    pub fn new(sizes: Vec<u64>, interval_ms: f64) -> Self {
        Self {
            total: sizes.iter().sum(),
            seen: vec![0; sizes.len()],
            sizes,
            loaded: 0,
            reported: None,
            last_report_ms: f64::NEG_INFINITY,
            interval_ms,
        }
    }

    /// Bytes counted so far.
    #[must_use]
    pub fn loaded(&self) -> u64 {
        self.loaded
    }

    /// Total bytes.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Part `n` (1-based) has sent `bytes` in its current try; returns a report to make now.
    pub fn part(&mut self, n: u64, bytes: u64, now_ms: f64) -> Option<(u64, u64)> {
        let i = usize::try_from(n.saturating_sub(1)).ok()?;
        let (seen, size) = (self.seen.get_mut(i)?, *self.sizes.get(i)?);
        let bytes = bytes.min(size);
        if bytes > *seen {
            self.loaded += bytes - *seen;
            *seen = bytes;
        }
        self.report(now_ms, false)
    }

    /// Part `n` is stored (or was already on the server): it counts in full.
    pub fn done(&mut self, n: u64, now_ms: f64) -> Option<(u64, u64)> {
        let size = usize::try_from(n.saturating_sub(1))
            .ok()
            .and_then(|i| self.sizes.get(i).copied())?;
        self.part(n, size, now_ms)
    }

    /// The closing report, unless it was already made.
    pub fn finish(&mut self) -> Option<(u64, u64)> {
        self.loaded = self.total;
        self.report(f64::INFINITY, true)
    }

    fn report(&mut self, now_ms: f64, force: bool) -> Option<(u64, u64)> {
        if self.reported == Some(self.loaded) {
            return None;
        }
        let due = force
            || self.reported.is_none()
            || self.loaded == self.total
            || now_ms - self.last_report_ms >= self.interval_ms;
        if !due {
            return None;
        }
        self.reported = Some(self.loaded);
        self.last_report_ms = now_ms;
        Some((self.loaded, self.total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retried_part_never_moves_progress_backwards() {
        let mut p = PartsProgress::new(vec![10, 10, 5], 0.0);
        assert_eq!(p.part(1, 6, 0.0), Some((6, 25)));
        assert_eq!(p.part(2, 4, 1.0), Some((10, 25)));
        // Part 1 fails and starts again: its new bytes count only past the 6 already seen.
        assert_eq!(p.part(1, 3, 2.0), None);
        assert_eq!(p.part(1, 8, 3.0), Some((12, 25)));
        assert_eq!(p.done(1, 4.0), Some((14, 25)));
        assert_eq!(p.done(2, 5.0), Some((20, 25)));
        assert_eq!(p.done(3, 6.0), Some((25, 25)));
        assert_eq!(p.finish(), None, "(total, total) is reported once");
    }

    #[test]
    fn reports_are_throttled_but_the_end_always_goes_out() {
        let mut p = PartsProgress::new(vec![100], 50.0);
        assert_eq!(p.part(1, 1, 0.0), Some((1, 100)));
        assert_eq!(p.part(1, 2, 10.0), None);
        assert_eq!(p.part(1, 3, 60.0), Some((3, 100)));
        assert_eq!(p.part(1, 99, 61.0), None);
        assert_eq!(p.finish(), Some((100, 100)));
        let mut empty = PartsProgress::new(vec![0], 50.0);
        assert_eq!(empty.finish(), Some((0, 0)));
    }
}
