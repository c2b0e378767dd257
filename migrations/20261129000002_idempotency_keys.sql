-- POST /v1/videos with an `Idempotency-Key` header: the video a client's key made, so that a
-- client retrying after a dropped connection gets that video instead of a second conversion.
-- Scoped by client (the digest of its API key, else of its address); kept a day.
CREATE TABLE idempotency_keys (
    client      bytea NOT NULL,
    key         text NOT NULL,
    video_id    uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
