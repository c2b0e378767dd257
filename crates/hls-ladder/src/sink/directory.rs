//! A sink that writes the HLS tree into a local directory (used by the `convert` command).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::objects::{FileObject, HlsObject, ObjectKind};
use super::sink_trait::{Sink, SinkError};

/// Writes every object under a root directory, creating rendition folders as needed.
///
/// Playlists are written to a temporary name and renamed into place, so a reader never sees
/// half a playlist.
#[derive(Debug)]
pub struct DirectorySink {
    root: PathBuf,
}

impl DirectorySink {
    /// A sink writing under `root`, which is created if missing.
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<DirectorySink> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(DirectorySink { root })
    }

    /// The output directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Sink for DirectorySink {
    fn put(&mut self, object: HlsObject) -> Result<(), SinkError> {
        let path = self.root.join(&object.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        match object.kind {
            ObjectKind::Segment { .. } => fs::write(&path, &object.bytes)?,
            _ => {
                let partial = path.with_extension("m3u8.partial");
                let mut file = fs::File::create(&partial)?;
                file.write_all(&object.bytes)?;
                file.sync_all()?;
                fs::rename(&partial, &path)?;
            }
        }
        Ok(())
    }

    /// Copies the file in (under a temporary name, renamed into place), never through memory.
    fn put_file(&mut self, object: FileObject<'_>) -> Result<(), SinkError> {
        let path = self.root.join(&object.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let partial = path.with_extension("partial");
        fs::copy(object.file, &partial)?;
        fs::rename(&partial, &path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_land_under_the_root_with_their_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = DirectorySink::new(dir.path().join("out")).unwrap();
        let segment = HlsObject {
            path: "360p/segment_00001.ts".into(),
            bytes: vec![0x47; 188],
            kind: ObjectKind::Segment {
                rendition: "360p".into(),
                sequence: 1,
                duration: 6.0,
            },
        };
        let master = HlsObject {
            path: "master.m3u8".into(),
            bytes: b"#EXTM3U\n".to_vec(),
            kind: ObjectKind::MasterPlaylist { growing: false },
        };
        sink.put(segment).unwrap();
        sink.put(master).unwrap();
        assert_eq!(
            fs::read(dir.path().join("out/360p/segment_00001.ts"))
                .unwrap()
                .len(),
            188
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("out/master.m3u8")).unwrap(),
            "#EXTM3U\n"
        );
        assert!(!dir.path().join("out/master.m3u8.partial").exists());
    }
}
