//! The stable codes of the API's errors, as one enum: the `code` of every problem+json
//! answer is an [`ApiCode`] or a conversion's own [`ErrorCode`] ([`ProblemCode`]), and the
//! OpenAPI document lists exactly these.

use hls_ladder::ErrorCode;

/// Declares [`ApiCode`] from one list: each variant, its doc and its text.
macro_rules! api_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $text:literal,)*) => {
        /// A stable, machine-readable code of an API error (kebab-case, e.g. `video-not-found`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ApiCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ApiCode {
            /// Every code, in alphabetical order.
            pub const ALL: &'static [ApiCode] = &[$(ApiCode::$variant,)*];

            /// The code as written, e.g. `"video-not-found"`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ApiCode::$variant => $text,)*
                }
            }
        }
    };
}

api_codes! {
    /// A cancel of a video that is already completed, failed or canceled.
    AlreadyFinished = "already-finished",
    /// A caption file that is not WebVTT or SRT, or has a line that does not parse.
    BadCaptions = "bad-captions",
    /// A list cursor this API did not return.
    BadCursor = "bad-cursor",
    /// An `Idempotency-Key` that is not 1 to 255 visible ASCII characters.
    BadIdempotencyKey = "bad-idempotency-key",
    /// A JSON body that is not what the operation takes.
    BadJson = "bad-json",
    /// A caption language that is not a tag such as `en` or `pt-BR`.
    BadLanguage = "bad-language",
    /// A `Last-Event-ID` that is not an id the event stream sent.
    BadLastEventId = "bad-last-event-id",
    /// A multipart body that does not parse.
    BadMultipart = "bad-multipart",
    /// A path parameter that is not what the route takes (an id that is not a UUID).
    BadPath = "bad-path",
    /// A playback link whose signature does not hold.
    BadPlaybackSignature = "bad-playback-signature",
    /// A query parameter that is unknown or out of range.
    BadQuery = "bad-query",
    /// A status filter that is not a status.
    BadStatus = "bad-status",
    /// A tus header missing or malformed.
    BadTusHeader = "bad-tus-header",
    /// An import URL that is not a URL, or too long.
    BadUrl = "bad-url",
    /// A request body larger than the operation takes.
    BodyTooLarge = "body-too-large",
    /// No captions in that language on the video.
    CaptionsNotFound = "captions-not-found",
    /// The database is unavailable; the request may be tried again.
    DatabaseUnavailable = "database-unavailable",
    /// No such webhook delivery.
    DeliveryNotFound = "delivery-not-found",
    /// No room on the server for the upload.
    DiskFull = "disk-full",
    /// An upload with no bytes.
    EmptyUpload = "empty-upload",
    /// The server has as many event streams open as it may.
    EventStreamsFull = "event-streams-full",
    /// An `Idempotency-Key` sent before with another request.
    IdempotencyKeyReused = "idempotency-key-reused",
    /// A failure of the service's own; the cause is logged, not shown.
    InternalError = "internal-error",
    /// An API key that is not valid for this service.
    InvalidApiKey = "invalid-api-key",
    /// A request that needs an API key sent none.
    MissingApiKey = "missing-api-key",
    /// A multipart upload without a `file` field.
    MissingFileField = "missing-file-field",
    /// No route at this path.
    NoSuchEndpoint = "no-such-endpoint",
    /// An operation on a completed video asked of one that is not.
    NotCompleted = "not-completed",
    /// The resource does not exist.
    NotFound = "not-found",
    /// A retry of a video that has not failed.
    NotRetryable = "not-retryable",
    /// A completed video whose playlists are not in the bucket.
    OutputMissing = "output-missing",
    /// A playback link past its expiry.
    PlaybackLinkExpired = "playback-link-expired",
    /// No such playlist (or still) behind a playback link.
    PlaylistNotFound = "playlist-not-found",
    /// The server could not examine the upload now; send it again shortly.
    ProbeUnavailable = "probe-unavailable",
    /// A retry of a failed video whose upload was removed.
    SourceGone = "source-gone",
    /// The bucket is unavailable; the request may be tried again.
    StorageUnavailable = "storage-unavailable",
    /// This client has as many event streams open as it may.
    TooManyEventStreams = "too-many-event-streams",
    /// This client used its upload allowance (`UPLOAD_RATE`).
    TooManyUploads = "too-many-uploads",
    /// A tus version this server does not speak.
    TusVersionUnsupported = "tus-version-unsupported",
    /// An upload that is neither a video type nor multipart.
    UnsupportedContentType = "unsupported-content-type",
    /// Another request is appending to, or completing, this upload.
    UploadBusy = "upload-busy",
    /// A direct upload completed with parts missing or of the wrong size.
    UploadIncomplete = "upload-incomplete",
    /// A resumable upload's body stopped; continue at its offset.
    UploadInterrupted = "upload-interrupted",
    /// No such upload in progress.
    UploadNotFound = "upload-not-found",
    /// A tus request at an offset other than the upload's.
    UploadOffsetMismatch = "upload-offset-mismatch",
    /// The server cannot store uploads now (its temporary directory).
    UploadStorageUnavailable = "upload-storage-unavailable",
    /// Larger than the upload limit.
    UploadTooLarge = "upload-too-large",
    /// An upload that came too slowly (`UPLOAD_MIN_RATE`).
    UploadTooSlow = "upload-too-slow",
    /// An import URL that may not be fetched (scheme, credentials, address).
    UrlNotAllowed = "url-not-allowed",
    /// No such video.
    VideoNotFound = "video-not-found",
}

/// The code of a problem: the API's own, or a conversion's (a refused upload answers with the
/// engine's `not-a-video`, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemCode {
    /// One of the API's codes.
    Api(ApiCode),
    /// One of the engine's codes.
    Media(ErrorCode),
}

impl ProblemCode {
    /// The code as written.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::Api(code) => code.as_str(),
            ProblemCode::Media(code) => code.as_str(),
        }
    }

    /// Every code a problem document may carry, sorted, each once: the `Problem.code` enum of
    /// the OpenAPI document.
    pub fn all() -> Vec<&'static str> {
        let mut codes: Vec<&'static str> = ApiCode::ALL.iter().map(|code| code.as_str()).collect();
        codes.extend(ErrorCode::ALL.iter().map(|code| code.as_str()));
        codes.sort_unstable();
        codes.dedup();
        codes
    }
}

impl From<ApiCode> for ProblemCode {
    fn from(code: ApiCode) -> ProblemCode {
        ProblemCode::Api(code)
    }
}

impl From<ErrorCode> for ProblemCode {
    fn from(code: ErrorCode) -> ProblemCode {
        ProblemCode::Media(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kebab_case_unique_and_apart_from_the_engines() {
        let mut seen = std::collections::HashSet::new();
        for code in ApiCode::ALL {
            let text = code.as_str();
            assert!(
                text.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{text}"
            );
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.parse::<ErrorCode>().is_err(),
                "{text} is the engine's too"
            );
        }
        assert_eq!(
            ProblemCode::all().len(),
            ApiCode::ALL.len() + ErrorCode::ALL.len()
        );
    }
}
