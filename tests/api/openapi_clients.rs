//! The OpenAPI document checked by tools nobody here wrote, against a live service:
//! openapi-spec-validator accepts it, and Schemathesis (every check; its examples, coverage,
//! fuzzing and stateful phases) finds no answer that contradicts it. The tools are pinned in
//! `tests/clients/requirements.txt` (`scripts/install-deps.sh --test`).

use std::process::Command;

use crate::helpers::{TestApp, spawn_app_with_workers};

/// What a program wrote, stdout then stderr.
fn said(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A program of the test venv.
fn venv(program: &str) -> String {
    format!("{}/.venv-test/bin/{program}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_spec_validator_accepts_the_document() {
    let app = spawn_app_with_workers(|_| {}).await;
    // As a client downloads it.
    let served = reqwest::get(app.url("/openapi.json")).await.unwrap();
    assert_eq!(served.status(), 200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, served.bytes().await.unwrap()).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(venv("openapi-spec-validator"))
            .arg(file)
            .output()
            .expect("openapi-spec-validator runs (scripts/install-deps.sh --test)")
    })
    .await
    .unwrap();
    let said = said(&output);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("OK"), "{said}");
    app.stop().await;
}

/// Runs Schemathesis against `app` with `seed`: every check, all four phases, the settings
/// of `tests/clients/schemathesis.toml` (what no schema can say) and its hooks (tus' media
/// type). Returns whether it passed, and what it said.
async fn schemathesis(app: &TestApp, seed: u64) -> (bool, String) {
    let root = env!("CARGO_MANIFEST_DIR");
    let document = app.url("/openapi.json");
    let base = app.address.clone();
    // Run elsewhere: Schemathesis keeps a cache in its working directory.
    let work = tempfile::tempdir().unwrap();
    let config = format!("{root}/tests/clients/schemathesis.toml");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(venv("schemathesis"))
            .current_dir(work.path())
            .env("SCHEMATHESIS_HOOKS", "tests.clients.schemathesis_hooks")
            .env("PYTHONPATH", root)
            .args(["--config-file", config.as_str(), "run"])
            .args([document.as_str(), "--url", base.as_str()])
            .args([
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
            ])
            .args(["--max-examples", "10", "--max-time", "75"])
            .args(["--seed", &seed.to_string()])
            .args(["--generation-database", "none", "--no-color"])
            .output()
            .expect("schemathesis runs (scripts/install-deps.sh --test)")
    })
    .await
    .unwrap();
    let said = said(&output);
    (output.status.success(), said)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_answer_that_contradicts_the_document() {
    let app = spawn_app_with_workers(|_| {}).await;
    // A fixed seed, which reproduces; and a new one each run, which explores (printed, to
    // reproduce a failure with `--seed`).
    let random: u64 = rand::random::<u32>().into();
    for seed in [42, random] {
        let (passed, said) = schemathesis(&app, seed).await;
        assert!(passed, "schemathesis --seed {seed}:\n{said}");
        // Every phase ran; none was skipped or errored.
        for phase in ["Examples", "Coverage", "Fuzzing", "Stateful"] {
            let line = said
                .lines()
                .find(|line| {
                    line.trim_start().ends_with(phase) && line.contains(['✅', '❌', '🚫', '⏭'])
                })
                .unwrap_or_else(|| panic!("no {phase} phase in:\n{said}"));
            assert!(
                line.contains('✅'),
                "{phase} did not pass (seed {seed}): {line}\n{said}"
            );
        }
        assert!(
            said.contains("Tested: 24") || said.contains("Selected: 24/24"),
            "{said}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_generated_from_the_document_uploads_polls_lists_and_deletes() {
    let app = spawn_app_with_workers(|_| {}).await;
    let served = reqwest::get(app.url("/openapi.json")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let document = dir.path().join("openapi.json");
    std::fs::write(&document, served.bytes().await.unwrap()).unwrap();
    let package = dir.path().join("hls_ladder_client");
    let root = env!("CARGO_MANIFEST_DIR");
    let (generated, generated_dir) = (package.clone(), dir.path().to_path_buf());
    let script = format!("{root}/tests/clients/generated_client_round_trip.py");
    let base = app.address.clone();
    // The docs' example, as written, but for this service and a fixture.
    let example = crate::helpers::doc_block("docs/api.md", "generated-client-example", "python");
    let fixture = format!("{root}/fixtures/h264_aac.mp4");
    let docs_example = example
        .replace("\"http://127.0.0.1:8080\"", &format!("{:?}", app.address))
        .replace("open(\"holiday.mp4\"", &format!("open({fixture:?}"));
    assert_eq!(docs_example.matches(&fixture).count(), 1, "{docs_example}");
    let (generator, client, docs_run) = tokio::task::spawn_blocking(move || {
        // Generated here, from the live document; never kept in the repository.
        let generator = Command::new(venv("openapi-python-client"))
            .args(["generate", "--meta", "none", "--path"])
            .arg(&document)
            .arg("--output-path")
            .arg(&generated)
            .output()
            .expect("openapi-python-client runs (scripts/install-deps.sh --test)");
        let client = Command::new(venv("python"))
            .arg(script)
            .arg(&generated_dir)
            .arg(&base)
            .arg(format!("{root}/fixtures/h264_aac.mp4"))
            .output()
            .expect("python runs");
        let docs_run = Command::new(venv("python"))
            .args(["-c", &docs_example])
            .env("PYTHONPATH", &generated_dir)
            .output()
            .expect("python runs");
        (generator, client, docs_run)
    })
    .await
    .unwrap();
    let generator_said = said(&generator);
    assert!(generator.status.success(), "{generator_said}");
    // Every schema became a model: none dropped for something the generator cannot read.
    assert!(
        !generator_said.contains("Unable to process schema"),
        "{generator_said}"
    );
    let client_said = said(&client);
    assert!(client.status.success(), "{client_said}");
    let seen: serde_json::Value =
        serde_json::from_str(client_said.lines().rfind(|l| l.starts_with('{')).unwrap()).unwrap();
    let videos = seen["videos"].as_object().unwrap();
    assert_eq!(videos.len(), 2, "{seen}");
    for (id, video) in videos {
        assert_eq!(video["status"], "completed", "{seen}");
        assert!(
            video["playback_url"]
                .as_str()
                .unwrap()
                .ends_with("master.m3u8"),
            "{seen}"
        );
        assert!(
            !video["renditions"].as_array().unwrap().is_empty(),
            "{seen}"
        );
        assert!(
            seen["listed"]
                .as_array()
                .unwrap()
                .contains(&id.as_str().into()),
            "{seen}"
        );
        // Deleted (202 or 204), then 404 `video-not-found` through the generated Problem.
        let deleted = &seen["deleted"][id];
        assert!([202, 204].contains(&deleted[0].as_i64().unwrap()), "{seen}");
        assert_eq!(deleted[1], 404, "{seen}");
        assert_eq!(deleted[2], "video-not-found", "{seen}");
    }
    let docs_said = said(&docs_run);
    assert!(docs_run.status.success(), "{docs_said}");
    let readme_video: serde_json::Value =
        serde_json::from_str(docs_said.lines().last().unwrap_or_default()).unwrap();
    assert!(
        ["pending", "processing", "completed"].contains(&readme_video["status"].as_str().unwrap()),
        "{readme_video}"
    );
    assert_eq!(
        app.get_video(readme_video["id"].as_str().unwrap()).await["original_filename"],
        "holiday.mp4"
    );
    // The multipart upload's part file name came through the generated form.
    assert!(
        videos
            .values()
            .any(|v| v["original_filename"] == "clip.mp4"),
        "{seen}"
    );
    app.stop().await;
}
