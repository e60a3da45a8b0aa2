//! Image variants by URL (issue 13), through `app(state).oneshot(request)` against a fresh
//! data directory and catalog: real JPEG, PNG, GIF and SVG files uploaded, their variants
//! decoded again and measured. Covers both grammars, every fit, the sizes, format negotiation,
//! signatures and the allowlist, the limits (decompression bombs among them), the cache (one
//! file per variant, purged with the source), 304s and access.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failures by design

use std::io::Cursor;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use image::{GenericImageView, ImageFormat};
use serde_json::{json, Value};
use stowage_devserver::{AppState, Config};
use tower::ServiceExt;

const ADMIN: &str = "test-admin-key-demo-0123456789abcdef";
const LOCKED_ADMIN: &str = "test-admin-key-locked-0123456789abcdef";
const DEMO: &str = "/demo/demo-key";
const LOCKED: &str = "/locked/locked-key";
const WEBP: &str = "image/avif,image/webp,*/*";

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
    fn code(&self) -> Option<u64> {
        self.json()["code"].as_u64()
    }
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }
    /// The variant decoded: its format and size.
    fn image(&self) -> (ImageFormat, u32, u32) {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.bytes)
        );
        let format = image::guess_format(&self.bytes).unwrap();
        let img = image::load_from_memory(&self.bytes).unwrap();
        (format, img.width(), img.height())
    }
}

struct World {
    router: axum::Router,
    _state: AppState,
    dir: tempfile::TempDir,
    /// The object store (`--blobs`), when the tests run on one.
    blobs: Option<String>,
}

impl World {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(dir.path().join("data")).await.unwrap();
        config.apps = vec![app("demo:demo-key:open"), app("locked:locked-key")];
        config.admin_keys = vec![
            ("demo".into(), ADMIN.into()),
            ("locked".into(), LOCKED_ADMIN.into()),
        ];
        let (router, state) = stowage_devserver::testing::servers(&config, &dir.path().join("www"))
            .await
            .unwrap();
        Self {
            router,
            _state: state,
            dir,
            blobs: config.blobs.clone(),
        }
    }

    async fn send(&self, req: Request<Body>) -> Answer {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        Answer {
            status: parts.status,
            headers: parts.headers,
            bytes: body.collect().await.unwrap().to_bytes().to_vec(),
        }
    }

    async fn upload(&self, prefix: &str, path: &str, bytes: Vec<u8>, token: Option<&str>) {
        let mut req = Request::post(format!("{prefix}/files/{path}?overwrite=true"))
            .header(header::CONTENT_TYPE, "application/octet-stream");
        if let Some(t) = token {
            req = req.header("user-token", t);
        }
        let a = self.send(req.body(Body::from(bytes)).unwrap()).await;
        assert_eq!(
            a.status,
            StatusCode::OK,
            "upload {path}: {}",
            String::from_utf8_lossy(&a.bytes)
        );
    }

    async fn get(&self, uri: &str, accept: Option<&str>) -> Answer {
        self.get_with(uri, accept, &[]).await
    }

    async fn get_with(&self, uri: &str, accept: Option<&str>, headers: &[(&str, &str)]) -> Answer {
        let mut req = Request::get(uri);
        if let Some(a) = accept {
            req = req.header(header::ACCEPT, a);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn sign(&self, prefix: &str, token: &str, body: Value) -> Answer {
        let req = Request::post(format!("{prefix}/images/sign"))
            .header(header::CONTENT_TYPE, "application/json")
            .header("user-token", token)
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
    }

    /// The variants kept: the files under `{data}/variants`, or, with an object store
    /// (`STOWAGE_TEST_BLOBS`), the objects under the blobs' prefix and `variants/`, listed by
    /// a client of the test's own; then nothing may be on the disk.
    async fn cached(&self) -> Vec<String> {
        use futures_util::TryStreamExt as _;
        use object_store::ObjectStore as _;
        let root = self.dir.path().join("data").join("variants");
        let mut on_disk = Vec::new();
        if let Ok(blobs) = std::fs::read_dir(&root) {
            for blob in blobs {
                let files: Vec<String> = std::fs::read_dir(blob.unwrap().path())
                    .unwrap()
                    .map(|f| f.unwrap().path().display().to_string())
                    .collect();
                assert!(!files.is_empty(), "a purged blob's directory is removed");
                on_disk.extend(files);
            }
        }
        let Some(rest) = self.blobs.as_deref().and_then(|b| b.strip_prefix("s3://")) else {
            return on_disk;
        };
        assert_eq!(on_disk, Vec::<String>::new(), "variants on the disk");
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder.build().unwrap();
        let under = object_store::path::Path::from(format!("{prefix}/variants"));
        store
            .list(Some(&under))
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .unwrap()
    }
}

fn app(text: &str) -> stowage_devserver::config::AppCredentials {
    use clap::Parser as _;
    Config::parse_from(["stowage-devserver", "--app", text])
        .apps
        .remove(0)
}

/// A `w`×`h` JPEG: a smooth gradient, and a checkerboard (detail) in its right eighth.
fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        if x > w * 7 / 8 {
            let v = if (x / 8 + y / 8) % 2 == 0 { 250 } else { 20 };
            image::Rgb([v, v, v])
        } else {
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 90])
        }
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

