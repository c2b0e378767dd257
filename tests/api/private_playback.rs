//! Private playback: the bucket stays private and players get signed links.

use std::time::Duration;

use crate::helpers::{
    decode_url, fixture, problem, s3_endpoint, spawn_app, spawn_app_with, spawn_private_app,
};

async fn fetch_text(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

/// The first URI line of a playlist.
fn first_uri(playlist: &str) -> &str {
    playlist
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .expect("a URI")
}

fn s3_client() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .endpoint_url(s3_endpoint())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .force_path_style(true)
            .build(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_published_prefix_is_readable_by_anyone() {
    let app = spawn_app().await;
    let policy = s3_client()
        .get_bucket_policy()
        .bucket(&app.config.storage.s3_bucket)
        .send()
        .await
        .expect("a bucket policy")
        .policy
        .unwrap_or_default();
    assert!(
        policy.contains("s3:GetObject") && policy.contains("/videos/*"),
        "{policy}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_video_gets_no_public_policy_and_plays_through_its_signed_link() {
    let app = spawn_private_app().await;
    let id = app.upload_id(&fixture("h264_aac.mp4")).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");

    // The bucket got no public-read policy. (LocalStack serves anonymous GETs whatever the
    // policy, so the policy itself is what can be checked here; AWS refuses such GETs.)
    let s3 = s3_client();
    let policy = s3
        .get_bucket_policy()
        .bucket(&app.config.storage.s3_bucket)
        .send()
        .await;
    assert!(
        policy.is_err(),
        "the private bucket has a policy: {policy:?}"
    );

    // The playback URL is a signed link to the API; an independent player decodes it all.
    let url = video["playback_url"].as_str().unwrap();
    assert!(
        url.starts_with(&app.url(&format!("/v1/videos/{id}/play/master.m3u8?expires="))),
        "{url}"
    );
    let (errors, duration) = decode_url(url);
    assert!(errors.trim().is_empty(), "{errors}");
    assert!((duration - 4.0).abs() < 0.2, "duration {duration}");

    // Its media playlists point at presigned segment URLs.
    let master = fetch_text(url).await;
    let base = url.rsplit_once('/').unwrap().0;
    let media = fetch_text(&format!("{base}/{}", first_uri(&master))).await;
    let segment = first_uri(&media);
    assert!(segment.contains("X-Amz-Signature="), "{segment}");
    assert_eq!(reqwest::get(segment).await.unwrap().status(), 200);

    // A link altered in any way is refused: its signature no longer matches, and a
    // parameter it does not have is not one the document allows.
    let tampered = url.replace("expires=", "expires=1");
    problem(
        app.client.get(&tampered).send().await.unwrap(),
        403,
        "bad-playback-signature",
    )
    .await;
    let extended = url.replace("master.m3u8?", "master.m3u8?x=1&");
    problem(
        app.client.get(&extended).send().await.unwrap(),
        400,
        "bad-query",
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_playback_link_is_refused() {
    let app = spawn_app_with(|c| {
        c.access.private_playback = true;
        c.access.playback_link_seconds = 1;
        c.access.api_keys = vec!["operator".into()];
        c.access.private_reads = true;
    })
    .await;
    let id = app.upload_id(&fixture("no_audio.mp4")).await;
    let video = app.convert(&id).await;
    let url = video["playback_url"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    problem(
        app.client.get(&url).send().await.unwrap(),
        403,
        "playback-link-expired",
    )
    .await;
    // A fresh read of the video hands out a fresh link.
    let fresh = app.get_video(&id).await;
    let fresh_url = fresh["playback_url"].as_str().unwrap();
    assert_eq!(
        app.client.get(fresh_url).send().await.unwrap().status(),
        200
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_a_public_bucket_to_private_playback_takes_its_public_policy_back() {
    let public = spawn_app().await;
    let bucket = public.config.storage.s3_bucket.clone();
    let s3 = s3_client();
    assert!(s3.get_bucket_policy().bucket(&bucket).send().await.is_ok());
    let mut config = public.config.clone();
    public.stop_keeping_database().await;

    config.access.private_playback = true;
    config.access.api_keys = vec!["operator".into()];
    config.access.private_reads = true;
    let private = crate::helpers::start(config, tempfile::tempdir().unwrap()).await;
    let policy = s3.get_bucket_policy().bucket(&bucket).send().await;
    assert!(
        policy.is_err(),
        "the public-read policy is still there: {policy:?}"
    );
    private.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_access_by_mistake_is_refused_at_start() {
    use hls_ladder_server::server::Application;
    type Adjust = fn(&mut hls_ladder_server::config::ServeConfig);
    let refused: [(Adjust, &str); 4] = [
        (
            |c| c.listen = "0.0.0.0:0".parse().unwrap(),
            "ALLOW_ANONYMOUS",
        ),
        (|c| c.listen = "[::]:0".parse().unwrap(), "ALLOW_ANONYMOUS"),
        (|c| c.access.private_playback = true, "PRIVATE_READS"),
        (
            |c| {
                c.access.playback_secret = Some("short".into());
            },
            "at least 32",
        ),
    ];
    for (adjust, complaint) in refused {
        let temp = tempfile::tempdir().unwrap();
        let mut config = crate::helpers::test_config(temp.path());
        adjust(&mut config);
        let error = Application::build(config).await.err().expect("refused");
        assert!(format!("{error:#}").contains(complaint), "{error:#}");
    }
    let allowed: [Adjust; 3] = [
        |c| {
            c.listen = "0.0.0.0:0".parse().unwrap();
            c.access.allow_anonymous = true;
        },
        |c| {
            c.listen = "0.0.0.0:0".parse().unwrap();
            c.access.api_keys = vec!["k".into()];
        },
        // A worker serves no API: nothing to protect but health and metrics.
        |c| {
            c.listen = "0.0.0.0:0".parse().unwrap();
            c.role = hls_ladder_server::config::Role::Worker;
        },
    ];
    for adjust in allowed {
        let temp = tempfile::tempdir().unwrap();
        let mut config = crate::helpers::test_config(temp.path());
        adjust(&mut config);
        let url = config.database_url.expose().to_string();
        let app = Application::build(config).await.expect("starts");
        drop(app);
        crate::helpers::drop_database(&url).await;
    }
}
