//! Many jobs, several worker processes, a worker killed mid-job, cancel and shutdown.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hls_ladder_server::config::Role;
use hls_ladder_server::storage::{ObjectStore, source_key};

use crate::helpers::{
    TestApp, another_process, decode_url, fixture, long_clip, spawn_app, spawn_app_with_workers,
    start, test_config,
};

/// A `hls-ladder serve` child process, killed when the test ends (even by a failed
/// assertion). A thread collects its log as it comes, so the pipe never fills up and a test
/// can wait for a line.
pub struct WorkerProcess {
    child: Option<Child>,
    log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl WorkerProcess {
    /// Takes over `child`, whose stderr must be piped.
    pub fn new(mut child: Child) -> WorkerProcess {
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let collected = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = collected.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        WorkerProcess {
            child: Some(child),
            log,
            reader: Some(reader),
        }
    }

    /// Waits until it logs that it is serving (its workers take jobs from then on).
    pub async fn wait_until_serving(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.log.lock().unwrap().contains("\"serving\"") {
            assert!(
                Instant::now() < deadline,
                "not serving after 30 s:\n{}",
                self.log.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The address it logged when it started serving.
    pub fn address(&self) -> Option<String> {
        let log = self.log.lock().unwrap();
        let line = log.lines().find(|l| l.contains("\"serving\""))?;
        let event: serde_json::Value = serde_json::from_str(line).ok()?;
        event["fields"]["address"].as_str().map(str::to_owned)
    }

    /// Kills it (SIGKILL), as a crash would, and returns what it logged.
    pub fn kill(&mut self) -> String {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
        self.whole_log()
    }

    /// Stops it as an orchestrator would (SIGTERM), waits for a clean exit, and returns what
    /// it logged. Unlike [`WorkerProcess::kill`], the log then holds every line of the work
    /// done: a worker logs "conversion completed" just after it records the completion, so a
    /// test that saw the status may otherwise kill it before that line.
    pub fn stop(&mut self) -> String {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let signaled = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(signaled.success(), "could not signal {pid}");
        let status = child.wait().unwrap();
        let log = self.whole_log();
        assert!(status.success(), "exited with {status}:\n{log}");
        log
    }

    /// The log up to the process's exit.
    fn whole_log(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the log reader does not panic");
        }
        self.log.lock().unwrap().clone()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `hls-ladder serve` as a separate process working for `app`'s database and bucket.
fn worker_process(app: &TestApp) -> WorkerProcess {
    WorkerProcess::new(spawn_worker(app))
}

fn spawn_worker(app: &TestApp) -> Child {
    spawn_serve(app, "all", app.config.temp_dir.as_ref().unwrap())
}

/// `hls-ladder serve --role ROLE` working for `app`'s database and bucket, with its own
/// temporary directory.
pub fn spawn_serve(app: &TestApp, role: &str, temp_dir: &Path) -> Child {
    spawn_serve_with(app, role, temp_dir, &[])
}

/// [`spawn_serve`] with more environment variables (which win over its own).
pub fn spawn_serve_with(app: &TestApp, role: &str, temp_dir: &Path, env: &[(&str, &str)]) -> Child {
    let c = &app.config;
    Command::new(env!("CARGO_BIN_EXE_hls-ladder"))
        .arg("serve")
        .env("ROLE", role)
        .env("LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", c.database_url.expose())
        .env("S3_ENDPOINT", c.storage.s3_endpoint.as_deref().unwrap())
        .env("S3_BUCKET", &c.storage.s3_bucket)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("NO_CREATE_BUCKET", "true")
        .env("WORKERS", "1")
        .env("TEMP_DIR", temp_dir)
        .env("LEASE_SECONDS", c.jobs.lease_seconds.to_string())
        .env("PRESET", "ultrafast")
        .env("SEGMENT_SECONDS", "2")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the worker process starts")
}

async fn wait_for_status(
    app: &TestApp,
    id: &str,
    wanted: &str,
    timeout: Duration,
) -> serde_json::Value {
    app.wait_for(id, timeout, wanted, |video| video["status"] == wanted)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_uploads_at_once_all_complete_across_two_worker_processes_each_exactly_once() {
    let app = spawn_app_with_workers(|c| c.jobs.workers = 1).await;
    let mut other = worker_process(&app);
    // Both processes take jobs before the uploads arrive, so each gets some.
    other.wait_until_serving().await;
    let clip = fixture("no_audio.mp4");
    let uploads = (0..8).map(|_| app.upload_id(&clip));
    let ids = futures_util::future::join_all(uploads).await;
    for id in &ids {
        let video = app.wait_until_finished(id, Duration::from_secs(180)).await;
        assert_eq!(video["status"], "completed", "{video}");
        assert_eq!(video["attempts"], 1, "converted exactly once: {video}");
    }
    let log = other.stop();
    let by_other = ids
        .iter()
        .filter(|id| {
            log.lines()
                .any(|l| l.contains("conversion completed") && l.contains(id.as_str()))
        })
        .count();
    assert!(
        by_other >= 1,
        "the second process converted some of the videos:\n{log}"
    );
    assert!(by_other < 8, "and the first process did too");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_is_killed_is_reclaimed_and_completes() {
    // The API process runs no worker; a separate worker process takes the job and is killed.
    let app = spawn_app().await;
    let clip = long_clip(app.config.temp_dir.as_ref().unwrap());
    let mut doomed = worker_process(&app);
    let id = app.upload_id(&clip).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let video = app.get_video(&id).await;
        if video["progress"]["frames_done"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker never made progress: {video}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    doomed.kill();

    // Another worker takes it over once the lease expires.
    let rescuer = another_process(&app, 1).await;
    let video = app.wait_until_finished(&id, Duration::from_secs(180)).await;
    assert_eq!(video["status"], "completed", "{video}");
    assert_eq!(video["attempts"], 2);
    let (errors, duration) = decode_url(video["playback_url"].as_str().unwrap());
    assert!(errors.is_empty(), "{errors}");
    assert!((duration - 20.0).abs() < 0.1, "{duration}");
    rescuer.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_conversion_is_canceled_promptly_and_its_output_removed() {
    let app = spawn_app_with_workers(|c| c.jobs.workers = 1).await;
    let clip = long_clip(app.config.temp_dir.as_ref().unwrap());
    let id = app.upload_id(&clip).await;
    wait_for_status(&app, &id, "processing", Duration::from_secs(30)).await;
    let asked = Instant::now();
    let response = app.post(&format!("/v1/videos/{id}/cancel")).await;
    assert_eq!(response.status(), 202);
    wait_for_status(&app, &id, "canceled", Duration::from_secs(10)).await;
    // Looked for twice a second; a loaded machine may take longer, but not a conversion's
    // length (20 s of 720p).
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "stopped in {:?}",
        asked.elapsed()
    );
    let first = format!(
        "{}/{}/videos/{id}/1/360p/segment_00001.ts",
        crate::helpers::s3_endpoint(),
        app.config.storage.s3_bucket
    );
    assert!(
        !reqwest::get(&first).await.unwrap().status().is_success(),
        "partial output removed"
    );
    app.wait_until_uploads_removed().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_hands_a_running_job_back_and_the_next_start_completes_it() {
    // The upload directory outlives both servers, as the disk of a restarted machine does.
    let disk = tempfile::tempdir().unwrap();
    let mut config = test_config(disk.path());
    config.jobs.workers = 1;
    config.jobs.shutdown_grace_seconds = 0;
    let app = start(config.clone(), tempfile::tempdir().unwrap()).await;
    let clip = long_clip(disk.path());
    let id = app.upload_id(&clip).await;
    wait_for_status(&app, &id, "processing", Duration::from_secs(30)).await;
    app.stop_keeping_database().await;
    assert!(
        config.upload_dir().join(format!("{id}.upload")).exists(),
        "the upload is kept for the next attempt"
    );

    let restarted = start(config, tempfile::tempdir().unwrap()).await;
    let handed_back = restarted.get_video(&id).await;
    assert!(
        ["pending", "processing"].contains(&handed_back["status"].as_str().unwrap()),
        "{handed_back}"
    );
    let video = restarted
        .wait_until_finished(&id, Duration::from_secs(180))
        .await;
    assert_eq!(video["status"], "completed", "{video}");
    assert_eq!(video["attempts"], 1, "a hand-back is not a failed attempt");
    restarted.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_roles_one_api_and_two_workers_elsewhere_convert_twenty_uploads_exactly_once() {
    let app = spawn_app_with_workers(|c| c.role = Role::Api).await;
    let worker_dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut workers: Vec<WorkerProcess> = worker_dirs
        .iter()
        .map(|dir| WorkerProcess::new(spawn_serve(&app, "worker", dir.path())))
        .collect();
    for worker in &workers {
        worker.wait_until_serving().await;
    }
    let clip = fixture("no_audio.mp4");
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(app.upload_id(&clip).await);
    }
    // The API keeps nothing: every upload went to the bucket.
    assert!(app.uploads_left().is_empty(), "{:?}", app.uploads_left());
    for id in &ids {
        let video = app.wait_until_finished(id, Duration::from_secs(300)).await;
        assert_eq!(video["status"], "completed", "{video}");
        assert_eq!(video["attempts"], 1, "converted exactly once: {video}");
    }
    let logs: Vec<String> = workers.iter_mut().map(WorkerProcess::stop).collect();
    for id in &ids {
        let runs: usize = logs
            .iter()
            .map(|log| {
                log.lines()
                    .filter(|l| l.contains("conversion started") && l.contains(id.as_str()))
                    .count()
            })
            .sum();
        assert_eq!(runs, 1, "{id} was converted {runs} times");
    }
    for (log, dir) in logs.iter().zip(&worker_dirs) {
        assert!(
            log.contains("conversion completed"),
            "a worker idled:\n{log}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path().join("hls-ladder-uploads"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "a worker kept {left:?}");
    }
    // The staged sources are removed once their jobs end.
    let store = crate::helpers::test_store(&app.config).await;
    for id in &ids {
        let key = source_key(id.parse().unwrap());
        assert!(!store.exists(&key).await.unwrap(), "{key} left behind");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_only_process_answers_health_and_metrics_but_not_the_api() {
    let app = spawn_app_with_workers(|c| c.role = Role::Worker).await;
    for open in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(app.get(open).await.status(), 200, "{open}");
    }
    crate::helpers::problem(app.get("/v1/videos").await, 404, "no-such-endpoint").await;
    assert_eq!(app.post("/v1/videos").await.status(), 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_only_process_probes_in_a_child_and_survives_its_crash() {
    let app = spawn_app_with_workers(|c| c.role = Role::Api).await;
    crate::helpers::problem(
        app.upload_raw(&fixture("not_a_video.mp4"), "video/mp4")
            .await,
        422,
        "not-a-video",
    )
    .await;
    let audio = crate::helpers::problem(
        app.upload_raw(&fixture("audio_only.m4a"), "video/mp4")
            .await,
        422,
        "no-video-stream",
    )
    .await;
    assert_eq!(
        audio["detail"], "the input has no video stream (found: audio)",
        "{audio}"
    );
    let accepted = app.upload_raw(&fixture("no_audio.mp4"), "video/mp4").await;
    assert_eq!(accepted.status(), 201);
    let accepted: serde_json::Value = accepted.json().await.unwrap();
    assert!(
        accepted["source"]["width"].as_u64().unwrap() > 0,
        "{accepted}"
    );
    app.stop().await;

    // A probe that dies of a signal, as libav would on a hostile file.
    let crashing = tempfile::tempdir().unwrap();
    let script = crashing.path().join("crash.sh");
    std::fs::write(&script, "#!/bin/sh\nkill -SEGV $$\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let app = spawn_app_with_workers(|c| {
        c.role = Role::Api;
        c.probe_binary = Some(script.clone());
    })
    .await;
    let crashed = crate::helpers::problem(
        app.upload_raw(&fixture("no_audio.mp4"), "video/mp4").await,
        422,
        "corrupt-input",
    )
    .await;
    assert!(
        crashed["detail"].as_str().unwrap().contains("crashed"),
        "{crashed}"
    );
    assert!(app.uploads_left().is_empty(), "{:?}", app.uploads_left());
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
}
