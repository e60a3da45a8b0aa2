//! Images by URL: the canonical [`transform::Transform`] that both URL grammars parse into, and
//! [`render`], which makes a variant within the limits. The files service
//! (`files/variants.rs`) keeps the variants; `routes/images` serves them.

pub mod render;
mod smart;
pub mod transform;

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
