//! Serving HTTP/1.1 on the open internet: a cap on open connections and a time limit on
//! request headers, which `axum::serve` does not have.
//!
//! - At most `max_connections` are open at once: past that, the server stops accepting, and
//!   new connections wait in the kernel's queue instead of taking file descriptors.
//! - A client has `header_timeout` to send a request's headers, and a keep-alive connection
//!   waiting for its next request is closed after the same time, so idle or byte-at-a-time
//!   clients cannot hold connections. (Slow request *bodies* are the upload handler's to
//!   judge: it answers 408 and removes the partial file.)
//! - At shutdown the server stops accepting, idle connections close at once and requests in
//!   flight finish (the caller bounds how long it waits).
//! - A connection closed while its client may still be sending (an upload answered early:
//!   413, 415, 507) lingers, as Apache's and nginx's do: the answer is sent and the sending
//!   side shut, then what still arrives is read and dropped, up to [`LINGER_BYTES`] or
//!   [`LINGER_TIME`]. Closed at once, the kernel would answer the client's next bytes with a
//!   reset, which can destroy the answer before the client reads it.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_util::task::TaskTracker;
use tower::util::MapRequest;

/// The most a closing connection reads and drops of a body its request left unread.
pub const LINGER_BYTES: u64 = 4 << 20;
/// The longest a closing connection waits for its client to stop sending.
pub const LINGER_TIME: Duration = Duration::from_secs(2);

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time to send a request's headers, and the longest an idle keep-alive connection lives.
    pub header_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then closes idle connections and
/// waits for the requests in flight. Each request carries the peer's address as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (closing, closed) = watch::channel(false);
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => permit.expect("never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was taken:
                    // wait a little rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut closed = closed.clone();
        connections.spawn(async move {
            let _permit = permit;
            let with_peer = move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            };
            let service = TowerToHyperService::new(MapRequest::new(app, with_peer));
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true);
            let mut connection = builder.serve_connection(TokioIo::new(stream), service);
            // Served without shutting the stream, which then lingers (see the module's doc).
            let until_closing = tokio::select! {
                served = poll_fn(|cx| connection.poll_without_shutdown(cx)) => Some(served),
                _ = closed.wait_for(|closing| *closing) => None,
            };
            let served = match until_closing {
                Some(served) => served,
                None => {
                    Pin::new(&mut connection).graceful_shutdown();
                    poll_fn(|cx| connection.poll_without_shutdown(cx)).await
                }
            };
            if served.is_ok() {
                linger(connection.into_parts().io.into_inner()).await;
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    connections.close();
    connections.wait().await;
}

/// Closes a connection whose answer was sent: shuts its sending side, then reads and drops
/// what the client still sends (a body its request left unread) until it closes its side,
/// [`LINGER_BYTES`] arrived or [`LINGER_TIME`] passed.
async fn linger(mut stream: TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut dropped = 0u64;
    let mut buffer = vec![0u8; 64 << 10];
    let _ = tokio::time::timeout(LINGER_TIME, async {
        while dropped < LINGER_BYTES {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => dropped += read as u64,
            }
        }
    })
    .await;
}