fn png_rgba(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, _| {
        image::Rgba([200, 30, 30, if x < w / 2 { 0 } else { 255 }])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6).
fn rotated_jpeg(w: u32, h: u32) -> Vec<u8> {
    let plain = jpeg(w, h);
    let tiff: &[u8] = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00";
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(tiff);
    let len = u16::try_from(app1.len() + 2).unwrap();
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A PNG whose header claims `w`×`h` pixels, followed by a few bytes of nothing.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let crc = crc32(&ihdr);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc.to_be_bytes());
    // An IDAT of 1000 zero bytes in a stored zlib block, and IEND: well formed up to the pixels.
    let mut zlib = vec![0x78, 0x01, 0x01, 0xE8, 0x03, 0x17, 0xFC];
    zlib.extend_from_slice(&[0; 1000]);
    zlib.extend_from_slice(&adler32(&[0; 1000]).to_be_bytes());
    for (kind, data) in [(&b"IDAT"[..], zlib), (&b"IEND"[..], Vec::new())] {
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(&data);
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    out
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A two-frame GIF: red, then blue.
fn animated_gif() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
        for color in [[255, 0, 0, 255], [0, 0, 255, 255]] {
            let frame = image::Frame::new(image::RgbaImage::from_pixel(40, 20, image::Rgba(color)));
            encoder.encode_frame(frame).unwrap();
        }
    }
    out
}

#[tokio::test]
async fn every_fit_gives_the_sizes_asked_and_never_upscales() {
    let w = World::new().await;
    w.upload(DEMO, "photos/p.jpg", jpeg(1200, 800), None).await;
    let cases: &[(&str, (u32, u32))] = &[
        ("/img/demo/unsafe/400x0/photos/p.jpg", (400, 267)),
        ("/img/demo/unsafe/400x400/photos/p.jpg", (400, 400)),
        ("/img/demo/unsafe/fit-in/400x400/photos/p.jpg", (400, 267)),
        ("/img/demo/unsafe/stretch/400x400/photos/p.jpg", (400, 400)),
        ("/img/demo/unsafe/400x400/smart/photos/p.jpg", (400, 400)),
        ("/img/demo/unsafe/photos/p.jpg", (1200, 800)),
        // Larger than the source: the source's own size, never more.
        ("/img/demo/unsafe/1600x0/photos/p.jpg", (1200, 800)),
        (
            "/img/demo/unsafe/fit-in/1600x1600/photos/p.jpg",
            (1200, 800),
        ),
        ("/img/demo/unsafe/1600x1600/photos/p.jpg", (800, 800)),
        (
            &*format!("{DEMO}/files/photos/p.jpg?width=256&height=256&resize=contain"),
            (256, 171),
        ),
        (
            &*format!("{DEMO}/files/photos/p.jpg?width=256&height=256&resize=fill"),
            (256, 256),
        ),
        (
            &*format!("{DEMO}/files/photos/p.jpg?width=256&height=256"),
            (256, 256),
        ),
        (&*format!("{DEMO}/files/photos/p.jpg?width=128"), (128, 85)),
    ];
    for (uri, size) in cases {
        let a = w.get(uri, Some(WEBP)).await;
        let (format, width, height) = a.image();
        assert_eq!(format, ImageFormat::WebP, "{uri}");
        assert_eq!((width, height), *size, "{uri}");
        assert_eq!(a.header(header::VARY), "Accept", "{uri}");
        assert_eq!(a.header(header::CACHE_CONTROL), "public, no-cache");
    }
    // The smart crop of a picture whose detail is at its right edge shows that detail (the
    // checkerboard: grey pixels, red = blue), where the centered crop shows the gradient (blue
    // fixed at 90, red varying).
    let smart = w
        .get("/img/demo/unsafe/400x400/smart/photos/p.jpg", Some(WEBP))
        .await;
    let centered = w
        .get("/img/demo/unsafe/400x400/photos/p.jpg", Some(WEBP))
        .await;
    let checkered = |a: &Answer| {
        let img = image::load_from_memory(&a.bytes).unwrap();
        (0..40)
            .filter(|i| {
                let p = img.get_pixel(399 - i, 100 + i * 5).0;
                (i32::from(p[0]) - i32::from(p[2])).abs() < 30 && (p[0] > 200 || p[0] < 60)
            })
            .count()
    };
    assert!(
        checkered(&smart) > 30,
        "the smart crop shows the checkerboard: {}",
        checkered(&smart)
    );
    assert_eq!(checkered(&centered), 0, "the centered crop does not");
}

