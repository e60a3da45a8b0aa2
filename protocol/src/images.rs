//! The image-URL grammar the client writes and the server reads: one canonical [`Transform`]
//! and the two URL forms that parse into it (and are written from it):
//!
//! - thumbor / bkend style, the path after `/img/{appId}/{signature|unsafe}/`:
//!   `[fit-in/|stretch/][{w}x{h}/][smart/][filters:quality(80):format(webp)/]{path}`
//!   (`format(origin)` too, so that every transform has a URL in both);
//! - Supabase style, the query of a file URL:
//!   `?width=&height=&resize=cover|contain|fill&quality=&format=origin|webp|jpeg|png|avif`.
//!
//! A side of 0 (or none) is automatic: it follows from the other side and the source's aspect.

use std::ops::RangeInclusive;

/// The largest side a variant may ask for.
pub const MAX_SIDE: u32 = 2500;
/// The quality when none is asked for.
pub const DEFAULT_QUALITY: u8 = 80;
/// The qualities a variant may ask for.
pub const QUALITIES: RangeInclusive<u8> = 20..=100;

/// The thumbor option that fits the source inside the box ([`Fit::Contain`]).
const FIT_IN: &str = "fit-in";
/// The thumbor option that stretches the source to the box ([`Fit::Fill`]).
const STRETCH: &str = "stretch";
/// The thumbor option that crops where the detail is (`Fit::Cover { smart: true }`).
const SMART: &str = "smart";
/// The start of the thumbor filters segment.
const FILTERS: &str = "filters:";

/// The query parameter of the width.
pub const WIDTH: &str = "width";
/// The query parameter of the height.
pub const HEIGHT: &str = "height";
/// The query parameter of the fit (`cover`, `contain` or `fill`).
pub const RESIZE: &str = "resize";
/// The query parameter (and thumbor filter) of the quality.
pub const QUALITY: &str = "quality";
/// The query parameter (and thumbor filter) of the output format.
pub const FORMAT: &str = "format";
/// The query parameter of a signed query URL's signature (not part of the transform).
pub const SIGNATURE: &str = "signature";
/// The query parameters that ask for a variant: any one of them makes a file URL an image URL.
pub const QUERY_PARAMS: [&str; 5] = [WIDTH, HEIGHT, RESIZE, QUALITY, FORMAT];

/// The name of [`FormatChoice::Origin`] in both grammars.
const ORIGIN: &str = "origin";

/// A transform no URL may ask for, with the reason (the server answers 400 `InvalidParameter`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// A side that is not a whole number.
    #[error("{what} must be a whole number of pixels, not {text:?}")]
    NotPixels {
        /// `width` or `height`.
        what: &'static str,
        /// What was asked.
        text: String,
    },
    /// A side larger than [`MAX_SIDE`].
    #[error("{what} is at most {MAX_SIDE} pixels, not {side}")]
    TooLarge {
        /// `width` or `height`.
        what: &'static str,
        /// What was asked.
        side: u32,
    },
    /// A quality outside [`QUALITIES`], or not a number.
    #[error("quality must be 20 to 100, not {0:?}")]
    Quality(String),
    /// A format name other than those of [`Format`] (and `origin` where it is taken).
    #[error("format must be webp, jpeg, png or avif, not {0:?}")]
    Format(String),
    /// A query `resize` other than `cover`, `contain` or `fill`.
    #[error("resize must be cover, contain or fill, not {0:?}")]
    Resize(String),
    /// A fit name other than those of [`Fit::name`].
    #[error("fit must be cover, smart, contain or fill, not {0:?}")]
    Fit(String),
    /// `smart` after `fit-in` or `stretch`.
    #[error("smart crops only without fit-in or stretch")]
    SmartWithoutCover,
    /// A filter that is not `name(argument)`.
    #[error("malformed filter {0:?}")]
    MalformedFilter(String),
    /// A filter other than `quality()` and `format()`.
    #[error("unknown filter {0:?}: quality() and format() are supported")]
    UnknownFilter(String),
    /// A query parameter other than [`QUERY_PARAMS`] and [`SIGNATURE`].
    #[error("unknown image parameter {0:?}")]
    UnknownParameter(String),
    /// Thumbor options with no file path after them.
    #[error("no file path after the options")]
    NoPath,
}

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

impl Default for Fit {
    fn default() -> Self {
        Self::Cover { smart: false }
    }
}

