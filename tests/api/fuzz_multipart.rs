//! Property test of the upload parser: arbitrary multipart bodies (well formed, truncated,
//! corrupted, with hostile file names) get a 4xx or a 201, never a 5xx or a dropped
//! connection, and leave no file behind but those of accepted uploads.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::helpers::{fixture, spawn_app};

#[derive(Debug, Clone)]
struct Part {
    name: String,
    filename: Option<String>,
    content: Vec<u8>,
}

fn part(video: Vec<u8>) -> impl Strategy<Value = Part> {
    let name = prop_oneof![
        Just("file".to_string()),
        Just("title".to_string()),
        "[ -~]{0,12}"
    ];
    let filename = prop::option::of(prop_oneof![
        Just("../../etc/passwd".to_string()),
        Just("clip\u{0}\r\n.mp4".to_string()),
        "\\PC{0,300}",
    ]);
    let content = prop_oneof![prop::collection::vec(any::<u8>(), 0..2048), Just(video),];
    (name, filename, content).prop_map(|(name, filename, content)| Part {
        name,
        filename,
        content,
    })
}

/// (boundary declared in the header, body).
fn multipart(video: Vec<u8>) -> impl Strategy<Value = (String, Vec<u8>)> {
    (
        "[A-Za-z0-9_-]{1,70}",
        prop::collection::vec(part(video), 0..4),
        prop::bool::weighted(0.1),
        prop::option::weighted(0.2, any::<prop::sample::Index>()),
        prop::option::weighted(
            0.2,
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ),
    )
        .prop_map(|(boundary, parts, declare_other_boundary, cut, edits)| {
            let mut body = Vec::new();
            for part in &parts {
                body.extend(format!("--{boundary}\r\n").as_bytes());
                let mut disposition =
                    format!("Content-Disposition: form-data; name=\"{}\"", part.name);
                if let Some(filename) = &part.filename {
                    disposition += &format!("; filename=\"{filename}\"");
                }
                body.extend(disposition.as_bytes());
                body.extend(b"\r\nContent-Type: video/mp4\r\n\r\n");
                body.extend(&part.content);
                body.extend(b"\r\n");
            }
            body.extend(format!("--{boundary}--\r\n").as_bytes());
            if let Some(cut) = cut {
                body.truncate(cut.index(body.len() + 1));
            }
            if !body.is_empty() {
                for (at, value) in edits.unwrap_or_default() {
                    let at = at.index(body.len());
                    body[at] = value;
                }
            }
            let declared = if declare_other_boundary {
                format!("{boundary}x")
            } else {
                boundary
            };
            (declared, body)
        })
}

#[test]
fn arbitrary_multipart_bodies_get_a_4xx_or_201_and_leave_nothing_else() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Nothing runs the jobs: accepted uploads stay queued, so their files can be counted.
    let app = runtime.block_on(spawn_app());
    let video = std::fs::read(fixture("no_audio.mp4")).unwrap();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let created = std::cell::Cell::new(0);
    let answers = std::cell::RefCell::new(std::collections::BTreeMap::<u16, usize>::new());
    let result = runner.run(&multipart(video), |(boundary, body)| {
        let status = runtime.block_on(async {
            reqwest::Client::new()
                .post(app.url("/v1/videos"))
                .header(
                    "Content-Type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
        let status = status.map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
        prop_assert!(
            (400..500).contains(&status) || status == 201,
            "answered {status}"
        );
        if status == 201 {
            created.set(created.get() + 1);
        }
        *answers.borrow_mut().entry(status).or_default() += 1;
        Ok(())
    });
    eprintln!("answers by status: {:?}", answers.borrow());
    let left = app.uploads_left().len();
    runtime.block_on(app.stop());
    result.unwrap();
    assert_eq!(
        left,
        created.get(),
        "files left besides the accepted uploads'"
    );
}
