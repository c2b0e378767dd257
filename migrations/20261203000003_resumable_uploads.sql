-- Resumable uploads (tus 1.0 at /v1/uploads): an upload in progress, before it is a video.
-- Its bytes are in the bucket (a multipart upload of `sources/{id}` and a tail object, see
-- src/service/upload_parts.rs), so that a request to any API node continues it; this row
-- says how far it got. The id becomes the video's when the last byte has come.
CREATE TABLE resumable_uploads (
    id uuid PRIMARY KEY,
    length bigint NOT NULL CHECK (length > 0),
    -- Upload-Metadata as the client sent it (HEAD returns it), and the file name in it.
    metadata text,
    filename text,
    -- hls_ladder::service::upload_parts::StoredUpload as JSON.
    stored jsonb NOT NULL,
    -- The request appending to it now, and when it last said so: one at a time.
    writer uuid,
    writer_seen_at timestamptz,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX resumable_uploads_expiry ON resumable_uploads (expires_at);