impl Fit {
    /// Its name in the canonical text and in the client's options: `cover`, `smart`,
    /// `contain` or `fill`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Contain => "contain",
            Self::Cover { smart: false } => "cover",
            Self::Cover { smart: true } => SMART,
            Self::Fill => "fill",
        }
    }

    /// The fit a [`Fit::name`] names.
    pub fn parse(name: &str) -> Result<Self, TransformError> {
        [
            Self::Cover { smart: false },
            Self::Cover { smart: true },
            Self::Contain,
            Self::Fill,
        ]
        .into_iter()
        .find(|f| f.name() == name)
        .ok_or_else(|| TransformError::Fit(name.to_owned()))
    }

    /// The fit of a query's `resize` (which has no smart crop).
    fn parse_resize(name: &str) -> Result<Self, TransformError> {
        match Self::parse(name) {
            Ok(f) if f != (Self::Cover { smart: true }) => Ok(f),
            _ => Err(TransformError::Resize(name.to_owned())),
        }
    }
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Lossy WebP.
    Webp,
    /// Baseline JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// AVIF.
    Avif,
}

impl Format {
    /// Every format, in the order the error messages name them.
    pub const ALL: [Self; 4] = [Self::Webp, Self::Jpeg, Self::Png, Self::Avif];

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

    /// The format a name names, in any case; `jpg` is JPEG too.
    pub fn parse(text: &str) -> Result<Self, TransformError> {
        let name = text.to_ascii_lowercase();
        let name = if name == "jpg" { "jpeg" } else { &name };
        Self::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| TransformError::Format(text.to_owned()))
    }
}

/// Which format the variant is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FormatChoice {
    /// None asked: WebP for clients whose `Accept` takes it, else the source's own format.
    #[default]
    Auto,
    /// The source's own format (Supabase `origin`).
    Origin,
    /// This one.
    Exactly(Format),
}

impl FormatChoice {
    /// Its name in the canonical text: `auto`, `origin` or a [`Format::name`].
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Origin => ORIGIN,
            Self::Exactly(f) => f.name(),
        }
    }

    /// The choice a URL names: `origin` or a [`Format`] name. [`FormatChoice::Auto`] has no
    /// name in URLs: it is what leaving the format out means.
    pub fn parse(text: &str) -> Result<Self, TransformError> {
        if text == ORIGIN {
            Ok(Self::Origin)
        } else {
            Format::parse(text).map(Self::Exactly)
        }
    }
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
    /// In [`QUALITIES`].
    pub quality: u8,
    /// The output format.
    pub format: FormatChoice,
}

impl Default for Transform {
    fn default() -> Self {
        Self {
            fit: Fit::default(),
            width: 0,
            height: 0,
            quality: DEFAULT_QUALITY,
            format: FormatChoice::Auto,
        }
    }
}

/// Checks a side asked as a number (`what` is `width` or `height`): at most [`MAX_SIDE`].
pub fn side(side: u32, what: &'static str) -> Result<u32, TransformError> {
    if side > MAX_SIDE {
        return Err(TransformError::TooLarge { what, side });
    }
    Ok(side)
}

/// Checks a quality asked as a number: in [`QUALITIES`].
pub fn quality(quality: u8) -> Result<u8, TransformError> {
    if QUALITIES.contains(&quality) {
        Ok(quality)
    } else {
        Err(TransformError::Quality(quality.to_string()))
    }
}

/// A side as written in a URL: empty for automatic, else a whole number of pixels.
fn side_text(text: &str, what: &'static str) -> Result<u32, TransformError> {
    if text.is_empty() {
        return Ok(0);
    }
    let n = text.parse().map_err(|_| TransformError::NotPixels {
        what,
        text: text.to_owned(),
    })?;
    side(n, what)
}

/// A quality as written in a URL.
fn quality_text(text: &str) -> Result<u8, TransformError> {
    text.parse()
        .ok()
        .filter(|q| QUALITIES.contains(q))
        .ok_or_else(|| TransformError::Quality(text.to_owned()))
}

