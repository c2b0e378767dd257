-- Live events and webhooks. Both are written by triggers, in the transaction that changes a
-- video, whichever code path changed it: a NOTIFY for the API processes that stream events
-- (Server-Sent Events), and a row in the webhook outbox when a video reaches a final status.

-- Grows by one on every change a client can see (status, progress, outcome); the id of the
-- Server-Sent Events, so a client reconnecting with Last-Event-ID can tell what it missed.
ALTER TABLE videos ADD COLUMN version bigint NOT NULL DEFAULT 1;

CREATE FUNCTION videos_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status
       OR NEW.progress IS DISTINCT FROM OLD.progress
       OR NEW.playback_url IS DISTINCT FROM OLD.playback_url
       OR NEW.error_code IS DISTINCT FROM OLD.error_code
       OR NEW.error_message IS DISTINCT FROM OLD.error_message THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER videos_version BEFORE UPDATE ON videos
    FOR EACH ROW EXECUTE FUNCTION videos_bump_version();

-- Something that happened to a video, for a webhook; one row per final status reached.
CREATE TABLE webhook_events (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    video_id    uuid NOT NULL,
    -- `video.completed`, `video.failed` or `video.canceled`.
    type        text NOT NULL,
    -- The row as it was at that moment (to_jsonb of `videos`): the body is made from it.
    video       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Whether a dispatcher has made its deliveries, one per configured endpoint.
    fanned_out  boolean NOT NULL DEFAULT false
);
CREATE INDEX webhook_events_new ON webhook_events (created_at) WHERE NOT fanned_out;

-- One event to one endpoint: the outbox entry a dispatcher sends, retries and records.
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    video_id         uuid NOT NULL,
    event_type       text NOT NULL,
    endpoint         text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    -- Attempts so far, and how many it may have (a replay allows more).
    attempts         integer NOT NULL DEFAULT 0,
    attempts_allowed integer NOT NULL,
    -- When it is due; while an attempt runs, when that attempt counts as lost (a crash).
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_newest ON webhook_deliveries (created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_video ON webhook_deliveries (video_id, created_at DESC);

-- Every attempt of a delivery, as the API shows it.
CREATE TABLE webhook_attempts (
    delivery_id  uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      integer NOT NULL,
    started_at   timestamptz NOT NULL,
    duration_ms  double precision NOT NULL,
    -- The receiver's HTTP status; NULL when there was no answer (see error).
    status_code  integer,
    error        text,
    PRIMARY KEY (delivery_id, attempt)
);

CREATE FUNCTION videos_announce() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('hls_transcoder_video_events',
                          json_build_object('id', OLD.id, 'kind', 'deleted')::text);
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.version = OLD.version THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status
       AND NEW.playback_url IS NOT DISTINCT FROM OLD.playback_url
       AND NEW.error_code IS NOT DISTINCT FROM OLD.error_code
       AND NEW.error_message IS NOT DISTINCT FROM OLD.error_message THEN
        kind := 'progress';
    ELSE
        kind := 'status';
    END IF;
    -- Progress travels in the notification (it is small); a status change is read back.
    PERFORM pg_notify('hls_transcoder_video_events', json_build_object(
        'id', NEW.id, 'kind', kind, 'version', NEW.version, 'status', NEW.status,
        'progress', CASE WHEN kind = 'progress' THEN NEW.progress END)::text);
    IF TG_OP = 'UPDATE' AND NEW.status IS DISTINCT FROM OLD.status
       AND NEW.status IN ('completed', 'failed', 'canceled') THEN
        INSERT INTO webhook_events (video_id, type, video)
        VALUES (NEW.id, 'video.' || NEW.status, to_jsonb(NEW));
        PERFORM pg_notify('hls_transcoder_webhooks', NEW.id::text);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER videos_announce AFTER INSERT OR UPDATE OR DELETE ON videos
    FOR EACH ROW EXECUTE FUNCTION videos_announce();
