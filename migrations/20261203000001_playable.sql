-- Progressive publishing: a video can be played while it is still converting, from the moment
-- every rendition has its first segment and the master playlist is published.

-- When it could first be played; with `playback_url` set while `processing`.
ALTER TABLE videos ADD COLUMN playable_at timestamptz;

-- What a claim published goes with it: when a job goes back to the queue, is claimed again
-- (another worker, after a lost lease), fails or is canceled, its output is removed, so the
-- row no longer points at it. Written as a trigger so that every code path does it.
CREATE FUNCTION videos_forget_unfinished_output() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'completed'
       AND (NEW.status IS DISTINCT FROM OLD.status OR NEW.claims IS DISTINCT FROM OLD.claims) THEN
        NEW.playable_at := NULL;
        NEW.playback_url := NULL;
    END IF;
    RETURN NEW;
END $$;

-- BEFORE triggers run in name order: this one before `videos_version` counts the change.
CREATE TRIGGER videos_forget_output BEFORE UPDATE ON videos
    FOR EACH ROW EXECUTE FUNCTION videos_forget_unfinished_output();

CREATE OR REPLACE FUNCTION videos_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status
       OR NEW.progress IS DISTINCT FROM OLD.progress
       OR NEW.playback_url IS DISTINCT FROM OLD.playback_url
       OR NEW.playable_at IS DISTINCT FROM OLD.playable_at
       OR NEW.error_code IS DISTINCT FROM OLD.error_code
       OR NEW.error_message IS DISTINCT FROM OLD.error_message THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END $$;

-- As before, and: a video that becomes playable while converting is announced as `playable`
-- (an event stream's `playable` event) and gets a `video.playable` webhook.
CREATE OR REPLACE FUNCTION videos_announce() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text;
    became_playable boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('hls_transcoder_video_events',
                          json_build_object('id', OLD.id, 'kind', 'deleted')::text);
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.version = OLD.version THEN
        RETURN NEW;
    END IF;
    became_playable := TG_OP = 'UPDATE' AND NEW.status = 'processing'
        AND NEW.playable_at IS NOT NULL AND OLD.playable_at IS NULL;
    IF became_playable THEN
        kind := 'playable';
    ELSIF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status
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
    IF became_playable
       OR (TG_OP = 'UPDATE' AND NEW.status IS DISTINCT FROM OLD.status
           AND NEW.status IN ('completed', 'failed', 'canceled')) THEN
        INSERT INTO webhook_events (video_id, type, video)
        VALUES (NEW.id, CASE WHEN became_playable THEN 'video.playable' ELSE 'video.' || NEW.status END,
                to_jsonb(NEW));
        PERFORM pg_notify('hls_transcoder_webhooks', NEW.id::text);
    END IF;
    RETURN NEW;
END $$;
