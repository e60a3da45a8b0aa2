//! The canonical transform, and the two URL grammars that parse into it:
//!
//! - thumbor / bkend style, the path after `/img/{appId}/{signature|unsafe}/`:
//!   `[fit-in/|stretch/][{w}x{h}/][smart/][filters:quality(80):format(webp)/]{path}`
//!   (`format(origin)` too, so that every transform has a URL in both);
//! - Supabase style, the query of a file URL:
//!   `?width=&height=&resize=cover|contain|fill&quality=&format=origin|webp|jpeg|png|avif`.
//!
//! A side of 0 (or none) is automatic: it follows from the other side and the source's aspect.

use std::fmt;

/// The largest side a variant may ask for.
pub const MAX_SIDE: u32 = 2500;
/// The quality when none is asked for.
pub const DEFAULT_QUALITY: u8 = 80;

/// How the source is fitted into the asked box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fit {
    /// Scaled to fit inside the box, aspect kept (thumbor `fit-in`, Supabase `contain`).
    Contain,
    /// Scaled to cover the box and cropped to it (thumbor's default, Supabase `cover`); `smart`
    /// crops where the picture has the most detail instead of at the center.
    Cover {
        /// Crop at the busiest region instead of the center.
        smart: bool,
    },
    /// Stretched to the box, aspect not kept (thumbor `stretch`, Supabase `fill`).
    Fill,
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Lossy WebP (libwebp).
    Webp,
    /// Baseline JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// AVIF.
    Avif,
}

impl Format {
    /// Its name in URLs.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Webp => "webp",
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Avif => "avif",
        }
    }

    /// Its media type.
    #[must_use]
    pub const fn mime(self) -> &'static str {
        match self {
            Self::Webp => "image/webp",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Avif => "image/avif",
        }
    }

    /// The format of a media type, if an encoder here writes it.
    #[must_use]
    pub fn of_mime(mime: &str) -> Option<Self> {
        match mime {
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<Self, TransformError> {
        match text.to_ascii_lowercase().as_str() {
            "webp" => Ok(Self::Webp),
            "jpeg" | "jpg" => Ok(Self::Jpeg),
            "png" => Ok(Self::Png),
            "avif" => Ok(Self::Avif),
            _ => Err(TransformError(format!(
                "format must be webp, jpeg, png or avif, not {text:?}"
            ))),
        }
    }
}

/// Which format the variant is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatChoice {
    /// None asked: WebP for clients whose `Accept` takes it, else the source's own format.
    Auto,
    /// The source's own format (Supabase `origin`).
    Origin,
    /// This one.
    Exactly(Format),
}

/// A transform in its one canonical form: two URLs that mean the same transform give equal
/// values, the same cache key and the same signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transform {
    /// How the source fits the box.
    pub fit: Fit,
    /// Width asked, 0 for automatic.
    pub width: u32,
    /// Height asked, 0 for automatic.
    pub height: u32,
    /// 20–100.
    pub quality: u8,
    /// The output format.
    pub format: FormatChoice,
}

impl Default for Transform {
    fn default() -> Self {
        Self {
            fit: Fit::Cover { smart: false },
            width: 0,
            height: 0,
            quality: DEFAULT_QUALITY,
            format: FormatChoice::Auto,
        }
    }
}

/// A transform a URL cannot mean, with the reason (answered as 400 `InvalidParameter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformError(pub String);

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn side(text: &str, what: &str) -> Result<u32, TransformError> {
    if text.is_empty() {
        return Ok(0);
    }
    let n: u32 = text.parse().map_err(|_| {
        TransformError(format!(
            "{what} must be a whole number of pixels, not {text:?}"
        ))
    })?;
    if n > MAX_SIDE {
        return Err(TransformError(format!(
            "{what} is at most {MAX_SIDE} pixels, not {n}"
        )));
    }
    Ok(n)
}

