//! A sink that keeps everything in memory, in the order it arrived (for tests and embedding).

use super::objects::HlsObject;
use super::sink_trait::{Sink, SinkError};
use crate::resume::ResumePoint;

/// Collects every object in arrival order.
#[derive(Debug, Default)]
pub struct MemorySink {
    /// The objects, in the order the conversion published them.
    pub objects: Vec<HlsObject>,
    /// The resume points the conversion offered, in order.
    pub resume_points: Vec<ResumePoint>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// The object at `path`, if it was published: its last version (a growing playlist is
    /// published more than once).
    pub fn get(&self, path: &str) -> Option<&HlsObject> {
        self.objects.iter().rev().find(|o| o.path == path)
    }
}

impl Sink for MemorySink {
    fn put(&mut self, object: HlsObject) -> Result<(), SinkError> {
        self.objects.push(object);
        Ok(())
    }

    fn resume_point(&mut self, point: &ResumePoint) -> Result<(), SinkError> {
        self.resume_points.push(point.clone());
        Ok(())
    }
}
