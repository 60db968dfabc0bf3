//! The stylesheet and the script, compiled into the binary (no CDN, nothing to deploy
//! beside it). Their URLs carry a hash of the content so browsers may cache them for good.

use axum::http::header;
use axum::response::IntoResponse;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

pub const CSS: &str = include_str!("../assets/app.css");
pub const JS: &str = include_str!("../assets/app.js");

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..6])
}

pub static CSS_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/assets/app-{}.css", short_hash(CSS)));
pub static JS_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/assets/app-{}.js", short_hash(JS)));

const FOREVER: &str = "public, max-age=31536000, immutable";

pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, FOREVER),
        ],
        CSS,
    )
}

pub async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, FOREVER),
        ],
        JS,
    )
}
