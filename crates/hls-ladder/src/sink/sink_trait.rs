//! The [`Sink`] trait: what receives a conversion's output, in publishing order.

use super::objects::{FileObject, HlsObject};
use crate::resume::ResumePoint;

/// The error a sink reports; any error type will do.
pub type SinkError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Receives the HLS output of a conversion.
pub trait Sink {
    /// Stores one object. Called in publishing order on the thread that runs the conversion;
    /// an error stops the conversion.
    fn put(&mut self, object: HlsObject) -> Result<(), SinkError>;

    /// Stores a large object from a file (the MP4 download), which the conversion removes
    /// when this returns: a sink that stores in the background copies or uploads it before
    /// returning. The default reads the file into memory and calls [`Sink::put`]; sinks for
    /// large outputs stream it instead.
    fn put_file(&mut self, object: FileObject<'_>) -> Result<(), SinkError> {
        let bytes = std::fs::read(object.file)?;
        self.put(HlsObject {
            path: object.path,
            bytes,
            kind: object.kind,
        })
    }

    /// Called once after the master playlist was put: a sink that stores in the background
    /// waits here until everything is stored. The default does nothing.
    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Called each time every rendition has put more segments, with the point a later run
    /// can continue from ([`resume_with_cancel`](crate::resume_with_cancel)) should this one
    /// stop: keep the latest where that run will find it. The point names segments already
    /// put; a sink that stores in the background must keep it only once they are stored.
    /// The default ignores it.
    fn resume_point(&mut self, point: &ResumePoint) -> Result<(), SinkError> {
        let _ = point;
        Ok(())
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn put(&mut self, object: HlsObject) -> Result<(), SinkError> {
        (**self).put(object)
    }

    fn put_file(&mut self, object: FileObject<'_>) -> Result<(), SinkError> {
        (**self).put_file(object)
    }

    fn resume_point(&mut self, point: &ResumePoint) -> Result<(), SinkError> {
        (**self).resume_point(point)
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        (**self).finish()
    }
}
