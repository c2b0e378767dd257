//! Caps on open event streams, in all and per client: each stream holds a task, a
//! subscription to the change feed and a connection, so one client must not open thousands.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::client_id::ClientId;
use super::problem::ApiError;
use super::problem_code::ApiCode;

/// The slots of the event streams of one process.
#[derive(Debug, Clone)]
pub struct StreamSlots {
    total: Arc<Semaphore>,
    per_client: usize,
    open: Arc<Mutex<HashMap<ClientId, usize>>>,
}

/// One open stream's slot, given back when dropped.
#[derive(Debug)]
pub struct StreamSlot {
    _total: OwnedSemaphorePermit,
    client: ClientId,
    open: Arc<Mutex<HashMap<ClientId, usize>>>,
}

impl StreamSlots {
    /// `total` streams at most, `per_client` of them for one client.
    pub fn new(total: usize, per_client: usize) -> StreamSlots {
        StreamSlots {
            total: Arc::new(Semaphore::new(total)),
            per_client,
            open: Arc::default(),
        }
    }

    /// A slot for `client`: 429 when it has its share open already, 503 when the process
    /// has none left.
    pub fn take(&self, client: ClientId) -> Result<StreamSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(client).or_insert(0);
        if *count >= self.per_client {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ApiCode::TooManyEventStreams,
                format!(
                    "this client has {} event streams open, the most it may; close one first",
                    self.per_client
                ),
            ));
        }
        let permit = Arc::clone(&self.total).try_acquire_owned().map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ApiCode::EventStreamsFull,
                "the server has as many event streams open as it may; poll GET /v1/videos/{id} instead, or try again shortly",
            )
        })?;
        *count += 1;
        Ok(StreamSlot {
            _total: permit,
            client,
            open: Arc::clone(&self.open),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_share_and_the_process_its_total() {
        let slots = StreamSlots::new(3, 2);
        let (a, b) = (ClientId([1; 32]), ClientId([2; 32]));
        let first = slots.take(a).unwrap();
        let _second = slots.take(a).unwrap();
        let refused = slots.take(a).unwrap_err();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let _third = slots.take(b).unwrap();
        let full = slots.take(b).unwrap_err();
        assert_eq!(full.status(), StatusCode::SERVICE_UNAVAILABLE);
        drop(first);
        assert!(slots.take(a).is_ok(), "a closed stream gives its slot back");
        assert!(slots.open.lock().unwrap().len() <= 2);
    }
}
