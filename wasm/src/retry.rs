//! When and how long to wait before trying a part again: full-jitter exponential backoff that
//! honours `Retry-After`, and which failures are worth another try at all.

use serde::Deserialize;
use stowage_protocol::ErrorCode;

use crate::error::Error;

/// `retry` option of `uploadMultipart`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RetryPolicy {
    /// Tries per part in all, the first one included.
    pub attempts: u32,
    /// Backoff cap of the first retry, ms.
    pub base_delay_ms: f64,
    /// Largest wait, ms.
    pub max_delay_ms: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            base_delay_ms: 200.0,
            max_delay_ms: 10_000.0,
        }
    }
}

/// What to do after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Give up with this error.
    Fail,
    /// Try again after the backoff.
    Retry,
    /// The signed URL expired: fetch a fresh one, then try again.
    RefreshUrl,
}

/// Network failures, 408, 429, 5xx and expired URLs are worth another try; validation
/// errors (every other 4xx, checksum and size mismatches) and aborts are not.
#[must_use]
pub fn verdict(error: &Error) -> Verdict {
    match error {
        Error::Network(_) => Verdict::Retry,
        Error::Storage { code, .. } if *code == ErrorCode::UrlExpired.code() => Verdict::RefreshUrl,
        Error::Storage { status, .. } | Error::UnexpectedResponse { status, .. } => {
            if *status == 408 || *status == 429 || *status >= 500 {
                Verdict::Retry
            } else {
                Verdict::Fail
            }
        }
        _ => Verdict::Fail,
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 = the first retry): a uniform draw from
    /// `0..=min(max, base * 2^(retry-1))` (full jitter, `random` in `[0, 1)`), but never less
    /// than what the server asked for in `Retry-After` (seconds), capped at `max`.
    #[must_use]
    pub fn delay_ms(&self, retry: u32, retry_after_secs: Option<f64>, random: f64) -> f64 {
        let exp = 2f64.powi(i32::try_from(retry.saturating_sub(1)).unwrap_or(30).min(30));
        let cap = (self.base_delay_ms * exp).min(self.max_delay_ms).max(0.0);
        let jittered = cap * random.clamp(0.0, 1.0);
        match retry_after_secs.filter(|s| s.is_finite() && *s >= 0.0) {
            Some(s) => (s * 1000.0)
                .max(jittered)
                .min(self.max_delay_ms.max(s * 1000.0)),
            None => jittered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_transient_failures_only() {
        let storage = |code: ErrorCode| Error::api(code, "x");
        assert_eq!(verdict(&Error::Network("reset".into())), Verdict::Retry);
        assert_eq!(verdict(&storage(ErrorCode::Internal)), Verdict::Retry);
        assert_eq!(verdict(&storage(ErrorCode::SlowDown)), Verdict::Retry);
        assert_eq!(
            verdict(&storage(ErrorCode::UrlExpired)),
            Verdict::RefreshUrl
        );
        assert_eq!(
            verdict(&storage(ErrorCode::ChecksumMismatch)),
            Verdict::Fail
        );
        assert_eq!(verdict(&storage(ErrorCode::BadSignature)), Verdict::Fail);
        assert_eq!(verdict(&storage(ErrorCode::SizeMismatch)), Verdict::Fail);
        assert_eq!(
            verdict(&Error::UnexpectedResponse {
                status: 502,
                detail: String::new()
            }),
            Verdict::Retry
        );
        assert_eq!(
            verdict(&Error::UnexpectedResponse {
                status: 408,
                detail: String::new()
            }),
            Verdict::Retry
        );
        assert_eq!(verdict(&Error::Aborted("stop".into())), Verdict::Fail);
    }

    #[test]
    fn backoff_is_full_jitter_capped_and_honours_retry_after() {
        let p = RetryPolicy {
            attempts: 5,
            base_delay_ms: 100.0,
            max_delay_ms: 1000.0,
        };
        assert_eq!(p.delay_ms(1, None, 0.999_999).round(), 100.0);
        assert_eq!(p.delay_ms(3, None, 0.5), 200.0);
        assert_eq!(p.delay_ms(10, None, 1.0), 1000.0);
        assert_eq!(p.delay_ms(1, None, 0.0), 0.0);
        assert_eq!(
            p.delay_ms(1, Some(2.0), 0.0),
            2000.0,
            "Retry-After wins over a smaller draw"
        );
        assert_eq!(
            p.delay_ms(5, Some(0.1), 0.9),
            900.0,
            "a larger draw wins over Retry-After"
        );
    }
}
