//! Leases: how a node holds shared work so that another can take it over once the holder is
//! gone. Three queues hold work this way, each in its own row: a conversion job
//! (`videos.lease_owner`, `lease_expires_at`), a URL import (`videos.import_owner`,
//! `import_lease_until`) and a resumable upload being appended to (`resumable_uploads.writer`,
//! `writer_seen_at`). Each is claimed where it is unheld or its lease ran out, renewed only by
//! its holder (the row names the holder's token), and let go.
//!
//! What they share is here, once: the terms of a lease ([`LeaseTerms`]: renewed every third
//! of it, so two renewals may fail before it runs out; its holder stops working at five
//! sixths of it, before anyone else may claim it) and the holding of one ([`HeldLease`]: when
//! a renewal is due, the deadline no query may outlive, what a renewal's answer means).
//! Times are tokio's ([`Instant`]), so that tests can run them on a paused clock.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How long a lease lasts unless renewed, and what follows from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeaseTerms {
    length: Duration,
    renewal: Duration,
}

impl LeaseTerms {
    /// A lease of `length`, renewed every third of it.
    pub const fn new(length: Duration) -> LeaseTerms {
        LeaseTerms {
            length,
            renewal: Duration::from_nanos((length.as_nanos() / 3) as u64),
        }
    }

    /// A lease of `length` renewed every `renewal`: for a holder with steps of its own that
    /// renew nothing (a resumable upload becoming a video holds it while it is probed), so
    /// the lease must be long while renewals stay frequent.
    pub const fn with_renewal(length: Duration, renewal: Duration) -> LeaseTerms {
        LeaseTerms { length, renewal }
    }

    /// A lease of `seconds` (at least a millisecond).
    pub fn from_secs_f64(seconds: f64) -> LeaseTerms {
        LeaseTerms::new(Duration::from_secs_f64(seconds.max(0.001)))
    }

    /// Its length in seconds, as the database's `make_interval(secs => ...)` takes it.
    pub fn seconds(&self) -> f64 {
        self.length.as_secs_f64()
    }

    /// How often the holder renews it: every third of it unless the terms say otherwise, so
    /// that two renewals may fail (a database restarting) before it runs out.
    pub fn renew_every(&self) -> Duration {
        self.renewal
    }

    /// How long after its last successful renewal the holder must stop working: before the
    /// lease can run out and another node claim the work, with a sixth of it to spare for
    /// the stop itself.
    pub fn fence_after(&self) -> Duration {
        self.length * 5 / 6
    }
}

/// A lease this node holds: its terms and when its last renewal that succeeded was asked for.
#[derive(Debug, Clone, Copy)]
pub struct HeldLease {
    terms: LeaseTerms,
    last_renewal: Instant,
}

/// What one renewal came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Renewal<T> {
    /// Still ours; the renewal's answer.
    Held(T),
    /// Another holder has it, or the work is gone (canceled, deleted): stop now.
    Lost,
    /// The renewal failed or did not answer in time; the lease may still hold until
    /// [`HeldLease::expired`].
    Failed,
}

impl HeldLease {
    /// A lease claimed (or last renewed) at `at`.
    pub fn claimed(terms: LeaseTerms, at: Instant) -> HeldLease {
        HeldLease {
            terms,
            last_renewal: at,
        }
    }

    /// Its terms.
    pub fn terms(&self) -> LeaseTerms {
        self.terms
    }

    /// Whether a renewal is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        now.duration_since(self.last_renewal) >= self.terms.renew_every()
    }

    /// When the holder must have stopped unless a renewal succeeds first: no query may
    /// outlive it (a partition may drop packets rather than refuse them).
    pub fn deadline(&self) -> Instant {
        self.last_renewal + self.terms.fence_after()
    }

    /// Whether the holder must stop now: no renewal succeeded in time.
    pub fn expired(&self, now: Instant) -> bool {
        now >= self.deadline()
    }

    /// How long ago the last renewal that succeeded was asked for.
    pub fn since_renewal(&self) -> Duration {
        self.last_renewal.elapsed()
    }

    /// Runs one renewal query (`Some(answer)` while the lease is ours, `None` when it is not),
    /// bounded by [`HeldLease::deadline`], and records a success.
    pub async fn renew<T, E: std::fmt::Display>(
        &mut self,
        query: impl Future<Output = Result<Option<T>, E>>,
    ) -> Renewal<T> {
        let asked = Instant::now();
        match tokio::time::timeout_at(self.deadline(), query).await {
            Ok(Ok(Some(answer))) => {
                self.last_renewal = asked;
                Renewal::Held(answer)
            }
            Ok(Ok(None)) => Renewal::Lost,
            Ok(Err(error)) => {
                tracing::warn!(%error, "a lease could not be renewed");
                Renewal::Failed
            }
            Err(_) => {
                tracing::warn!("a lease renewal did not answer in time");
                Renewal::Failed
            }
        }
    }
}

