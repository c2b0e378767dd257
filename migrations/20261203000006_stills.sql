-- The poster and storyboard a completed conversion published (hls_ladder::StillsReport:
-- their paths relative to the output prefix, sizes and the storyboard's tiles); NULL when the
-- video has none (converted before stills, or with STILLS=false).
ALTER TABLE videos ADD COLUMN stills jsonb;
