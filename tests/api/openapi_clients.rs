//! The OpenAPI document checked by tools nobody here wrote, against a live service:
//! openapi-spec-validator accepts it, and Schemathesis (every check; its examples, coverage,
//! fuzzing and stateful phases) finds no answer that contradicts it. The tools are pinned in
//! `tests/clients/requirements.txt` (`scripts/install-deps.sh --test`).

use std::process::Command;

use crate::helpers::spawn_app;

/// A program of the test venv.
fn venv(program: &str) -> String {
    format!("{}/.venv-test/bin/{program}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_spec_validator_accepts_the_document() {
    let app = spawn_app().await;
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
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{said}");
    assert!(said.contains("OK"), "{said}");
    app.stop().await;
}
