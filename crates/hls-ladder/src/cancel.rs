//! Cancelling a running conversion from another thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A handle that stops a conversion: clone it, give one clone to
/// [`convert_with_cancel`](crate::convert_with_cancel), and call [`CancelToken::cancel`] on
/// another from any thread. The conversion then returns [`Error::Canceled`](crate::Error)
/// within about one frame's work.
///
/// ```
/// let token = hls_ladder::CancelToken::new();
/// let remote = token.clone();
/// std::thread::spawn(move || remote.cancel()).join().unwrap();
/// assert!(token.is_canceled());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not canceled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Asks the conversion to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_canceled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
