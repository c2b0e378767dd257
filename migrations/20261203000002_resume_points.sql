-- Resuming a conversion where it stopped: the point the last claim of a job reached (every
-- rendition's published segments, and what a new attempt needs to continue after them).
-- A worker-side record, not part of the video clients see: kept apart from `videos`, so it
-- never travels in events or webhook payloads.
CREATE TABLE resume_points (
    video_id uuid PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
    -- The claim that published the point's own segments (under `videos/{id}/{claim}/`).
    claim bigint NOT NULL,
    -- hls_ladder::ResumePoint as JSON.
    point jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- What the completed conversion kept of earlier attempts: how many segments of each rendition
-- (NULL: converted from the first frame), and why it did not resume when it could not.
ALTER TABLE videos ADD COLUMN resumed_from_segment bigint, ADD COLUMN resume_refused text;