#[tokio::test]
async fn formats_are_negotiated_asked_for_or_refused_and_variants_carry_no_metadata() {
    let w = World::new().await;
    w.upload(DEMO, "p.jpg", rotated_jpeg(300, 200), None).await;
    w.upload(DEMO, "alpha.png", png_rgba(64, 32), None).await;
    // No WebP in Accept: the source's own format, still `Vary: Accept`.
    let a = w.get("/img/demo/unsafe/photos/../p.jpg", None).await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "dot segments are refused"
    );
    let a = w.get("/img/demo/unsafe/p.jpg", Some("image/png,*/*")).await;
    // EXIF orientation 6 applied: 300×200 stored shows as 200×300.
    assert_eq!(a.image(), (ImageFormat::Jpeg, 200, 300));
    assert_eq!(a.header(header::CONTENT_TYPE), "image/jpeg");
    assert_eq!(a.header(header::VARY), "Accept");
    assert!(
        !a.bytes.windows(4).any(|w| w == b"Exif"),
        "the variant keeps no EXIF"
    );
    let a = w.get("/img/demo/unsafe/p.jpg", Some(WEBP)).await;
    assert_eq!(a.image(), (ImageFormat::WebP, 200, 300));
    // Asked for: no `Vary`.
    let a = w
        .get("/img/demo/unsafe/filters:format(png)/p.jpg", Some(WEBP))
        .await;
    assert_eq!(a.image(), (ImageFormat::Png, 200, 300));
    assert_eq!(a.header(header::VARY), "");
    let a = w
        .get(&format!("{DEMO}/files/p.jpg?format=origin"), Some(WEBP))
        .await;
    assert_eq!(a.image().0, ImageFormat::Jpeg);
    let a = w
        .get(
            &format!("{DEMO}/files/p.jpg?format=jpeg&quality=20"),
            Some(WEBP),
        )
        .await;
    let small = a.bytes.len();
    let a = w
        .get(
            &format!("{DEMO}/files/p.jpg?format=jpeg&quality=100"),
            Some(WEBP),
        )
        .await;
    assert!(
        a.bytes.len() > small,
        "quality 100 is larger than quality 20"
    );
    // Alpha survives into WebP and PNG.
    let a = w.get("/img/demo/unsafe/alpha.png", Some(WEBP)).await;
    assert_eq!(a.image().0, ImageFormat::WebP);
    let img = image::load_from_memory(&a.bytes).unwrap();
    assert_eq!(img.get_pixel(0, 0).0[3], 0);
    assert_eq!(img.get_pixel(63, 0).0[3], 255);
    let a = w.get("/img/demo/unsafe/alpha.png", None).await;
    assert_eq!(a.image(), (ImageFormat::Png, 64, 32));
    // AVIF only by name, never by negotiation (the Accept here lists it first), and with the
    // orientation and alpha of its source.
    let a = w.get("/img/demo/unsafe/p.jpg", Some(WEBP)).await;
    assert_eq!(a.header(header::CONTENT_TYPE), "image/webp");
    let a = w
        .get("/img/demo/unsafe/filters:format(avif)/p.jpg", Some(WEBP))
        .await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.bytes)
    );
    assert_eq!(a.header(header::CONTENT_TYPE), "image/avif");
    assert_eq!(&a.bytes[4..12], b"ftypavif", "an AVIF file");
    let size = imagesize::blob_size(&a.bytes).unwrap();
    assert_eq!((size.width, size.height), (200, 300));
    let a = w
        .get(
            &format!("{DEMO}/files/alpha.png?format=avif&width=64"),
            None,
        )
        .await;
    assert_eq!(a.header(header::CONTENT_TYPE), "image/avif");
    let size = imagesize::blob_size(&a.bytes).unwrap();
    assert_eq!((size.width, size.height), (64, 32));
    assert!(
        a.bytes.windows(4).any(|w| w == b"auxC"),
        "the alpha plane is kept (an auxiliary image)"
    );
    // Malformed transforms.
    for uri in [
        "/img/demo/unsafe/filters:quality(5)/p.jpg",
        "/img/demo/unsafe/2501x0/p.jpg",
        "/img/demo/unsafe/filters:sharpen(1)/p.jpg",
    ] {
        let a = w.get(uri, None).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, Some(8007)),
            "{uri}"
        );
    }
    let a = w
        .get(&format!("{DEMO}/files/p.jpg?width=64&widht=3"), None)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, Some(8007)));
}

