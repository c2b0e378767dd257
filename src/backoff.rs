//! Trying an operation again while its failure may pass (an S3 or database outage): waits
//! that double from a first delay, at most 5 s apart, for as long as a patience allows.

use std::future::Future;
use std::time::{Duration, Instant};

/// The longest wait between two tries.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// How long to keep trying, and the first wait.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    /// No try starts after a wait that would end past this, counted from the first try.
    pub(crate) patience: Duration,
    /// The wait after the first failure; each next one doubles.
    pub(crate) first_delay: Duration,
}

/// How a retried operation ended.
pub(crate) struct Tried<T, E> {
    /// The last try's outcome.
    pub(crate) outcome: Result<T, E>,
    /// How many tries were made.
    pub(crate) attempts: u32,
    /// Time from the first try to the end of the last.
    pub(crate) elapsed: Duration,
}

impl Backoff {
    /// Runs `attempt` until it succeeds, fails with an error `passing` says will not pass, or
    /// the next wait would go past the patience; `on_retry` hears of each failure that is
    /// tried again, with the number of the try that failed.
    pub(crate) async fn run<T, E, Fut>(
        self,
        passing: impl Fn(&E) -> bool,
        mut on_retry: impl FnMut(&E, u32),
        mut attempt: impl FnMut() -> Fut,
    ) -> Tried<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let started = Instant::now();
        let mut delay = self.first_delay;
        let mut attempts = 1;
        loop {
            match attempt().await {
                Err(error) if passing(&error) && started.elapsed() + delay <= self.patience => {
                    on_retry(&error, attempts);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_DELAY);
                    attempts += 1;
                }
                outcome => {
                    return Tried {
                        outcome,
                        attempts,
                        elapsed: started.elapsed(),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const BACKOFF: Backoff = Backoff {
        patience: Duration::from_secs(60),
        first_delay: Duration::from_millis(200),
    };

    #[tokio::test(start_paused = true)]
    async fn a_passing_failure_is_tried_again_until_it_succeeds() {
        let calls = Cell::new(0);
        let retried = Cell::new(0);
        let tried = BACKOFF
            .run(
                |_: &&str| true,
                |_, _| retried.set(retried.get() + 1),
                || {
                    calls.set(calls.get() + 1);
                    let n = calls.get();
                    async move { if n < 3 { Err("down") } else { Ok(n) } }
                },
            )
            .await;
        assert_eq!(tried.outcome, Ok(3));
        assert_eq!(tried.attempts, 3);
        assert_eq!(retried.get(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn it_stops_at_a_failure_that_will_not_pass_and_when_patience_runs_out() {
        let lasting = BACKOFF
            .run(
                |_: &&str| false,
                |_, _| {},
                || async { Err::<(), _>("bad") },
            )
            .await;
        assert_eq!(lasting.attempts, 1);
        // Waits of 0.2, 0.4 and 0.8 s fit in 1.5 s; the next, 1.6 s, would not.
        let short = Backoff {
            patience: Duration::from_millis(1500),
            ..BACKOFF
        };
        let outage = short
            .run(
                |_: &&str| true,
                |_, _| {},
                || async { Err::<(), _>("down") },
            )
            .await;
        assert_eq!(outage.attempts, 4);
        assert_eq!(outage.outcome, Err("down"));
    }
}
