//! An upload can never make the service read another upload: scripts, playlists and manifests
//! naming a waiting upload by its id are refused at upload, and the waiting upload is
//! untouched and converts as its own.

use crate::helpers::{fixture, problem, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_naming_another_waiting_upload_are_refused_and_the_victim_is_untouched() {
    // Nothing runs the job: the victim's upload waits on disk, as a pending job's does.
    let app = spawn_app().await;
    let victim = app.upload_id(&fixture("h264_aac.mp4")).await;
    let victim_file = app.upload_dir.join(format!("{victim}.upload"));
    let victim_bytes = std::fs::read(&victim_file).expect("the victim's upload waits on disk");

    let absolute = victim_file.display().to_string();
    let attacks = [
        format!("ffconcat version 1.0\nfile {victim}.upload\n"),
        format!("ffconcat version 1.0\nfile '{absolute}'\n"),
        format!("ffconcat version 1.0\nfile 'subfile,,start,0,end,0,,:{absolute}'\n"),
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{victim}.upload\n#EXT-X-ENDLIST\n"
        ),
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:{absolute}\n#EXT-X-ENDLIST\n"
        ),
        format!(
            "<?xml version=\"1.0\"?><MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" \
             mediaPresentationDuration=\"PT10S\" minBufferTime=\"PT2S\" \
             profiles=\"urn:mpeg:dash:profile:isoff-on-demand:2011\"><Period><AdaptationSet \
             mimeType=\"video/mp4\"><Representation id=\"1\" bandwidth=\"1\"><BaseURL>{victim}.upload\
             </BaseURL></Representation></AdaptationSet></Period></MPD>"
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (index, attack) in attacks.iter().enumerate() {
        let path = dir.path().join(format!("attack{index}.mp4"));
        std::fs::write(&path, attack).unwrap();
        let response = app.upload_raw(&path, "video/mp4").await;
        let body = problem(response, 422, "not-a-video").await;
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains("names other files"),
            "attack {index}: {detail}"
        );
    }
    let listed = app.get_json("/v1/videos").await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "only the victim was accepted: {listed}"
    );
    assert_eq!(std::fs::read(&victim_file).unwrap(), victim_bytes);
    let left = app.uploads_left();
    assert_eq!(
        left,
        vec![format!("{victim}.upload")],
        "refused uploads are removed"
    );
    let video = app.get_video(&victim).await;
    assert_eq!(video["status"], "pending", "{video}");
    app.stop().await;
}
