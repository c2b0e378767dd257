//! Where finished HLS objects go: the [`Sink`] trait and the sinks the library ships.
//!
//! The conversion hands every object to the sink on the caller's thread, in publishing order:
//! each rendition's segments as they are produced, then each media playlist (after all of its
//! segments), then the master playlist last, so a published master never names a missing
//! object. A sink that uploads asynchronously can start uploads in `put` and wait for them in
//! [`Sink::finish`]; until `put` returns, the encoders wait (bounded memory). Such a sink
//! must keep the order where it matters: an object must be stored before a playlist put after
//! it, and a playlist before a later version of itself.
//!
//! With [`ConvertOptions::progressive`](crate::ConvertOptions), playlists also come while
//! the conversion runs, marked `growing`: each media playlist after every segment it gains
//! but those of the last moments (its last segment, and any finished when the conversion
//! expects to end within 1.5 s: the final playlist names them moments later), and the master
//! playlist once, when every rendition has a segment (the video is playable
//! from then on). The final playlists, `growing: false`, replace them at the end.

mod directory;
mod memory;
mod objects;
mod sink_trait;

pub use directory::DirectorySink;
pub use memory::MemorySink;
pub use objects::{FileObject, HlsObject, ObjectKind};
pub use sink_trait::{Sink, SinkError};
