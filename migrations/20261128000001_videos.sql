-- Every uploaded video and its conversion job: the row is the queue entry.
CREATE TABLE videos (
    id                uuid PRIMARY KEY,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'canceled')),
    -- What the client sent; kept as metadata only, never used in a path or a key.
    original_filename text,
    content_type      text,
    source_bytes      bigint NOT NULL,
    -- Facts from probing the upload (hls_transcoder::SourceInfo as JSON).
    source            jsonb NOT NULL,
    -- Latest per-frame progress (hls_transcoder::Progress as JSON), throttled.
    progress          jsonb,
    -- When completed: the renditions (hls_transcoder::RenditionReport as JSON) and the URL.
    renditions        jsonb,
    playback_url      text,
    duration_seconds  double precision,
    output_bytes      bigint,
    error_code        text,
    error_message     text,
    -- The job: attempts so far, the limit, and the lease of the worker running it.
    attempts          integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL DEFAULT 3,
    lease_owner       uuid,
    lease_expires_at  timestamptz,
    cancel_requested  boolean NOT NULL DEFAULT false,
    -- A job put back after a failure waits until then (backoff).
    run_after         timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz
);

-- Claiming: the oldest pending job, or a processing one whose lease ran out.
CREATE INDEX videos_claimable ON videos (created_at) WHERE status IN ('pending', 'processing');
-- Listing: newest first, keyset pagination on (created_at, id).
CREATE INDEX videos_newest ON videos (created_at DESC, id DESC);
CREATE INDEX videos_status_newest ON videos (status, created_at DESC, id DESC);