#[tokio::test]
async fn unsigned_urls_take_only_the_allowlist_and_signed_ones_any_size() {
    let w = World::new().await;
    w.upload(DEMO, "p.jpg", jpeg(900, 600), None).await;
    for uri in [
        "/img/demo/unsafe/300x0/p.jpg",
        "/img/demo/unsafe/400x300/p.jpg",
    ] {
        let a = w.get(uri, Some(WEBP)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, Some(6104)),
            "{uri}"
        );
    }
    let a = w
        .get(&format!("{DEMO}/files/p.jpg?width=300"), Some(WEBP))
        .await;
    assert_eq!(a.code(), Some(6104));
    // The anonymous user may not sign.
    let req = Request::post(format!("{DEMO}/images/sign"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"path": "/p.jpg", "width": 300}).to_string(),
        ))
        .unwrap();
    assert_eq!(w.send(req).await.code(), Some(6021));
    let a = w.sign(DEMO, ADMIN, json!({"path": "/p.jpg", "width": 300, "height": 120, "fit": "contain", "format": "png"})).await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.bytes)
    );
    let signed = a.json();
    let local = |url: &str| {
        let rest = url.split_once("://").unwrap().1;
        rest[rest.find('/').unwrap()..].to_owned()
    };
    let url = local(signed["url"].as_str().unwrap());
    assert_eq!(
        w.get(&url, Some(WEBP)).await.image(),
        (ImageFormat::Png, 180, 120)
    );
    let query_url = local(signed["queryUrl"].as_str().unwrap());
    assert_eq!(
        w.get(&query_url, Some(WEBP)).await.image(),
        (ImageFormat::Png, 180, 120)
    );
    // A smart crop has only the thumbor form: its signed URL works, and no query URL is made.
    let a = w
        .sign(
            DEMO,
            ADMIN,
            json!({"path": "/p.jpg", "width": 300, "height": 300, "fit": "smart"}),
        )
        .await;
    let smart = a.json();
    assert_eq!(smart["queryUrl"], Value::Null, "{smart}");
    let smart_url = local(smart["url"].as_str().unwrap());
    assert!(smart_url.contains("/300x300/smart/"), "{smart_url}");
    assert_eq!(
        w.get(&smart_url, Some(WEBP)).await.image(),
        (ImageFormat::WebP, 300, 300)
    );
    // The same signature for another size, a changed one, or another file: refused.
    let sig = signed["signature"].as_str().unwrap();
    for uri in [
        url.replace("300x120", "301x120"),
        url.replace(
            sig,
            &format!(
                "{}{}",
                if sig.starts_with('A') { 'B' } else { 'A' },
                &sig[1..]
            ),
        ),
        url.replace("p.jpg", "q.jpg"),
        query_url.replace("width=300", "width=302"),
    ] {
        let a = w.get(&uri, Some(WEBP)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, Some(7003)),
            "{uri}"
        );
    }
    // A per-app allowlist replaces the default one.
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path().join("data")).await.unwrap();
    use clap::Parser as _;
    config.image_sizes = Config::parse_from(["x", "--image-sizes", "demo=300"]).image_sizes;
    let (router, _state) = stowage_devserver::testing::servers(&config, &dir.path().join("www"))
        .await
        .unwrap();
    let other = World {
        router,
        _state,
        dir,
        blobs: config.blobs.clone(),
    };
    other.upload(DEMO, "p.jpg", jpeg(900, 600), None).await;
    assert_eq!(
        other
            .get("/img/demo/unsafe/300x0/p.jpg", Some(WEBP))
            .await
            .image()
            .1,
        300
    );
    assert_eq!(
        other
            .get("/img/demo/unsafe/400x0/p.jpg", Some(WEBP))
            .await
            .code(),
        Some(6104)
    );
}

