//! `GET /`: a page to upload videos, follow their conversion and play them. Its own files
//! (`web/`) are built into the program, so it needs no build step; hls.js and tus-js-client
//! are served from where npm installed them (`make` runs `npm ci --prefix web`), never from a
//! CDN.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::services::ServeFile;

use super::AppState;

const INDEX_HTML: &str = include_str!("../../web/index.html");
/// The page's JavaScript modules, served as `/assets/{name}`: `app.js` imports the others.
const MODULES: [(&str, &str); 10] = [
    ("app.js", include_str!("../../web/app.js")),
    ("api.js", include_str!("../../web/api.js")),
    ("format.js", include_str!("../../web/format.js")),
    ("list.js", include_str!("../../web/list.js")),
    ("live.js", include_str!("../../web/live.js")),
    ("page.js", include_str!("../../web/page.js")),
    ("player.js", include_str!("../../web/player.js")),
    ("storyboard.js", include_str!("../../web/storyboard.js")),
    ("sse.js", include_str!("../../web/sse.js")),
    ("upload.js", include_str!("../../web/upload.js")),
];
const STYLE_CSS: &str = include_str!("../../web/style.css");
/// hls.js's browser build, inside the npm packages directory.
const HLS_JS: &str = "hls.js/dist/hls.min.js";
/// tus-js-client's browser build (the global `tus`), for resumable uploads.
const TUS_JS: &str = "tus-js-client/dist/tus.min.js";

/// The page's routes: `/`, its modules (`/assets/app.js` and the ones it imports, see
/// `MODULES`), `/assets/style.css`, `/assets/vendor/hls.min.js` and
/// `/assets/vendor/tus.min.js` (from `vendor_dir`, see [`vendor_dir`]).
pub fn routes(vendor_dir: &Path) -> Router<AppState> {
    let hls = vendor_dir.join(HLS_JS);
    if !hls.is_file() {
        tracing::warn!(
            path = %hls.display(),
            "hls.js is missing, so the page at / cannot play videos; run `make web` (npm ci --prefix web)"
        );
    }
    let tus = vendor_dir.join(TUS_JS);
    if !tus.is_file() {
        tracing::warn!(
            path = %tus.display(),
            "tus-js-client is missing, so the page at / uploads in one request, which a dropped connection restarts; run `make web` (npm ci --prefix web)"
        );
    }
    let mut router = Router::new()
        .route("/", get(index))
        .route("/assets/style.css", get(style_css));
    for (name, source) in MODULES {
        router = router.route(
            &format!("/assets/{name}"),
            get(move || async move { asset("text/javascript; charset=utf-8", source) }),
        );
    }
    router
        .route_service("/assets/vendor/hls.min.js", ServeFile::new(hls))
        .route_service("/assets/vendor/tus.min.js", ServeFile::new(tus))
}

/// The npm packages directory: the configured one, else `web/node_modules` in the working
/// directory if there is one, else the one in the source tree this program was built from.
pub fn vendor_dir(configured: Option<&Path>) -> PathBuf {
    if let Some(dir) = configured {
        return dir.to_path_buf();
    }
    let local = PathBuf::from("web/node_modules");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web/node_modules")
}

/// The web page: upload a video, follow its conversion live, play it (hls.js, with a
/// rendition picker), cancel or delete it. With API keys, the key is typed into the page and
/// kept in the browser's local storage.
#[utoipa::path(
    get,
    path = "/",
    responses((status = 200, description = "The page", content_type = "text/html", body = String,
               example = "<!doctype html>\n<html lang=\"en\">\n<head><title>hls-ladder</title>…"))
)]
pub async fn index() -> impl IntoResponse {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn style_css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}
