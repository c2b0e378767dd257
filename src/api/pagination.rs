//! Cursor pagination of the lists (`GET /v1/videos`, `GET /v1/webhook-deliveries`): newest
//! first, ordered by `(created_at, id)`, the cursor naming the last item of a page.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::problem::ApiError;
use super::problem_code::ApiCode;

/// A cursor as [`decode_cursor`] takes it (the pattern the document gives the `cursor`
/// parameters): Unix microseconds, `_`, a hyphenated UUID.
pub(super) const CURSOR_PATTERN: &str =
    "^[0-9]{1,16}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// The largest page.
pub(super) const MAX_PAGE: i64 = 100;

/// The page size asked for: 20 by default; outside 1 to [`MAX_PAGE`], `400 bad-query` (as the
/// OpenAPI document says).
pub(super) fn page_size(asked: Option<i64>) -> Result<i64, ApiError> {
    match asked.unwrap_or(20) {
        size @ 1..=MAX_PAGE => Ok(size),
        other => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadQuery,
            format!("limit must be between 1 and {MAX_PAGE}, not {other}"),
        )),
    }
}

/// Cuts rows fetched with one more than `limit` to the page, and gives the cursor of the next
/// page (none on the last); `key` is a row's `(created_at, id)`.
pub(super) fn into_page<T>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> (DateTime<Utc>, Uuid),
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(|row| {
            let (created_at, id) = key(row);
            encode_cursor(created_at, id)
        })
    } else {
        None
    };
    (rows, next_cursor)
}

fn encode_cursor(created_at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}_{id}", created_at.timestamp_micros())
}

/// The `(created_at, id)` a cursor names; 400 `bad-cursor` for one this API did not give.
pub(super) fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadCursor,
            "the cursor is not one this API returned",
        )
    };
    // Exactly what `encode_cursor` writes (the documented pattern), nothing looser.
    let (micros, id) = cursor.split_once('_').ok_or_else(bad)?;
    let digits = (1..=16).contains(&micros.len()) && micros.bytes().all(|b| b.is_ascii_digit());
    if !digits || id.len() != 36 {
        return Err(bad());
    }
    let time =
        DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok((time, id.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let time = DateTime::from_timestamp_micros(1_764_300_000_123_456).unwrap();
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(time, id)).unwrap(), (time, id));
        for garbage in [
            "yesterday",
            "",
            "_",
            "+1_0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b",
            "1_0193ee298a1c7b3ea4f05c6d7e8f9a0b",
            "99999999999999999_0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b",
        ] {
            assert!(decode_cursor(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn a_page_names_its_last_row_only_when_more_follow() {
        let time = DateTime::from_timestamp_micros(1_764_300_000_000_000).unwrap();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let (page, next) = into_page(ids.clone(), 2, |id| (time, *id));
        assert_eq!(page, ids[..2]);
        assert_eq!(decode_cursor(&next.unwrap()).unwrap(), (time, ids[1]));
        let (last, none) = into_page(ids[..2].to_vec(), 2, |id| (time, *id));
        assert_eq!((last.len(), none), (2, None));
    }
}
