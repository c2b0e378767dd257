//! Integration tests of the engine: real fixtures converted through libav, the output checked
//! by `ffprobe`/`ffmpeg` as an independent client.

mod audio_tracks;
mod bad_input;
mod broken_timestamps;
mod captions;
mod conversions;
mod downloads;
mod formats;
mod fuzz;
mod helpers;
mod hostile_containers;
mod library_api;
mod limits_while_decoding;
#[path = "../support/playlist_text.rs"]
mod playlist_text;
mod progressive;
mod resume;
mod skipped_frames;
mod stills;
#[path = "../support/synthetic_clip.rs"]
mod synthetic_clip;
mod timestamp_faults;
