//! The `hls-ladder` command: `convert` and `probe` run the engine, `serve` the service and
//! `healthcheck` asks a running one.
//!
//! Parses arguments, runs the engine or the service, prints results; all media work lives in
//! the engine.

mod progress_display;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::probe_protocol::{ProbeFailure, exit_code};
use crate::units::Resolution;
use hls_ladder::{ConvertOptions, DirectorySink, Error, Preset, Rung, SourceLimits};
use progress_display::ProgressDisplay;

/// Command-line interface of `hls-ladder`.
#[derive(Debug, Parser)]
#[command(
    name = "hls-ladder",
    version,
    about = "Convert videos to HLS in-process through libav"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert INPUT into an HLS ladder under OUTDIR (OUTDIR/master.m3u8 and one folder per rendition).
    Convert(ConvertArgs),
    /// Print, as JSON, what `convert` would produce for INPUT, without encoding.
    Probe(ProbeArgs),
    /// Run the service: upload API, PostgreSQL job queue, workers, S3 publishing.
    Serve(Box<crate::config::ServeConfig>),
    /// Ask a running service's /healthz (for container health checks): exit 0 when it
    /// answers 200, 1 otherwise.
    Healthcheck(crate::health_probe::HealthcheckArgs),
}

#[derive(Debug, Args)]
struct EncodingArgs {
    /// Target segment duration in seconds.
    #[arg(long, default_value_t = 6.0)]
    segment_seconds: f64,
    /// The first segment's duration in seconds, shorter so that players start sooner
    /// (--segment-seconds or more for none).
    #[arg(long, default_value_t = 2.0)]
    first_segment_seconds: f64,
    /// Rungs as short-side heights, optionally with a bitrate in kb/s: `1080,720:2500,480`.
    /// Rungs above the source are dropped.
    #[arg(long, value_delimiter = ',', default_value = "2160,1440,1080,720,480,360", value_parser = str::parse::<Rung>)]
    rungs: Vec<Rung>,
    /// The largest rendition's short side (e.g. 1080: no 1440p or 4K).
    #[arg(long)]
    max_output_height: Option<u32>,
    /// x264 preset: ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow.
    #[arg(long, default_value = "veryfast")]
    preset: Preset,
    /// AAC bitrate in kb/s.
    #[arg(long, default_value_t = 128)]
    audio_kbps: u32,
}

/// The largest input accepted; the defaults are [`SourceLimits::default`]'s.
#[derive(Debug, Args)]
struct LimitArgs {
    /// Longest input accepted, in seconds.
    #[arg(long, default_value_t = 14400.0)]
    max_duration_seconds: f64,
    /// Largest picture accepted, WIDTHxHEIGHT, in either orientation.
    #[arg(long, default_value = "7680x4320")]
    max_resolution: Resolution,
    /// Most video frames accepted.
    #[arg(long, default_value_t = 1_000_000)]
    max_frames: u64,
}

impl LimitArgs {
    fn limits(&self) -> SourceLimits {
        SourceLimits {
            max_duration_seconds: self.max_duration_seconds,
            max_width: self.max_resolution.width,
            max_height: self.max_resolution.height,
            max_frames: self.max_frames,
        }
    }
}

#[derive(Debug, Args)]
struct ConvertArgs {
    /// The video file to convert.
    input: PathBuf,
    /// Where to write the HLS files (created if missing).
    outdir: PathBuf,
    #[command(flatten)]
    encoding: EncodingArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// Print the conversion report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Write growing playlists while converting (a player can start once every rendition has
    /// its first segment); the final ones replace them at the end.
    #[arg(long)]
    progressive: bool,
    /// Make no poster and no storyboard.
    #[arg(long)]
    no_stills: bool,
    /// Also write OUTDIR/download/{rendition}.mp4: a progressive MP4 (faststart) of the
    /// rendition up to 1080p, from the same encoded packets.
    #[arg(long)]
    mp4_download: bool,
}

#[derive(Debug, Args)]
struct ProbeArgs {
    /// The video file to describe.
    input: PathBuf,
    /// On failure, print `{"code": ..., "message": ...}` on stdout (for a parent process).
    #[arg(long)]
    error_json: bool,
    #[command(flatten)]
    encoding: EncodingArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// Address space this process may use, in bytes (RLIMIT_AS), set before the input is
    /// opened: an input that needs more is refused as `input-too-demanding`.
    #[arg(long)]
    memory_limit: Option<u64>,
    /// CPU seconds this process may use (RLIMIT_CPU), set before the input is opened.
    #[arg(long)]
    cpu_seconds: Option<u64>,
}

impl EncodingArgs {
    fn options(&self) -> ConvertOptions {
        ConvertOptions {
            segment_seconds: self.segment_seconds,
            first_segment_seconds: self.first_segment_seconds,
            ladder: self.rungs.clone(),
            max_output_height: self.max_output_height,
            preset: self.preset,
            audio_bitrate: self.audio_kbps.saturating_mul(1000),
            ..ConvertOptions::default()
        }
    }
}

/// Runs the command line and returns the process exit code: 0 on success, 65 when the input
/// is bad (not a video, corrupt, unsupported), 1 for any other failure, 2 for usage errors.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(args) => {
            init_logging(false, "warn");
            run_convert(args)
        }
        Command::Probe(args) => {
            init_logging(false, "warn");
            run_probe(args)
        }
        Command::Serve(config) => {
            let json = config.log_format == crate::config::LogFormat::Json;
            init_logging(json, "info");
            return match run_serve(*config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Healthcheck(args) => return run_healthcheck(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(exit_code(&error))
        }
    }
}

