//! Converts a video into an HLS ladder in a directory, with a progress bar.
//!
//! ```text
//! cargo run --example convert_with_progress -- input.mp4 out/
//! ```
//!
//! Uses only the engine (a plain `hls-ladder` dependency) and `indicatif` for
//! the bar. The frame count the bar runs to comes from [`hls_ladder::plan`], which reads the
//! input's header without encoding; the progress callback then reports every decoded frame.

use std::error::Error;
use std::path::PathBuf;

use hls_ladder::{ConvertOptions, DirectorySink, Progress, convert, plan};
use indicatif::{ProgressBar, ProgressStyle};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        eprintln!("usage: convert_with_progress INPUT OUTDIR");
        std::process::exit(2);
    };
    let (input, output) = (PathBuf::from(input), PathBuf::from(output));
    let options = ConvertOptions::default();

    // What will be produced, before any encoding: a bad input fails here, in milliseconds.
    let planned = plan(&input, &options)?;
    for rendition in &planned.renditions {
        println!(
            "{} {}x{}",
            rendition.rendition.name, rendition.rendition.width, rendition.rendition.height
        );
    }

    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40.cyan/blue} {pos}/{len} frames {percent}% {msg}",
    )?);
    let report = convert(
        &input,
        &options,
        DirectorySink::new(&output)?,
        |p: &Progress| {
            // The expected count can grow past the header's estimate (a file that lied about its
            // length), so the bar's length follows it.
            bar.set_length(
                p.frames_expected
                    .unwrap_or(p.frames_done)
                    .max(p.frames_done),
            );
            bar.set_position(p.frames_done);
            bar.set_message(format!("{:.0} fps, {:.1}x realtime", p.fps, p.speed));
        },
    )?;
    bar.finish();

    for rendition in &report.renditions {
        println!(
            "{}: {} segments, {} bytes, {} kb/s",
            rendition.rendition.name,
            rendition.segments,
            rendition.bytes,
            rendition.average_bandwidth / 1000
        );
    }
    println!("{}", output.join(&report.master_playlist).display());
    Ok(())
}
