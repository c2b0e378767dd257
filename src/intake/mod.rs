//! Taking uploads in, whichever way they come (a POST, tus, straight to the bucket, a URL
//! import): examining the file in a child process and holding it to the source limits
//! ([`Intake`]), the probe's runner ([`ProbeRunner`]) and the rules for the client's file name
//! ([`sanitize_filename`]). It answers with domain errors ([`IntakeError`]): the API maps them
//! to HTTP, the import pool to an import's outcome; it knows neither.

mod examine;
mod file_names;
mod intake_error;
mod probe_runner;

pub use examine::Intake;
pub use file_names::{MAX_FILENAME_CHARS, sanitize_filename};
pub use intake_error::IntakeError;
pub use probe_runner::ProbeRunner;