/// Whether a thumbor segment is a size, `{w}x{h}` with either side possibly empty.
fn is_size(segment: &str) -> bool {
    segment.split_once('x').is_some_and(|(w, h)| {
        w.bytes().all(|b| b.is_ascii_digit()) && h.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Whether a file URL's query asks for an image variant (names any of [`QUERY_PARAMS`]).
#[must_use]
pub fn is_image_query(pairs: &[(String, String)]) -> bool {
    pairs
        .iter()
        .any(|(k, _)| QUERY_PARAMS.contains(&k.as_str()))
}

impl Transform {
    /// Parses the thumbor-style options in front of the file's path, `rest` being everything
    /// after the signature segment. Answers the transform and the file's path (still
    /// percent-encoded, as it was in the URL).
    pub fn parse_thumbor(rest: &str) -> Result<(Self, &str), TransformError> {
        let mut t = Self::default();
        let mut rest = rest.trim_start_matches('/');
        // The next segment, consumed when `pred` takes it (the last one is always the path).
        let mut take = |pred: &dyn Fn(&str) -> bool| -> Option<&str> {
            let (segment, after) = rest.split_once('/')?;
            pred(segment).then(|| {
                rest = after;
                segment
            })
        };
        if take(&|s| s == FIT_IN).is_some() {
            t.fit = Fit::Contain;
        } else if take(&|s| s == STRETCH).is_some() {
            t.fit = Fit::Fill;
        }
        if let Some((w, h)) = take(&is_size).and_then(|s| s.split_once('x')) {
            t.width = side_text(w, WIDTH)?;
            t.height = side_text(h, HEIGHT)?;
        }
        if take(&|s| s == SMART).is_some() {
            if t.fit != Fit::default() {
                return Err(TransformError::SmartWithoutCover);
            }
            t.fit = Fit::Cover { smart: true };
        }
        if let Some(filters) = take(&|s| s.starts_with(FILTERS)) {
            for filter in filters[FILTERS.len()..]
                .split(':')
                .filter(|f| !f.is_empty())
            {
                let (name, arg) = filter
                    .strip_suffix(')')
                    .and_then(|f| f.split_once('('))
                    .ok_or_else(|| TransformError::MalformedFilter(filter.to_owned()))?;
                match name {
                    QUALITY => t.quality = quality_text(arg)?,
                    FORMAT => t.format = FormatChoice::parse(arg)?,
                    _ => return Err(TransformError::UnknownFilter(name.to_owned())),
                }
            }
        }
        if rest.is_empty() {
            return Err(TransformError::NoPath);
        }
        Ok((t, rest))
    }

    /// The thumbor options that [`Transform::parse_thumbor`] reads back into `self`, ending in
    /// `/`: `[fit-in/|stretch/]{w}x{h}/[smart/]filters:quality(q)[:format(f)]/`. The filters
    /// segment is always written, so that no file path after it (say `smart/a.jpg`) can be
    /// taken for an option.
    #[must_use]
    pub fn thumbor_segments(&self) -> String {
        let mut out = String::new();
        let mut segment = |text: &str| {
            out.push_str(text);
            out.push('/');
        };
        match self.fit {
            Fit::Contain => segment(FIT_IN),
            Fit::Fill => segment(STRETCH),
            Fit::Cover { .. } => {}
        }
        segment(&format!("{}x{}", self.width, self.height));
        if self.fit == (Fit::Cover { smart: true }) {
            segment(SMART);
        }
        let format = match self.format {
            FormatChoice::Auto => String::new(),
            choice => format!(":{FORMAT}({})", choice.name()),
        };
        segment(&format!("{FILTERS}{QUALITY}({}){format}", self.quality));
        out
    }

    /// Parses a Supabase-style query (`width`, `height`, `resize`, `quality`, `format`); any
    /// other parameter but `signature` is refused, so a typo does not silently serve the
    /// original. Answers `None` when the query asks for no transform at all.
    pub fn parse_query(pairs: &[(String, String)]) -> Result<Option<Self>, TransformError> {
        let mut t = Self::default();
        let mut any = false;
        for (key, value) in pairs {
            match key.as_str() {
                WIDTH => t.width = side_text(value, WIDTH)?,
                HEIGHT => t.height = side_text(value, HEIGHT)?,
                RESIZE => t.fit = Fit::parse_resize(value)?,
                QUALITY => t.quality = quality_text(value)?,
                FORMAT => t.format = FormatChoice::parse(value)?,
                // The signature of a signed query URL; checked by the caller.
                SIGNATURE => continue,
                _ => return Err(TransformError::UnknownParameter(key.clone())),
            }
            any = true;
        }
        Ok(any.then_some(t))
    }

    /// The query pairs that [`Transform::parse_query`] reads back into `self`: the width and
    /// height always, the rest where they are not the default. `None` for a smart crop, which
    /// the query grammar cannot ask for.
    #[must_use]
    pub fn query_pairs(&self) -> Option<Vec<(&'static str, String)>> {
        if self.fit == (Fit::Cover { smart: true }) {
            return None;
        }
        let mut pairs = vec![
            (WIDTH, self.width.to_string()),
            (HEIGHT, self.height.to_string()),
        ];
        if self.fit != Fit::default() {
            pairs.push((RESIZE, self.fit.name().to_owned()));
        }
        if self.quality != DEFAULT_QUALITY {
            pairs.push((QUALITY, self.quality.to_string()));
        }
        if self.format != FormatChoice::Auto {
            pairs.push((FORMAT, self.format.name().to_owned()));
        }
        Some(pairs)
    }

    /// The canonical text: what signatures sign and cache keys hold.
    #[must_use]
    pub fn canonical(&self) -> String {
        format!(
            "{},{}x{},q{},{}",
            self.fit.name(),
            self.width,
            self.height,
            self.quality,
            self.format.name()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A query as the server splits it (no percent-decoding is needed for these values).
    fn pairs(q: &str) -> Vec<(String, String)> {
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    fn owned(pairs: Vec<(&str, String)>) -> Vec<(String, String)> {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
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
        let (j, _) = Transform::parse_thumbor("filters:format(JPG)/a.png").unwrap();
        assert_eq!(j.format, FormatChoice::Exactly(Format::Jpeg));
        // A path whose first segment merely looks like an option is still a path.
        let (f, p) = Transform::parse_thumbor("a.png").unwrap();
        assert_eq!((f, p), (Transform::default(), "a.png"));
        assert_eq!(Transform::parse_query(&pairs("")).unwrap(), None);
        assert_eq!(Transform::parse_query(&pairs("signature=s")).unwrap(), None);
        assert_eq!(
            Transform::parse_query(&pairs("format=origin"))
                .unwrap()
                .unwrap()
                .format,
            FormatChoice::Origin
        );
    }

    #[test]
    fn thumbor_segments_end_in_filters_so_the_path_is_never_an_option() {
        let t = Transform {
            width: 400,
            ..Transform::default()
        };
        assert_eq!(t.thumbor_segments(), "400x0/filters:quality(80)/");
        let smart = Transform {
            fit: Fit::Cover { smart: true },
            width: 128,
            height: 128,
            quality: 70,
            format: FormatChoice::Exactly(Format::Webp),
        };
        assert_eq!(
            smart.thumbor_segments(),
            "128x128/smart/filters:quality(70):format(webp)/"
        );
        let path = "smart/filters:quality(20)/a.jpg";
        let url = format!("{}{path}", t.thumbor_segments());
        assert_eq!(Transform::parse_thumbor(&url).unwrap(), (t, path));
    }

    #[test]
    fn what_no_url_may_ask_is_refused_with_the_reason() {
        use TransformError as E;
        let thumbor = |rest: &str| Transform::parse_thumbor(rest).map(|(t, _)| t);
        let refusals = [
            (
                "2501x0/a.jpg",
                E::TooLarge {
                    what: WIDTH,
                    side: 2501,
                },
            ),
            (
                "0x9999/a.jpg",
                E::TooLarge {
                    what: HEIGHT,
                    side: 9999,
                },
            ),
            (
                "99999999999x0/a.jpg",
                E::NotPixels {
                    what: WIDTH,
                    text: "99999999999".into(),
                },
            ),
            ("fit-in/smart/a.jpg", E::SmartWithoutCover),
            ("stretch/1x1/smart/a.jpg", E::SmartWithoutCover),
            ("filters:quality(19)/a.jpg", E::Quality("19".into())),
            ("filters:quality(101)/a.jpg", E::Quality("101".into())),
            ("filters:quality(x)/a.jpg", E::Quality("x".into())),
            ("filters:format(bmp)/a.jpg", E::Format("bmp".into())),
            ("filters:blur(3)/a.jpg", E::UnknownFilter("blur".into())),
            (
                "filters:quality(80/a.jpg",
                E::MalformedFilter("quality(80".into()),
            ),
            ("100x100/", E::NoPath),
            ("filters:quality(80)/", E::NoPath),
        ];
        for (rest, error) in refusals {
            assert_eq!(thumbor(rest), Err(error), "{rest}");
        }
        let query = |q: &str| Transform::parse_query(&pairs(q));
        let refusals = [
            (
                "width=-1",
                E::NotPixels {
                    what: WIDTH,
                    text: "-1".into(),
                },
            ),
            (
                "width=2501",
                E::TooLarge {
                    what: WIDTH,
                    side: 2501,
                },
            ),
            (
                "height=x",
                E::NotPixels {
                    what: HEIGHT,
                    text: "x".into(),
                },
            ),
            ("resize=crop", E::Resize("crop".into())),
            ("resize=smart", E::Resize("smart".into())),
            ("quality=5", E::Quality("5".into())),
            ("quality=300", E::Quality("300".into())),
            ("format=tiff", E::Format("tiff".into())),
            ("format=auto", E::Format("auto".into())),
            ("widht=10", E::UnknownParameter("widht".into())),
        ];
        for (q, error) in refusals {
            assert_eq!(query(q), Err(error), "{q}");
        }
        assert_eq!(Fit::parse("crop"), Err(E::Fit("crop".into())));
        assert_eq!(
            side(2501, WIDTH),
            Err(E::TooLarge {
                what: WIDTH,
                side: 2501
            })
        );
        assert_eq!(quality(19), Err(E::Quality("19".into())));
        assert_eq!(quality(20), Ok(20));
    }

    #[test]
    fn messages_name_the_rule_and_what_was_asked() {
        let message = |rest: &str| Transform::parse_thumbor(rest).unwrap_err().to_string();
        assert_eq!(
            message("2501x0/a.jpg"),
            "width is at most 2500 pixels, not 2501"
        );
        assert_eq!(
            message("filters:quality(5)/a.jpg"),
            "quality must be 20 to 100, not \"5\""
        );
        assert_eq!(
            message("filters:sharpen(1)/a.jpg"),
            "unknown filter \"sharpen\": quality() and format() are supported"
        );
        assert_eq!(
            Transform::parse_query(&pairs("height=x"))
                .unwrap_err()
                .to_string(),
            "height must be a whole number of pixels, not \"x\""
        );
    }

    #[test]
    fn names_parse_back() {
        for fit in [
            Fit::Cover { smart: false },
            Fit::Cover { smart: true },
            Fit::Contain,
            Fit::Fill,
        ] {
            assert_eq!(Fit::parse(fit.name()), Ok(fit));
        }
        for format in Format::ALL {
            assert_eq!(Format::parse(format.name()), Ok(format));
            assert_eq!(
                FormatChoice::parse(format.name()),
                Ok(FormatChoice::Exactly(format))
            );
        }
        assert_eq!(FormatChoice::parse("origin"), Ok(FormatChoice::Origin));
        assert!(is_image_query(&pairs("a=1&quality=90")));
        assert!(!is_image_query(&pairs("a=1&signature=s")));
    }

    fn transforms() -> impl Strategy<Value = Transform> {
        let fit = prop_oneof![
            Just(Fit::Cover { smart: false }),
            Just(Fit::Cover { smart: true }),
            Just(Fit::Contain),
            Just(Fit::Fill),
        ];
        let format = prop_oneof![
            Just(FormatChoice::Auto),
            Just(FormatChoice::Origin),
            proptest::sample::select(Format::ALL.to_vec()).prop_map(FormatChoice::Exactly),
        ];
        (fit, 0..=MAX_SIDE, 0..=MAX_SIDE, QUALITIES, format).prop_map(
            |(fit, width, height, quality, format)| Transform {
                fit,
                width,
                height,
                quality,
                format,
            },
        )
    }

    proptest! {
        /// The thumbor options written for any transform read back as it, whatever the path.
        #[test]
        fn thumbor_segments_parse_back(t in transforms(), path in "[^/][a-z:()/.x0-9]{0,20}|smart/a.jpg") {
            let url = format!("{}{path}", t.thumbor_segments());
            prop_assert_eq!(Transform::parse_thumbor(&url), Ok((t, path.as_str())));
            let url = format!("{}a.jpg", t.thumbor_segments());
            prop_assert_eq!(Transform::parse_thumbor(&url), Ok((t, "a.jpg")));
        }

        /// The query written for any transform without a smart crop reads back as it.
        #[test]
        fn query_pairs_parse_back(t in transforms()) {
            match t.query_pairs() {
                Some(q) => prop_assert_eq!(Transform::parse_query(&owned(q)), Ok(Some(t))),
                None => prop_assert_eq!(t.fit, Fit::Cover { smart: true }),
            }
        }
    }
}
