//! A custom [`Sink`]: publishes the ladder to an S3 bucket with the integrator's own AWS client,
//! uploading segments concurrently while the conversion goes on.
//!
//! ```text
//! AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
//! AWS_REGION=us-east-1 cargo run --example s3_sink -- input.mp4 my-bucket videos/first/
//! ```
//!
//! The engine calls [`Sink::put`] on its own (blocking) thread, in publishing order: segments
//! first, each media playlist after its segments, the master playlist last. This sink starts a
//! segment's upload and returns at once (at most [`IN_FLIGHT`] at a time, so memory stays
//! bounded), and before it uploads a playlist it waits for every upload started before it, so
//! a playlist never names an object that is not in the bucket yet.

use std::error::Error;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use hls_ladder::{ConvertOptions, HlsObject, Sink, SinkError, convert};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// Uploads under way at once; `put` waits for one to end when this many are running.
const IN_FLIGHT: usize = 4;

/// Publishes every object to `s3://{bucket}/{prefix}{path}`.
struct S3Sink {
    runtime: Runtime,
    client: Client,
    bucket: String,
    prefix: String,
    uploads: JoinSet<Result<(), SinkError>>,
}

impl S3Sink {
    /// Starts the upload of one object in the background.
    fn start_upload(&mut self, object: HlsObject) {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(format!("{}{}", self.prefix, object.path))
            .content_type(object.content_type())
            .body(ByteStream::from(object.bytes));
        self.uploads.spawn_on(
            async move {
                request.send().await?;
                Ok(())
            },
            self.runtime.handle(),
        );
    }

    /// Waits until at most `left` uploads are still running; the first failure is returned.
    fn wait_until(&mut self, left: usize) -> Result<(), SinkError> {
        while self.uploads.len() > left {
            let Some(done) = self.runtime.block_on(self.uploads.join_next()) else {
                break;
            };
            done??;
        }
        Ok(())
    }
}

impl Sink for S3Sink {
    fn put(&mut self, object: HlsObject) -> Result<(), SinkError> {
        let is_segment = matches!(object.kind, hls_ladder::ObjectKind::Segment { .. });
        if is_segment {
            self.wait_until(IN_FLIGHT - 1)?;
            self.start_upload(object);
            Ok(())
        } else {
            // A playlist: everything it names must be stored first.
            self.wait_until(0)?;
            self.start_upload(object);
            self.wait_until(0)
        }
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.wait_until(0)
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, bucket, prefix] = args.as_slice() else {
        eprintln!("usage: s3_sink INPUT BUCKET PREFIX");
        std::process::exit(2);
    };
    let runtime = Runtime::new()?;
    // Credentials, region and endpoint from the usual AWS environment and files; path-style
    // addressing so that S3-compatible stores (LocalStack, MinIO) work too.
    let shared = runtime.block_on(aws_config::load_from_env());
    let config = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(true)
        .build();
    let sink = S3Sink {
        runtime,
        client: Client::from_conf(config),
        bucket: bucket.clone(),
        prefix: prefix.clone(),
        uploads: JoinSet::new(),
    };
    let report = convert(input, &ConvertOptions::default(), sink, |_| {})?;
    println!("s3://{bucket}/{prefix}{}", report.master_playlist);
    Ok(())
}
