-- Uploads straight to the bucket (POST /v1/direct-uploads): a multipart upload of
-- `sources/{id}` whose parts the client PUTs to presigned URLs, so that the bytes never cross
-- an API node; `POST /v1/direct-uploads/{id}/complete` joins them and makes the video.
CREATE TABLE direct_uploads (
    id uuid PRIMARY KEY,
    key text NOT NULL,
    multipart_id text NOT NULL,
    length bigint NOT NULL CHECK (length > 0),
    part_bytes bigint NOT NULL CHECK (part_bytes > 0),
    filename text,
    -- A request completing it holds it until then: one completion at a time.
    completing_until timestamptz,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX direct_uploads_expiry ON direct_uploads (expires_at);
