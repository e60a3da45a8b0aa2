//! Images by URL: the canonical [`transform::Transform`] that both URL grammars parse into, and
//! [`render`], which makes a variant within the limits. The files service
//! (`files/variants.rs`) keeps the variants; `routes/images` serves them.

pub mod render;
mod smart;
pub mod transform;

use transform::{FormatExt as _, TransformExt as _};

/// Lowercase hex.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The sizes an unsigned URL may ask for unless the app sets its own: these widths with
/// automatic height, and the same as squares.
pub const DEFAULT_SIZES: [u32; 7] = [64, 128, 256, 400, 800, 1200, 1600];

/// Whether an unsigned URL may ask for `width`×`height` (0 = automatic). The original size
/// (both automatic) is allowed: it only re-encodes.
#[must_use]
pub fn unsigned_allowed(sizes: &[u32], width: u32, height: u32) -> bool {
    (height == 0 && (width == 0 || sizes.contains(&width)))
        || (width == height && sizes.contains(&width))
}

/// `stowage-devserver transform IN OUT --spec SPEC`: one variant of a local file, and a JSON
/// line of what it took: `ms` (read to encoded, without the file I/O), `peakRssBytes` (the
/// process's high-water mark, `VmHWM`), `rssBeforeBytes` (its RSS before reading the source:
/// the peak less this is the transform's own memory, source bytes included), the phases'
/// `decodeMs`, `resizeMs` and `encodeMs`, the output's `width`, `height` and `bytes`.
pub fn transform_file(
    input: &std::path::Path,
    output: &std::path::Path,
    spec: &str,
) -> Result<String, String> {
    let spec = spec.trim_matches('/');
    let with_path = if spec.is_empty() {
        "x".to_owned()
    } else {
        format!("{spec}/x")
    };
    let (transform, _) =
        transform::Transform::parse_thumbor(&with_path).map_err(|e| e.to_string())?;
    let before = status_bytes("VmRSS:");
    let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let started = std::time::Instant::now();
    let probe = render::probe(&bytes).map_err(|e| e.to_string())?;
    let own = transform::Format::of_mime(probe.format.to_mime_type());
    let format = transform.output_format(own, true);
    let out = render::render(&bytes, &transform, format).map_err(|e| e.to_string())?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    std::fs::write(output, &out.bytes).map_err(|e| format!("{}: {e}", output.display()))?;
    let peak = status_bytes("VmHWM:");
    Ok(serde_json::json!({
        "ms": (ms * 100.0).round() / 100.0,
        "decodeMs": millis(out.timings.decode),
        "resizeMs": millis(out.timings.resize),
        "encodeMs": millis(out.timings.encode),
        "peakRssBytes": peak,
        "rssBeforeBytes": before,
        "width": out.width,
        "height": out.height,
        "bytes": out.bytes.len(),
        "format": out.format.name(),
    })
    .to_string())
}

fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

/// A `kB` figure of `/proc/self/status`, in bytes (0 where there is none).
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
