//! Fault injection for tests: fail, drop, throttle or delay part uploads, and count how many
//! parts are in flight. Off unless the server starts with `--unsafe-test-hooks`, which it
//! refuses on any address but loopback; rules are then set at run time through
//! `POST /v1/test/faults`, so one server serves every test.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What to do to one part PUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Fault {
    /// Answer 500 without storing the part.
    Fail,
    /// Read half the body, then drop the connection.
    Drop,
    /// Answer 429 with `Retry-After: {retry_after}` seconds.
    SlowDown {
        /// Seconds.
        retry_after: u64,
    },
    /// Store the part but answer without the `ETag` header (as a server whose CORS setup does
    /// not expose it looks to a browser).
    HideEtag,
    /// Wait this long before handling the part.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
}

/// A rule: apply `fault` to the `nth` part PUT counted from the last reset (1-based), or to
/// every part PUT when `nth` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// Which PUT (1-based; 0 = every one).
    pub nth: u64,
    /// What to do.
    #[serde(flatten)]
    pub fault: Fault,
}

/// Counters read by tests through `GET /v1/test/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Part PUTs received since the last reset.
    pub part_puts: u64,
    /// Part PUTs being handled now.
    pub parts_in_flight: u64,
    /// Most part PUTs handled at once since the last reset.
    pub max_parts_in_flight: u64,
}

/// Rules and counters.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    part_puts: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

/// Marks one part PUT in flight until dropped.
#[derive(Debug)]
pub struct InFlight<'a>(&'a Faults);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Faults {
    /// Replaces the rules and zeroes the counters.
    pub fn reset(&self, rules: Vec<Rule>) {
        if let Ok(mut r) = self.rules.lock() {
            *r = rules;
        }
        self.part_puts.store(0, Ordering::SeqCst);
        self.max_in_flight
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Counts a part PUT; returns its guard and the faults that apply to it, in rule order.
    pub fn part_started(&self) -> (InFlight<'_>, Vec<Fault>) {
        let n = self.part_puts.fetch_add(1, Ordering::SeqCst) + 1;
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let faults = self
            .rules
            .lock()
            .map(|rules| {
                rules
                    .iter()
                    .filter(|r| r.nth == 0 || r.nth == n)
                    .map(|r| r.fault)
                    .collect()
            })
            .unwrap_or_default();
        (InFlight(self), faults)
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        Stats {
            part_puts: self.part_puts.load(Ordering::SeqCst),
            parts_in_flight: self.in_flight.load(Ordering::SeqCst),
            max_parts_in_flight: self.max_in_flight.load(Ordering::SeqCst),
        }
    }
}

/// Sleeps for every `Delay` among `faults`.
pub async fn apply_delays(faults: &[Fault]) {
    for f in faults {
        if let Fault::Delay { ms } = f {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_pick_the_nth_put_and_counters_track_concurrency() {
        let f = Faults::default();
        f.reset(vec![
            Rule {
                nth: 2,
                fault: Fault::Fail,
            },
            Rule {
                nth: 0,
                fault: Fault::Delay { ms: 1 },
            },
        ]);
        let (a, fa) = f.part_started();
        let (b, fb) = f.part_started();
        assert_eq!(fa, vec![Fault::Delay { ms: 1 }]);
        assert_eq!(fb, vec![Fault::Fail, Fault::Delay { ms: 1 }]);
        assert_eq!(f.stats().max_parts_in_flight, 2);
        drop((a, b));
        assert_eq!(f.stats().parts_in_flight, 0);
        let json = serde_json::to_string(&Rule {
            nth: 3,
            fault: Fault::SlowDown { retry_after: 1 },
        })
        .unwrap();
        assert_eq!(json, r#"{"nth":3,"kind":"slowDown","retryAfter":1}"#);
    }
}
