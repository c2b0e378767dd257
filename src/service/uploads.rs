//! Where an upload waits on this server until its conversion ends: one file per video in the
//! upload directory, named by the server-made id only (never by anything a client sent).

use std::path::{Path, PathBuf};

use uuid::Uuid;

/// The file an upload of video `id` is kept in, under `dir`.
pub fn upload_path(dir: &Path, id: Uuid) -> PathBuf {
    dir.join(format!("{id}.upload"))
}