fn quality(text: &str) -> Result<u8, TransformError> {
    match text.parse::<u8>() {
        Ok(q) if (20..=100).contains(&q) => Ok(q),
        _ => Err(TransformError(format!(
            "quality must be 20 to 100, not {text:?}"
        ))),
    }
}

impl Transform {
    /// Parses the thumbor-style options in front of the file's path, `rest` being everything
    /// after the signature segment. Answers the transform and the file's path (still
    /// percent-encoded, as it was in the URL).
    pub fn parse_thumbor(rest: &str) -> Result<(Self, &str), TransformError> {
        let mut t = Self::default();
        let mut rest = rest.trim_start_matches('/');
        let take = |rest: &mut &str, pred: &dyn Fn(&str) -> bool| -> Option<String> {
            let (segment, after) = rest.split_once('/')?;
            pred(segment).then(|| {
                *rest = after;
                segment.to_owned()
            })
        };
        if take(&mut rest, &|s| s == "fit-in").is_some() {
            t.fit = Fit::Contain;
        } else if take(&mut rest, &|s| s == "stretch").is_some() {
            t.fit = Fit::Fill;
        }
        let is_size = |s: &str| {
            s.split_once('x').is_some_and(|(w, h)| {
                w.bytes().all(|b| b.is_ascii_digit()) && h.bytes().all(|b| b.is_ascii_digit())
            })
        };
        if let Some(size) = take(&mut rest, &is_size) {
            let (w, h) = size.split_once('x').unwrap_or_default();
            t.width = side(w, "width")?;
            t.height = side(h, "height")?;
        }
        if take(&mut rest, &|s| s == "smart").is_some() {
            match t.fit {
                Fit::Cover { .. } => t.fit = Fit::Cover { smart: true },
                _ => {
                    return Err(TransformError(
                        "smart crops only without fit-in or stretch".into(),
                    ))
                }
            }
        }
        if let Some(filters) = take(&mut rest, &|s| s.starts_with("filters:")) {
            for filter in filters["filters:".len()..]
                .split(':')
                .filter(|f| !f.is_empty())
            {
                let (name, arg) = filter
                    .strip_suffix(')')
                    .and_then(|f| f.split_once('('))
                    .ok_or_else(|| TransformError(format!("malformed filter {filter:?}")))?;
                match name {
                    "quality" => t.quality = quality(arg)?,
                    "format" if arg == "origin" => t.format = FormatChoice::Origin,
                    "format" => t.format = FormatChoice::Exactly(Format::parse(arg)?),
                    _ => {
                        return Err(TransformError(format!(
                            "unknown filter {name:?}: quality() and format() are supported"
                        )))
                    }
                }
            }
        }
        if rest.is_empty() {
            return Err(TransformError("no file path after the options".into()));
        }
        Ok((t, rest))
    }

    /// Parses a Supabase-style query (`width`, `height`, `resize`, `quality`, `format`); any
    /// other parameter is refused, so a typo does not silently serve the original. Answers
    /// `None` when the query asks for no transform at all.
    pub fn parse_query(pairs: &[(String, String)]) -> Result<Option<Self>, TransformError> {
        let mut t = Self::default();
        let mut any = false;
        for (key, value) in pairs {
            match key.as_str() {
                "width" => t.width = side(value, "width")?,
                "height" => t.height = side(value, "height")?,
                "resize" => {
                    t.fit = match value.as_str() {
                        "cover" => Fit::Cover { smart: false },
                        "contain" => Fit::Contain,
                        "fill" => Fit::Fill,
                        _ => {
                            return Err(TransformError(format!(
                                "resize must be cover, contain or fill, not {value:?}"
                            )))
                        }
                    }
                }
                "quality" => t.quality = quality(value)?,
                "format" => {
                    t.format = if value == "origin" {
                        FormatChoice::Origin
                    } else {
                        FormatChoice::Exactly(Format::parse(value)?)
                    }
                }
                // The signature of a signed query URL; checked by the caller.
                "signature" => continue,
                _ => return Err(TransformError(format!("unknown image parameter {key:?}"))),
            }
            any = true;
        }
        Ok(any.then_some(t))
    }

