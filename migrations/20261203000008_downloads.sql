-- MP4 downloads (issue 15, part 4). `mp4_download`: asked for with the upload
-- (`POST /v1/videos?mp4_download=true`); NULL means the server's default (MP4_DOWNLOAD).
-- `downloads`: what a completed conversion published (hls_ladder::DownloadReport: rendition,
-- path relative to the output prefix, bytes); NULL for videos completed without one.
ALTER TABLE videos ADD COLUMN mp4_download boolean;
ALTER TABLE videos ADD COLUMN downloads jsonb;
