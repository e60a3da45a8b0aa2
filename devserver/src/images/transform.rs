//! The canonical transform of `stowage_protocol::images` (both URL grammars parse into it, and
//! the client writes them from it), plus what only the server does with it: media types, the
//! output format for a request, and the geometry of the variant.

pub use stowage_protocol::images::{
    Fit, Format, FormatChoice, Transform, TransformError, DEFAULT_QUALITY, MAX_SIDE,
};

/// A format's media type, on the server's side.
pub trait FormatExt: Sized {
    /// Its media type.
    fn mime(self) -> &'static str;

    /// The format of a media type, if an encoder here writes it.
    fn of_mime(mime: &str) -> Option<Self>;
}

impl FormatExt for Format {
    fn mime(self) -> &'static str {
        match self {
            Self::Webp => "image/webp",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Avif => "image/avif",
        }
    }

    fn of_mime(mime: &str) -> Option<Self> {
        match mime {
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }
}

/// What the server makes of a transform for one source and one request.
pub trait TransformExt {
    /// The format to write, given the source's format (`None` when it is one no encoder here
    /// writes, such as GIF) and whether the client accepts WebP.
    fn output_format(&self, source: Option<Format>, accepts_webp: bool) -> Format;

    /// The geometry of the variant of a `source`-sized image (after its EXIF orientation):
    /// never larger than the source on either side.
    fn geometry(&self, source: (u32, u32)) -> Geometry;
}

impl TransformExt for Transform {
    fn output_format(&self, source: Option<Format>, accepts_webp: bool) -> Format {
        match self.format {
            FormatChoice::Exactly(f) => f,
            FormatChoice::Auto if accepts_webp => Format::Webp,
            FormatChoice::Auto | FormatChoice::Origin => source.unwrap_or(Format::Png),
        }
    }

    fn geometry(&self, source: (u32, u32)) -> Geometry {
        let (sw, sh) = (source.0.max(1), source.1.max(1));
        let full = Crop {
            left: 0.0,
            top: 0.0,
            width: f64::from(sw),
            height: f64::from(sh),
        };
        let (w, h) = (self.width, self.height);
        let fitted = |scale: f64| {
            let scale = scale.min(1.0);
            Geometry {
                crop: full,
                width: scaled(sw, scale),
                height: scaled(sh, scale),
            }
        };
        match (w, h) {
            (0, 0) => fitted(1.0),
            (w, 0) => fitted(f64::from(w) / f64::from(sw)),
            (0, h) => fitted(f64::from(h) / f64::from(sh)),
            (w, h) => match self.fit {
                Fit::Contain => {
                    fitted((f64::from(w) / f64::from(sw)).min(f64::from(h) / f64::from(sh)))
                }
                Fit::Fill => Geometry {
                    crop: full,
                    width: w.min(sw),
                    height: h.min(sh),
                },
                Fit::Cover { .. } => {
                    let scale = (f64::from(w) / f64::from(sw)).max(f64::from(h) / f64::from(sh));
                    let crop_w = (f64::from(w) / scale).min(f64::from(sw));
                    let crop_h = (f64::from(h) / scale).min(f64::from(sh));
                    let crop = Crop {
                        left: (f64::from(sw) - crop_w) / 2.0,
                        top: (f64::from(sh) - crop_h) / 2.0,
                        width: crop_w,
                        height: crop_h,
                    };
                    // Asked for more than the source has: the crop at its own size.
                    let (width, height) = if scale > 1.0 {
                        (scaled_f(crop_w), scaled_f(crop_h))
                    } else {
                        (w, h)
                    };
                    Geometry {
                        crop,
                        width,
                        height,
                    }
                }
            },
        }
    }
}

fn scaled(side: u32, scale: f64) -> u32 {
    scaled_f(f64::from(side) * scale)
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn scaled_f(x: f64) -> u32 {
    (x.round() as u32).max(1)
}

/// A region of the source, in source pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crop {
    /// From the left edge.
    pub left: f64,
    /// From the top edge.
    pub top: f64,
    /// Its width.
    pub width: f64,
    /// Its height.
    pub height: f64,
}

/// What a variant is cut from and its size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// The region of the source it shows (centered; a smart crop moves it).
    pub crop: Crop,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_never_upscales_and_keeps_the_aspect_where_asked() {
        let t = |fit, width, height| Transform {
            fit,
            width,
            height,
            ..Transform::default()
        };
        let cover = Fit::Cover { smart: false };
        // 4000×3000 source.
        let g = t(Fit::Contain, 400, 400).geometry((4000, 3000));
        assert_eq!((g.width, g.height), (400, 300));
        let g = t(cover, 400, 400).geometry((4000, 3000));
        assert_eq!((g.width, g.height), (400, 400));
        assert_eq!(
            (g.crop.width, g.crop.height, g.crop.left, g.crop.top),
            (3000.0, 3000.0, 500.0, 0.0)
        );
        let g = t(Fit::Fill, 400, 400).geometry((4000, 3000));
        assert_eq!((g.width, g.height, g.crop.width), (400, 400, 4000.0));
        let g = t(cover, 400, 0).geometry((4000, 3000));
        assert_eq!((g.width, g.height), (400, 300));
        let g = t(cover, 0, 0).geometry((4000, 3000));
        assert_eq!((g.width, g.height), (4000, 3000));
        // Larger than a 200×100 source: never upscaled.
        let g = t(Fit::Contain, 800, 800).geometry((200, 100));
        assert_eq!((g.width, g.height), (200, 100));
        let g = t(cover, 800, 800).geometry((200, 100));
        assert_eq!((g.width, g.height), (100, 100));
        let g = t(Fit::Fill, 800, 50).geometry((200, 100));
        assert_eq!((g.width, g.height), (200, 50));
        let g = t(cover, 1600, 0).geometry((200, 100));
        assert_eq!((g.width, g.height), (200, 100));
    }
}
