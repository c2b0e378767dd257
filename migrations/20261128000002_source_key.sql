-- Where the upload waits when the API and the workers run on different machines: the S3 key
-- of the staged source (`sources/{id}`). NULL: in the upload directory of the process that
-- took the upload (`--role all`).
ALTER TABLE videos ADD COLUMN source_key text;