#[tokio::test]
async fn bombs_and_non_images_are_refused_before_decoding_with_clear_codes() {
    let w = World::new().await;
    w.upload(DEMO, "bomb.png", png_claiming(100_000, 100_000), None)
        .await;
    w.upload(DEMO, "wide.png", png_claiming(50_001, 1000), None)
        .await;
    w.upload(DEMO, "text.jpg", b"not an image at all".to_vec(), None)
        .await;
    let mut truncated = jpeg(800, 600);
    truncated.truncate(truncated.len() / 3);
    w.upload(DEMO, "cut.jpg", truncated, None).await;
    w.upload(DEMO, "empty.png", Vec::new(), None).await;
    let mut huge = jpeg(64, 64);
    huge.resize(25_000_001, 0);
    w.upload(DEMO, "huge.jpg", huge, None).await;
    for (path, status, code) in [
        ("bomb.png", StatusCode::PAYLOAD_TOO_LARGE, 6101),
        ("wide.png", StatusCode::PAYLOAD_TOO_LARGE, 6101),
        ("huge.jpg", StatusCode::PAYLOAD_TOO_LARGE, 6101),
        ("text.jpg", StatusCode::UNSUPPORTED_MEDIA_TYPE, 6102),
        ("empty.png", StatusCode::UNSUPPORTED_MEDIA_TYPE, 6102),
        ("cut.jpg", StatusCode::UNPROCESSABLE_ENTITY, 6103),
    ] {
        for uri in [
            format!("/img/demo/unsafe/128x0/{path}"),
            format!("{DEMO}/files/{path}?width=128"),
        ] {
            let a = w.get(&uri, Some(WEBP)).await;
            assert_eq!(
                (a.status, a.code()),
                (status, Some(code)),
                "{uri}: {}",
                String::from_utf8_lossy(&a.bytes)
            );
        }
    }
    let a = w
        .get("/img/demo/unsafe/128x0/missing.jpg", Some(WEBP))
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, Some(6000)));
    let a = w.get("/img/nosuchapp/unsafe/128x0/p.jpg", Some(WEBP)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // The file itself is still served as it is, without a transform query.
    assert_eq!(
        w.get(&format!("{DEMO}/files/text.jpg"), None).await.bytes,
        b"not an image at all"
    );
}

#[tokio::test]
async fn animations_give_their_first_frame_and_svg_is_served_as_it_is() {
    let w = World::new().await;
    w.upload(DEMO, "anim.gif", animated_gif(), None).await;
    let a = w.get("/img/demo/unsafe/anim.gif", Some(WEBP)).await;
    assert_eq!(a.image(), (ImageFormat::WebP, 40, 20));
    let px = image::load_from_memory(&a.bytes)
        .unwrap()
        .get_pixel(20, 10)
        .0;
    assert!(px[0] > 200 && px[2] < 60, "the first (red) frame: {px:?}");
    // Without WebP, a GIF (which no encoder here writes) comes as PNG.
    assert_eq!(
        w.get("/img/demo/unsafe/anim.gif", None).await.image().0,
        ImageFormat::Png
    );
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>"#;
    w.upload(DEMO, "logo.svg", svg.to_vec(), None).await;
    let a = w.get("/img/demo/unsafe/128x0/logo.svg", Some(WEBP)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.bytes, svg);
    assert_eq!(a.header(header::CONTENT_TYPE), "image/svg+xml");
    assert_eq!(a.header(header::CONTENT_SECURITY_POLICY), "sandbox");
}