/// Keeps a lease claimed at `claimed_at` by running `renew` every third of it (`Some(())`
/// while it is ours, `None` when it is not), and returns once it is lost or could not be
/// renewed in time: the holder must stop then.
pub async fn keep<F, Fut, E>(terms: LeaseTerms, claimed_at: Instant, mut renew: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<()>, E>>,
    E: std::fmt::Display,
{
    let mut lease = HeldLease::claimed(terms, claimed_at);
    loop {
        let next = (Instant::now() + terms.renew_every()).min(lease.deadline());
        tokio::time::sleep_until(next).await;
        if lease.expired(Instant::now()) {
            return;
        }
        if lease.renew(renew()).await == Renewal::Lost {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_renewed_every_third_and_its_holder_stops_at_five_sixths() {
        let terms = LeaseTerms::from_secs_f64(30.0);
        assert_eq!(terms.renew_every(), Duration::from_secs(10));
        assert_eq!(terms.fence_after(), Duration::from_secs(25));
        let start = Instant::now();
        let lease = HeldLease::claimed(terms, start);
        assert!(!lease.due(start + Duration::from_secs(9)));
        assert!(lease.due(start + Duration::from_secs(10)));
        assert!(!lease.expired(start + Duration::from_secs(24)));
        assert!(lease.expired(start + Duration::from_secs(25)));
        let frequent = LeaseTerms::with_renewal(Duration::from_secs(60), Duration::from_secs(5));
        assert_eq!(frequent.renew_every(), Duration::from_secs(5));
        assert_eq!(frequent.fence_after(), Duration::from_secs(50));
    }

    #[tokio::test(start_paused = true)]
    async fn a_renewal_that_succeeds_moves_the_deadline_and_a_lost_one_says_so() {
        let terms = LeaseTerms::from_secs_f64(3.0);
        let mut lease = HeldLease::claimed(terms, Instant::now());
        let first = lease.deadline();
        tokio::time::advance(Duration::from_secs(1)).await;
        let held = lease.renew(async { Ok::<_, String>(Some(7)) }).await;
        assert_eq!(held, Renewal::Held(7));
        assert!(lease.deadline() > first);
        let lost = lease.renew(async { Ok::<Option<i32>, String>(None) }).await;
        assert_eq!(lost, Renewal::Lost);
        let failed = lease
            .renew(async { Err::<Option<i32>, _>("refused") })
            .await;
        assert_eq!(failed, Renewal::Failed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_query_that_hangs_is_cut_at_the_deadline() {
        let terms = LeaseTerms::from_secs_f64(6.0);
        let mut lease = HeldLease::claimed(terms, Instant::now());
        let hanging = std::future::pending::<Result<Option<()>, String>>();
        assert_eq!(lease.renew(hanging).await, Renewal::Failed);
        assert!(lease.expired(Instant::now()));
    }

    #[tokio::test(start_paused = true)]
    async fn keeping_a_lease_ends_when_it_is_lost_or_can_no_longer_be_renewed() {
        let terms = LeaseTerms::from_secs_f64(3.0);
        let mut answers = vec![Ok(Some(())), Ok(Some(())), Ok(None)].into_iter();
        let mut asked = 0;
        keep(terms, Instant::now(), || {
            asked += 1;
            std::future::ready(answers.next().unwrap_or(Err("over")))
        })
        .await;
        assert_eq!(asked, 3, "renewed twice, then told it was lost");

        // Renewals that keep failing: given up once the lease could have run out.
        let started = Instant::now();
        keep(terms, started, || {
            std::future::ready(Err::<Option<()>, _>("down"))
        })
        .await;
        assert_eq!(started.elapsed(), terms.fence_after());
    }
}
