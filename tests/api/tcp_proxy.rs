//! A TCP proxy the test can cut and restore: an outage of PostgreSQL or S3 as the service sees
//! it, without touching the real server other tests use; or a slow, unreliable network between
//! a client and the service (paced uploads, counted bytes, dropped connections).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct TcpProxy {
    pub address: SocketAddr,
    up: watch::Sender<bool>,
    refused: Arc<AtomicU64>,
    forwarded: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Forwards 127.0.0.1:(a free port) to `target`.
    pub async fn start(target: SocketAddr) -> TcpProxy {
        TcpProxy::start_paced(target, None).await
    }

    /// Forwards 127.0.0.1:(a free port) to `target`, the client's bytes at no more than
    /// `upstream_bytes_per_second` in all (an uplink), when given.
    pub async fn start_paced(
        target: SocketAddr,
        upstream_bytes_per_second: Option<u64>,
    ) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (up, _) = watch::channel(true);
        let refused = Arc::new(AtomicU64::new(0));
        let forwarded = Arc::new(AtomicU64::new(0));
        let link = Link {
            target,
            up: up.clone(),
            refused: Arc::clone(&refused),
            forwarded: Arc::clone(&forwarded),
            pace: upstream_bytes_per_second.map(|rate| Arc::new(Pace::new(rate))),
        };
        let task = tokio::spawn(accept_loop(listener, link));
        TcpProxy {
            address,
            up,
            refused,
            forwarded,
            task,
        }
    }

    /// Bytes forwarded from clients to the target so far.
    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }

    /// `http://` + the proxy's address.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The outage begins: open connections are dropped, new ones closed at once.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    /// The outage ends.
    pub fn restore(&self) {
        self.up.send_replace(true);
    }

    /// Connections turned away during outages so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where the proxy forwards, and what it shares between connections.
#[derive(Clone)]
struct Link {
    target: SocketAddr,
    up: watch::Sender<bool>,
    refused: Arc<AtomicU64>,
    forwarded: Arc<AtomicU64>,
    pace: Option<Arc<Pace>>,
}

/// An uplink of a fixed rate, shared by every connection: each chunk waits for its turn.
struct Pace {
    bytes_per_second: u64,
    next_free: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pace {
    fn new(bytes_per_second: u64) -> Pace {
        Pace {
            bytes_per_second: bytes_per_second.max(1),
            next_free: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits until `bytes` more may go.
    async fn take(&self, bytes: usize) {
        let duration =
            std::time::Duration::from_secs_f64(bytes as f64 / self.bytes_per_second as f64);
        let at = {
            let mut next_free = self.next_free.lock().await;
            let start = (*next_free).max(tokio::time::Instant::now());
            *next_free = start + duration;
            start + duration
        };
        tokio::time::sleep_until(at).await;
    }
}

async fn accept_loop(listener: TcpListener, link: Link) {
    while let Ok((client, _)) = listener.accept().await {
        if !*link.up.borrow() {
            link.refused.fetch_add(1, Ordering::Relaxed);
            drop(client);
            continue;
        }
        let mut state = link.up.subscribe();
        let link = link.clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(link.target).await else {
                return;
            };
            tokio::select! {
                () = forward(client, server, &link) => {}
                _ = state.wait_for(|up| !*up) => {}
            }
        });
    }
}

/// Copies both ways until either side closes; the client's bytes counted (and paced).
async fn forward(client: TcpStream, server: TcpStream, link: &Link) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let read = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            if let Some(pace) = &link.pace {
                pace.take(read).await;
            }
            if server_write.write_all(&buffer[..read]).await.is_err() {
                break;
            }
            link.forwarded.fetch_add(read as u64, Ordering::Relaxed);
        }
        let _ = server_write.shutdown().await;
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}