/// Logs to stderr, as JSON lines or as text; `RUST_LOG` overrides `default_filter`.
fn init_logging(json: bool, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| default_filter.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init()
    } else {
        builder.init()
    }
}

fn run_serve(config: crate::config::ServeConfig) -> anyhow::Result<()> {
    use anyhow::Context;
    let runtime = tokio::runtime::Runtime::new().context("Failed to start the async runtime")?;
    runtime.block_on(async {
        tracing::info!(config = ?config, "starting");
        let app = crate::server::Application::build(config).await?;
        app.run_until(crate::server::shutdown_signal()).await
    })
}

fn run_healthcheck(args: &crate::health_probe::HealthcheckArgs) -> ExitCode {
    let timeout = std::time::Duration::from_secs_f64(args.timeout_seconds);
    let checked = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(crate::health_probe::check(args.listen, timeout)));
    match checked {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("unhealthy: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_convert(args: ConvertArgs) -> Result<(), Error> {
    let options = ConvertOptions {
        limits: args.limits.limits(),
        progressive: args.progressive,
        stills: !args.no_stills,
        mp4_download: args.mp4_download,
        ..args.encoding.options()
    };
    options.validate()?;
    let sink = DirectorySink::new(&args.outdir).map_err(|source| Error::Input {
        path: args.outdir.clone(),
        source,
    })?;
    let mut display = ProgressDisplay::new();
    let report = hls_ladder::convert(&args.input, &options, sink, |p| display.update(p))?;
    display.finish();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serialises")
        );
    } else {
        for r in &report.renditions {
            println!(
                "{:>6} {:>4}x{:<4} {:>3} segments {:>9} bytes  {:>6} kb/s avg  {}",
                r.rendition.name,
                r.rendition.width,
                r.rendition.height,
                r.segments,
                r.bytes,
                r.average_bandwidth / 1000,
                r.codecs.join(",")
            );
        }
        println!("{}", args.outdir.join(&report.master_playlist).display());
    }
    Ok(())
}

fn run_probe(args: ProbeArgs) -> Result<(), Error> {
    let options = ConvertOptions {
        limits: args.limits.limits(),
        ..args.encoding.options()
    };
    confine(&args)?;
    let plan = hls_ladder::plan(&args.input, &options);
    // Out of memory under our own cap: the input demands more than a probe may use.
    let plan = match (plan, args.memory_limit) {
        (Err(error), Some(limit)) if error.is_out_of_memory() => Err(Error::LimitExceeded {
            limit: hls_ladder::Limit::Memory,
            reason: format!(
                "reading it needs more than the {limit} bytes of memory a probe may use"
            ),
        }),
        (plan, _) => plan,
    };
    let plan = plan.inspect_err(|error| {
        if args.error_json {
            let failure = serde_json::to_string(&ProbeFailure::of(error)).expect("serialises");
            println!("{failure}");
        }
    })?;
    println!(
        "{}",
        serde_json::to_string_pretty(&plan).expect("plan serialises")
    );
    Ok(())
}

/// Applies `--memory-limit` and `--cpu-seconds` to this process, and keeps it from writing a
/// core file, before any input is read.
fn confine(args: &ProbeArgs) -> Result<(), Error> {
    use rlimit::Resource;
    let failed = |source: std::io::Error| Error::Input {
        path: "(resource limits)".into(),
        source,
    };
    if args.memory_limit.is_none() && args.cpu_seconds.is_none() {
        return Ok(());
    }
    Resource::CORE.set(0, 0).map_err(failed)?;
    if let Some(bytes) = args.memory_limit {
        Resource::AS.set(bytes, bytes).map_err(failed)?;
    }
    if let Some(seconds) = args.cpu_seconds {
        // SIGXCPU at the soft limit, SIGKILL a second later.
        Resource::CPU.set(seconds, seconds + 1).map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_parses_the_documented_convert_form() {
        let cli = Cli::try_parse_from([
            "hls-ladder",
            "convert",
            "in.mp4",
            "out",
            "--segment-seconds",
            "4",
            "--rungs",
            "720,480",
            "--preset",
            "fast",
        ])
        .unwrap();
        let Command::Convert(args) = cli.command else {
            panic!("not convert")
        };
        let options = args.encoding.options();
        assert_eq!(options.segment_seconds, 4.0);
        assert_eq!(
            options.ladder.iter().map(|r| r.height).collect::<Vec<_>>(),
            [720, 480]
        );
        assert_eq!(options.preset, Preset::Fast);
        assert_eq!(args.limits.limits(), SourceLimits::default());
    }

    #[test]
    fn limits_are_flags_of_probe_and_convert() {
        let cli = Cli::try_parse_from([
            "hls-ladder",
            "probe",
            "in.mp4",
            "--max-duration-seconds",
            "60",
            "--max-resolution",
            "1920x1080",
            "--max-frames",
            "5000",
        ])
        .unwrap();
        let Command::Probe(args) = cli.command else {
            panic!("not probe")
        };
        let limits = args.limits.limits();
        assert_eq!(limits.max_duration_seconds, 60.0);
        assert_eq!((limits.max_width, limits.max_height), (1920, 1080));
        assert_eq!(limits.max_frames, 5000);
    }
}