#[tokio::test]
async fn variants_are_kept_once_answer_304_and_go_with_their_source() {
    let w = World::new().await;
    w.upload(DEMO, "p.jpg", jpeg(800, 600), None).await;
    let uri = "/img/demo/unsafe/256x0/p.jpg";
    // Identical concurrent misses: one file kept, every answer the same bytes.
    let answers = futures_util::future::join_all((0..8).map(|_| w.get(uri, Some(WEBP)))).await;
    assert!(answers
        .iter()
        .all(|a| a.bytes == answers[0].bytes && a.status == StatusCode::OK));
    assert_eq!(w.cached().await.len(), 1);
    let etag = answers[0].header(header::ETAG).to_owned();
    assert!(etag.starts_with("\"v"), "{etag}");
    let a = w
        .get_with(uri, Some(WEBP), &[("if-none-match", &etag)])
        .await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    assert!(a.bytes.is_empty());
    assert_eq!(a.header(header::ETAG), etag);
    // Another Accept is another variant, with another ETag.
    let jpeg_variant = w.get(uri, None).await;
    assert_ne!(jpeg_variant.header(header::ETAG), etag);
    assert_eq!(w.cached().await.len(), 2);
    // HEAD: the headers and no body.
    let head = w
        .send(
            Request::head(uri)
                .header(header::ACCEPT, WEBP)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!((head.status, head.bytes.len()), (StatusCode::OK, 0));
    assert_eq!(
        head.header(header::CONTENT_LENGTH),
        answers[0].bytes.len().to_string()
    );

    // Overwriting the source removes its variants; the new variant shows the new bytes.
    w.upload(DEMO, "p.jpg", jpeg(400, 400), None).await;
    assert_eq!(
        w.cached().await.len(),
        0,
        "the old variants went with the old bytes"
    );
    let a = w.get(uri, Some(WEBP)).await;
    assert_eq!(a.image(), (ImageFormat::WebP, 256, 256));
    assert_ne!(a.header(header::ETAG), etag);
    let a = w
        .get_with(uri, Some(WEBP), &[("if-none-match", &etag)])
        .await;
    assert_eq!(a.status, StatusCode::OK, "the old ETag no longer matches");
    // Deleting it removes them too, and the URL answers 404.
    let req = Request::delete(format!("{DEMO}/files/p.jpg"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(w.send(req).await.status, StatusCode::OK);
    assert_eq!(w.cached().await.len(), 0);
    assert_eq!(w.get(uri, Some(WEBP)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_variant_of_a_private_image_is_refused_to_everyone_who_may_not_read_it() {
    let w = World::new().await;
    let login = |name: &'static str| {
        let w = &w;
        async move {
            let email = format!("{name}@example.com");
            for (op, body) in [
                (
                    "register",
                    json!({"email": email, "password": "correct horse battery"}),
                ),
                (
                    "login",
                    json!({"login": email, "password": "correct horse battery"}),
                ),
            ] {
                let req = Request::post(format!("{LOCKED}/users/{op}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.to_string()))
                    .unwrap();
                let a = w.send(req).await;
                assert_eq!(a.status, StatusCode::OK, "{op}");
                if op == "login" {
                    return a.json()["user-token"].as_str().unwrap().to_owned();
                }
            }
            unreachable!()
        }
    };
    let alice = login("alice").await;
    let bob = login("bob").await;
    w.upload(LOCKED, "alice/me.jpg", jpeg(640, 480), Some(&alice))
        .await;
    let uri = "/img/locked/unsafe/128x0/alice/me.jpg";
    let mine = w.get_with(uri, Some(WEBP), &[("user-token", &alice)]).await;
    assert_eq!(mine.image(), (ImageFormat::WebP, 128, 96));
    assert_eq!(mine.header(header::CACHE_CONTROL), "private, no-cache");
    // Cached now; still refused to the anonymous user and to bob, in both grammars.
    for token in [None, Some(bob.as_str())] {
        let headers: Vec<(&str, &str)> = token.map(|t| ("user-token", t)).into_iter().collect();
        for u in [
            uri.to_owned(),
            format!("{LOCKED}/files/alice/me.jpg?width=128"),
        ] {
            let a = w.get_with(&u, Some(WEBP), &headers).await;
            // As a plain read of the file is refused: 403 NoPermission (the locked app's rules
            // grant the file to its owner alone).
            assert_eq!(
                (a.status, a.code()),
                (StatusCode::FORBIDDEN, Some(4000)),
                "{u} as {token:?}"
            );
            assert!(
                image::guess_format(&a.bytes).is_err(),
                "no image bytes leak"
            );
        }
    }
    // Bob may not get a signature for it either.
    let a = w
        .sign(LOCKED, &bob, json!({"path": "/alice/me.jpg", "width": 300}))
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, Some(4000)));
    // A signature alice got does not let bob read it.
    let signed = w
        .sign(
            LOCKED,
            &alice,
            json!({"path": "/alice/me.jpg", "width": 300}),
        )
        .await
        .json();
    let url = signed["url"].as_str().unwrap();
    let path = &url[url.find("/img/").unwrap()..];
    assert_eq!(
        w.get_with(path, Some(WEBP), &[("user-token", &alice)])
            .await
            .image()
            .1,
        300
    );
    let a = w.get_with(path, Some(WEBP), &[("user-token", &bob)]).await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, Some(4000)));
}
