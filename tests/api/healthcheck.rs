//! `hls-ladder healthcheck`, the image's HEALTHCHECK: it asks the address in `LISTEN` (as
//! `serve` reads it) and its exit code says whether the service answered.

use std::process::{Command, Output};

use crate::helpers::spawn_app;
use crate::workers::{WorkerProcess, spawn_serve};

fn healthcheck(listen: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hls-ladder"))
        .arg("healthcheck")
        .env("LISTEN", listen)
        .output()
        .expect("hls-ladder runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serving_api_and_worker_are_healthy_and_a_closed_port_or_a_503_is_not() {
    let app = spawn_app().await;
    let api = healthcheck(app.address.trim_start_matches("http://"));
    assert!(api.status.success(), "{api:?}");

    let temp = tempfile::tempdir().unwrap();
    let worker = WorkerProcess::new(spawn_serve(&app, "worker", temp.path()));
    worker.wait_until_serving().await;
    let address = worker.address().expect("the worker logs its address");
    let from_worker = healthcheck(&address);
    assert!(from_worker.status.success(), "{from_worker:?}");
    // Asked as a container asks it: listening on every address, checked on loopback.
    let port = address.rsplit(':').next().unwrap();
    let unspecified = healthcheck(&format!("0.0.0.0:{port}"));
    assert!(unspecified.status.success(), "{unspecified:?}");

    // A port nothing listens on (bound, then let go).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let down = healthcheck(&closed.to_string());
    assert_eq!(down.status.code(), Some(1), "{down:?}");
    let said = String::from_utf8_lossy(&down.stderr);
    assert!(
        said.contains("unhealthy") && said.contains("/healthz"),
        "{said}"
    );

    // Something answers on the port, but not 200.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request);
        stream
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
    });
    let unavailable = healthcheck(&busy.to_string());
    server.join().unwrap();
    assert_eq!(unavailable.status.code(), Some(1), "{unavailable:?}");
    let said = String::from_utf8_lossy(&unavailable.stderr);
    assert!(said.contains("503"), "{said}");
}
