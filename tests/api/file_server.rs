//! A file server on loopback for the import tests: serves a file whole, chunked, slowly or
//! not at all, redirects, fails on demand, and counts what it was asked.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

struct Shared {
    file: Bytes,
    requests: AtomicUsize,
    /// Requests to `/flaky` that fail before one succeeds.
    flaky_failures: AtomicUsize,
    /// Bodies being sent whose client went away before the end.
    cut_short: AtomicUsize,
}

/// Serves `file` on 127.0.0.1 at a free port:
/// - `/file.mp4`: whole, with its Content-Length;
/// - `/chunked.mp4`: whole, chunked (no length);
/// - `/slow.mp4?seconds=S`: whole, spread over S seconds (chunked);
/// - `/stall.mp4`: the headers, then nothing;
/// - `/redirect?to=URL`: a 302 to URL;
/// - `/hops/{n}`: n redirects, then the file;
/// - `/status/{code}`: that status;
/// - `/flaky.mp4`: 500 for the first [`FileServer::fail_next`] requests, then the file.
pub struct FileServer {
    pub address: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FileServer {
    pub async fn start(file: Vec<u8>) -> FileServer {
        FileServer::start_on("127.0.0.1:0", file).await
    }

    pub async fn start_on(listen: &str, file: Vec<u8>) -> FileServer {
        let shared = Arc::new(Shared {
            file: Bytes::from(file),
            requests: AtomicUsize::new(0),
            flaky_failures: AtomicUsize::new(0),
            cut_short: AtomicUsize::new(0),
        });
        let routes = Router::new()
            .route("/file.mp4", get(whole))
            .route("/chunked.mp4", get(chunked))
            .route("/slow.mp4", get(slow))
            .route("/stall.mp4", get(stall))
            .route("/redirect", get(redirect))
            .route("/hops/{n}", get(hops))
            .route("/status/{code}", get(status))
            .route("/flaky.mp4", get(flaky))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind(listen).await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, routes).await.unwrap();
        });
        FileServer {
            address,
            shared,
            task,
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Bodies whose client went away before the end.
    pub fn cut_short(&self) -> usize {
        self.shared.cut_short.load(Ordering::SeqCst)
    }

    /// The next `n` requests to `/flaky.mp4` get 500.
    pub fn fail_next(&self, n: usize) {
        self.shared.flaky_failures.store(n, Ordering::SeqCst);
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn count(shared: &Shared) {
    shared.requests.fetch_add(1, Ordering::SeqCst);
}

async fn whole(State(shared): State<Arc<Shared>>) -> Response {
    count(&shared);
    ([(header::CONTENT_TYPE, "video/mp4")], shared.file.clone()).into_response()
}

/// Counts a body as cut short when dropped before its end.
struct Watch {
    shared: Arc<Shared>,
    ended: bool,
}

impl Watch {
    /// The whole body was sent.
    fn finish(mut self) {
        self.ended = true;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if !self.ended {
            self.shared.cut_short.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Sends the file in `pieces` chunks, `pause` apart.
fn paced(shared: Arc<Shared>, pieces: usize, pause: Duration) -> Body {
    let file = shared.file.clone();
    let size = file.len().div_ceil(pieces.max(1)).max(1);
    let watch = Watch {
        shared,
        ended: false,
    };
    let stream = futures_util::stream::unfold((0usize, watch), move |(at, watch)| {
        let file = file.clone();
        async move {
            if at >= file.len() {
                watch.finish();
                return None;
            }
            if at > 0 {
                tokio::time::sleep(pause).await;
            }
            let end = (at + size).min(file.len());
            Some((Ok::<_, std::io::Error>(file.slice(at..end)), (end, watch)))
        }
    });
    Body::from_stream(stream)
}

async fn chunked(State(shared): State<Arc<Shared>>) -> Response {
    count(&shared);
    let body = paced(Arc::clone(&shared), 16, Duration::ZERO);
    ([(header::CONTENT_TYPE, "video/mp4")], body).into_response()
}

#[derive(serde::Deserialize)]
struct SlowQuery {
    seconds: f64,
}

async fn slow(State(shared): State<Arc<Shared>>, Query(query): Query<SlowQuery>) -> Response {
    count(&shared);
    let pieces = 40;
    let pause = Duration::from_secs_f64(query.seconds / pieces as f64);
    let body = paced(Arc::clone(&shared), pieces, pause);
    ([(header::CONTENT_TYPE, "video/mp4")], body).into_response()
}

async fn stall(State(shared): State<Arc<Shared>>) -> Response {
    count(&shared);
    let stream = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
    (
        [(header::CONTENT_TYPE, "video/mp4")],
        Body::from_stream(stream),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct RedirectQuery {
    to: String,
}

async fn redirect(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<RedirectQuery>,
) -> Response {
    count(&shared);
    Redirect::temporary(&query.to).into_response()
}

async fn hops(State(shared): State<Arc<Shared>>, Path(n): Path<u32>) -> Response {
    count(&shared);
    if n == 0 {
        return ([(header::CONTENT_TYPE, "video/mp4")], shared.file.clone()).into_response();
    }
    Redirect::temporary(&format!("/hops/{}", n - 1)).into_response()
}

async fn status(State(shared): State<Arc<Shared>>, Path(code): Path<u16>) -> Response {
    count(&shared);
    (StatusCode::from_u16(code).unwrap(), "no such file here").into_response()
}

async fn flaky(State(shared): State<Arc<Shared>>) -> Response {
    count(&shared);
    let failing = shared
        .flaky_failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return (StatusCode::INTERNAL_SERVER_ERROR, "try later").into_response();
    }
    ([(header::CONTENT_TYPE, "video/mp4")], shared.file.clone()).into_response()
}
