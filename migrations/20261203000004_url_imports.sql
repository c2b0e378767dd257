-- Imports from a URL (POST /v1/videos with {"url": ...}): the video exists from the request
-- on, as `importing`, with no probe facts yet; an import pool on the API nodes downloads it,
-- probes it, and makes it `pending` (or `failed` with an import-* code). The node
-- downloading it holds a lease, so that after a crash another node (or the same one,
-- restarted) starts the download again.
ALTER TABLE videos DROP CONSTRAINT videos_status_check;
ALTER TABLE videos ADD CONSTRAINT videos_status_check
    CHECK (status IN ('importing', 'pending', 'processing', 'completed', 'failed', 'canceled'));
ALTER TABLE videos ALTER COLUMN source DROP NOT NULL;
ALTER TABLE videos ADD COLUMN import_url text;
ALTER TABLE videos ADD COLUMN import_owner uuid;
ALTER TABLE videos ADD COLUMN import_lease_until timestamptz;
ALTER TABLE videos ADD COLUMN import_attempts integer NOT NULL DEFAULT 0;

CREATE INDEX videos_importing ON videos (created_at) WHERE status = 'importing';