    /// The canonical text: what signatures sign and cache keys hold.
    #[must_use]
    pub fn canonical(&self) -> String {
        let fit = match self.fit {
            Fit::Contain => "contain",
            Fit::Cover { smart: false } => "cover",
            Fit::Cover { smart: true } => "smart",
            Fit::Fill => "fill",
        };
        let format = match self.format {
            FormatChoice::Auto => "auto",
            FormatChoice::Origin => "origin",
            FormatChoice::Exactly(f) => f.name(),
        };
        format!(
            "{fit},{}x{},q{},{format}",
            self.width, self.height, self.quality
        )
    }

    /// The format to write, given the source's format (`None` when it is one no encoder here
    /// writes, such as GIF) and whether the client accepts WebP.
    #[must_use]
    pub fn output_format(&self, source: Option<Format>, accepts_webp: bool) -> Format {
        match self.format {
            FormatChoice::Exactly(f) => f,
            FormatChoice::Auto if accepts_webp => Format::Webp,
            FormatChoice::Auto | FormatChoice::Origin => source.unwrap_or(Format::Png),
        }
    }

    /// The geometry of the variant of a `source`-sized image (after its EXIF orientation):
    /// never larger than the source on either side.
    #[must_use]
    pub fn geometry(&self, source: (u32, u32)) -> Geometry {
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

    fn pairs(q: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }

    #[test]
    fn both_grammars_give_one_canonical_transform() {
        let (a, path) = Transform::parse_thumbor(
            "fit-in/400x300/filters:quality(70):format(webp)/photos/a b.jpg",
        )
        .unwrap();
        assert_eq!(path, "photos/a b.jpg");
        let b = Transform::parse_query(&pairs(
            "width=400&height=300&resize=contain&quality=70&format=webp",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.canonical(), "contain,400x300,q70,webp");
        let (c, _) = Transform::parse_thumbor("400x0/photos/a.jpg").unwrap();
        assert_eq!(c.canonical(), "cover,400x0,q80,auto");
        let (d, p) = Transform::parse_thumbor("x200/smart/a.png").unwrap();
        assert_eq!(
            (d.canonical().as_str(), p),
            ("smart,0x200,q80,auto", "a.png")
        );
        let (e, _) = Transform::parse_thumbor("stretch/10x20/a.png").unwrap();
        assert_eq!(e.fit, Fit::Fill);
        // A path whose first segment merely looks like an option is still a path.
        let (f, p) = Transform::parse_thumbor("a.png").unwrap();
        assert_eq!((f, p), (Transform::default(), "a.png"));
        assert_eq!(Transform::parse_query(&pairs("")).unwrap(), None);
        assert_eq!(
            Transform::parse_query(&pairs("format=origin"))
                .unwrap()
                .unwrap()
                .format,
            FormatChoice::Origin
        );
    }

    #[test]
    fn what_no_url_may_ask_is_refused_with_the_reason() {
        for bad in [
            "2501x0/a.jpg",
            "fit-in/smart/a.jpg",
            "filters:quality(19)/a.jpg",
            "filters:quality(101)/a.jpg",
            "filters:format(bmp)/a.jpg",
            "filters:blur(3)/a.jpg",
            "filters:quality(80/a.jpg",
            "100x100/",
        ] {
            assert!(Transform::parse_thumbor(bad).is_err(), "{bad}");
        }
        for bad in [
            "width=-1",
            "width=2501",
            "height=x",
            "resize=crop",
            "quality=5",
            "format=tiff",
            "widht=10",
        ] {
            assert!(Transform::parse_query(&pairs(bad)).is_err(), "{bad}");
        }
    }

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
