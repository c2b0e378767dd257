//! Values as people write them on the command line and in the environment: sizes in bytes,
//! picture sizes, rates. Each parses itself (`FromStr`) and says what it expected.

mod byte_size;
mod resolution;
mod upload_rate;

pub use byte_size::ByteSize;
pub use resolution::Resolution;
pub use upload_rate::UploadRate;
