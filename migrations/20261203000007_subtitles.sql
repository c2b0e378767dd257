-- The subtitle renditions a completed conversion published (hls_ladder::SubtitleReport:
-- name, language, playlist path relative to the output prefix, cue count, default, forced);
-- NULL for videos completed before subtitles were made.
ALTER TABLE videos ADD COLUMN subtitles jsonb;
