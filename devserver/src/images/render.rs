//! Making a variant: probe the header against the limits, decode (JPEG by libjpeg-turbo, shrunk
//! on load by its DCT scaling, only the first frame of an animation), apply the EXIF orientation, crop and
//! resize (`fast_image_resize`), encode (libwebp for WebP, rav1e via `ravif` for AVIF, the `image` crate for JPEG and
//! PNG).
//! Variants carry no metadata: the encoders write none.
//!
//! Everything here is synchronous and CPU-bound; the caller runs it off the async threads.

use std::io::Cursor;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, RgbImage};

use super::transform::{Crop, Fit, Format, Geometry, Transform, TransformExt as _};

/// The largest source, in bytes, that is transformed.
pub const MAX_SOURCE_BYTES: u64 = 25_000_000;
/// The most pixels a source may have, read from its header before any decoding.
pub const MAX_SOURCE_PIXELS: u64 = 50_000_000;
/// The most memory one decode may allocate (50 MP at 4 bytes a pixel, and some).
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;
/// rav1e's speed for AVIF (0 slowest … 10 fastest): 8 is ravif's own default's quality at a
/// third of its time.
const AVIF_SPEED: u8 = 8;

/// Why no variant was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// Past [`MAX_SOURCE_BYTES`] or [`MAX_SOURCE_PIXELS`].
    #[error("{0}")]
    TooLarge(String),
    /// Not an image this server transforms.
    #[error("{0}")]
    NotAnImage(String),
    /// An image that does not decode.
    #[error("{0}")]
    Undecodable(String),
}

/// What the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// The source's format.
    pub format: ImageFormat,
    /// Width as stored (before the EXIF orientation).
    pub width: u32,
    /// Height as stored.
    pub height: u32,
}

/// A finished variant.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The encoded bytes.
    pub bytes: Vec<u8>,
    /// Their format.
    pub format: Format,
    /// Pixel width.
    pub width: u32,
    /// Pixel height.
    pub height: u32,
    /// Where the time went.
    pub timings: Timings,
}

/// The phases of one [`render`]: the decode is the floor no resize or encoder can beat.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// Header probe, decode (shrunk on load) and orientation.
    pub decode: std::time::Duration,
    /// Smart crop and resize.
    pub resize: std::time::Duration,
    /// Encoding the variant.
    pub encode: std::time::Duration,
}

/// Reads the format and size from the header, and refuses what is past the limits.
pub fn probe(bytes: &[u8]) -> Result<Probe, RenderError> {
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(RenderError::TooLarge(format!(
            "the image is {} bytes; at most {MAX_SOURCE_BYTES} are transformed",
            bytes.len()
        )));
    }
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| RenderError::NotAnImage(format!("cannot read the image: {e}")))?;
    let format = match reader.format() {
        Some(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP)) => {
            f
        }
        Some(other) => {
            return Err(RenderError::NotAnImage(format!(
                "{other:?} images are not transformed: JPEG, PNG, GIF and WebP are"
            )))
        }
        None => {
            return Err(RenderError::NotAnImage(
                "the file is not a JPEG, PNG, GIF or WebP image".into(),
            ))
        }
    };
    let header_error = |e: &dyn std::fmt::Display| {
        RenderError::Undecodable(format!("cannot read the image's header: {e}"))
    };
    // A JPEG's header through libjpeg-turbo, which reads it in place (the `image` crate's JPEG
    // decoder copies the whole source first).
    let (width, height) = if format == ImageFormat::Jpeg {
        let header = turbojpeg::read_header(bytes).map_err(|e| header_error(&e))?;
        let side = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        (side(header.width), side(header.height))
    } else {
        reader.into_dimensions().map_err(|e| header_error(&e))?
    };
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_SOURCE_PIXELS {
        return Err(RenderError::TooLarge(format!(
            "the image is {width}×{height} ({pixels} pixels); at most {MAX_SOURCE_PIXELS} are transformed"
        )));
    }
    if width == 0 || height == 0 {
        return Err(RenderError::Undecodable("the image has no pixels".into()));
    }
    Ok(Probe {
        format,
        width,
        height,
    })
}

/// Makes the variant of `bytes` that `transform` asks for, in `format`.
pub fn render(
    bytes: &[u8],
    transform: &Transform,
    format: Format,
) -> Result<Rendered, RenderError> {
    let started = std::time::Instant::now();
    let probe = probe(bytes)?;
    let (image, source) = match probe.format {
        ImageFormat::Jpeg => decode_jpeg(bytes, transform)?,
        _ => decode_other(bytes)?,
    };
    let decoded = std::time::Instant::now();
    // `source` is the oriented size of the whole source, `image` maybe smaller (shrunk on load).
    let geometry = transform.geometry(source);
    let factor = f64::from(image.width()) / f64::from(source.0.max(1));
    let mut crop = Crop {
        left: geometry.crop.left * factor,
        top: geometry.crop.top * factor,
        width: (geometry.crop.width * factor).min(f64::from(image.width())),
        height: (geometry.crop.height * factor).min(f64::from(image.height())),
    };
    if matches!(transform.fit, Fit::Cover { smart: true }) {
        crop = super::smart::place(&image, crop);
    }
    let pixels = resize(image, crop, &geometry)?;
    let resized = std::time::Instant::now();
    let bytes = encode(
        pixels,
        geometry.width,
        geometry.height,
        format,
        transform.quality,
    )?;
    Ok(Rendered {
        bytes,
        format,
        width: geometry.width,
        height: geometry.height,
        timings: Timings {
            decode: decoded - started,
            resize: resized - decoded,
            encode: resized.elapsed(),
        },
    })
}

fn oriented_size(width: u32, height: u32, orientation: Orientation) -> (u32, u32) {
    use Orientation::{Rotate270, Rotate270FlipH, Rotate90, Rotate90FlipH};
    match orientation {
        Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH => (height, width),
        _ => (width, height),
    }
}

fn jpeg_error(e: &turbojpeg::Error) -> RenderError {
    RenderError::Undecodable(format!("the JPEG does not decode: {e}"))
}

/// The EXIF orientation of a JPEG, from its APP1 `Exif` segment, found by walking the marker
/// segments before the first scan. The `image` crate's decoder would read it too, but it copies
/// the whole source first.
fn jpeg_orientation(bytes: &[u8]) -> Orientation {
    let mut at = 2;
    let exif = loop {
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            break None;
        };
        match marker {
            0xFF => at += 1, // fill byte
            0x01 | 0xD0..=0xD8 => at += 2,
            0xD9 | 0xDA => break None, // end of image, start of scan: no EXIF before the pixels
            _ => {
                let Some(len) = bytes.get(at + 2..at + 4) else {
                    break None;
                };
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                let Some(segment) = bytes.get(at + 4..at + 2 + len) else {
                    break None;
                };
                if let (0xE1, Some(tiff)) = (marker, segment.strip_prefix(b"Exif\0\0")) {
                    break Some(tiff);
                }
                at += 2 + len;
            }
        }
    };
    exif.and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms)
}

/// A JPEG decoded by libjpeg-turbo at the smallest DCT scale (1/8, 1/4, 1/2 or 1) that still
/// gives at least the pixels the variant needs, then oriented.
fn decode_jpeg(
    bytes: &[u8],
    transform: &Transform,
) -> Result<(DynamicImage, (u32, u32)), RenderError> {
    let mut decompressor = turbojpeg::Decompressor::new().map_err(|e| jpeg_error(&e))?;
    let header = decompressor
        .read_header(bytes)
        .map_err(|e| jpeg_error(&e))?;
    let side = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let stored = (side(header.width), side(header.height));
    let orientation = jpeg_orientation(bytes);
    let source = oriented_size(stored.0, stored.1, orientation);
    let geometry = transform.geometry(source);
    // The scale the variant needs of the whole source, the same on both axes; the decoder's
    // scales are 1/8, 1/4, 1/2 and 1, and sizes round up (TJSCALED).
    let scale = (f64::from(geometry.width) / geometry.crop.width)
        .max(f64::from(geometry.height) / geometry.crop.height)
        .min(1.0);
    let denominator = [8u8, 4, 2]
        .into_iter()
        .find(|&d| scale * f64::from(d) <= 1.0)
        .map_or(1, usize::from);
    let (w, h) = (
        header.width.div_ceil(denominator),
        header.height.div_ceil(denominator),
    );
    let cmyk = matches!(
        header.colorspace,
        turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK
    );
    let format = if cmyk {
        turbojpeg::PixelFormat::CMYK
    } else {
        turbojpeg::PixelFormat::RGB
    };
    let pitch = w * format.size();
    let mut pixels = vec![0u8; pitch * h];
    decompressor
        .decompress(
            bytes,
            turbojpeg::Image {
                pixels: pixels.as_mut_slice(),
                width: w,
                pitch,
                height: h,
                format,
            },
        )
        .map_err(|e| jpeg_error(&e))?;
    let rgb: Vec<u8> = if cmyk {
        // Adobe CMYK JPEGs store inverted ink, which libjpeg-turbo hands over as it is.
        pixels
            .chunks_exact(4)
            .flat_map(|p| {
                let k = u16::from(p[3]);
                [p[0], p[1], p[2]].map(|c| u8::try_from(u16::from(c) * k / 255).unwrap_or(255))
            })
            .collect()
    } else {
        pixels
    };
    let buffer = RgbImage::from_raw(side(w), side(h), rgb).ok_or_else(|| {
        RenderError::Undecodable("the JPEG decoded to fewer pixels than its size".into())
    })?;
    let mut image = DynamicImage::ImageRgb8(buffer);
    image.apply_orientation(orientation);
    Ok((image, source))
}

/// PNG, GIF (its first frame) and WebP, with the `image` crate's limits, then oriented.
fn decode_other(bytes: &[u8]) -> Result<(DynamicImage, (u32, u32)), RenderError> {
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| RenderError::NotAnImage(format!("cannot read the image: {e}")))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits.max_image_width = Some(u32::try_from(MAX_SOURCE_PIXELS).unwrap_or(u32::MAX));
    limits.max_image_height = limits.max_image_width;
    reader.limits(limits);
    let undecodable =
        |e: image::ImageError| RenderError::Undecodable(format!("the image does not decode: {e}"));
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    image.apply_orientation(orientation);
    let image = if image.color().has_alpha() {
        DynamicImage::ImageRgba8(image.into_rgba8())
    } else {
        DynamicImage::ImageRgb8(image.into_rgb8())
    };
    let size = (image.width(), image.height());
    Ok((image, size))
}

/// Decoded pixels, RGB or RGBA.
struct Pixels {
    bytes: Vec<u8>,
    alpha: bool,
}

fn resize(image: DynamicImage, crop: Crop, geometry: &Geometry) -> Result<Pixels, RenderError> {
    let (w, h) = (image.width(), image.height());
    let (alpha, pixel_type, bytes) = match image {
        DynamicImage::ImageRgba8(buffer) => (true, PixelType::U8x4, buffer.into_raw()),
        other => (false, PixelType::U8x3, other.into_rgb8().into_raw()),
    };
    let whole = crop.left == 0.0
        && crop.top == 0.0
        && crop.width == f64::from(w)
        && crop.height == f64::from(h);
    if whole && (w, h) == (geometry.width, geometry.height) {
        return Ok(Pixels { bytes, alpha });
    }
    let internal =
        |e: &dyn std::fmt::Display| RenderError::Undecodable(format!("resizing failed: {e}"));
    let source = Image::from_vec_u8(w, h, bytes, pixel_type).map_err(|e| internal(&e))?;
    let mut target = Image::new(geometry.width, geometry.height, pixel_type);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(crop.left, crop.top, crop.width, crop.height);
    Resizer::new()
        .resize(&source, &mut target, &options)
        .map_err(|e| internal(&e))?;
    Ok(Pixels {
        bytes: target.into_vec(),
        alpha,
    })
}

fn encode(
    pixels: Pixels,
    width: u32,
    height: u32,
    format: Format,
    quality: u8,
) -> Result<Vec<u8>, RenderError> {
    let failed =
        |e: &dyn std::fmt::Display| RenderError::Undecodable(format!("encoding failed: {e}"));
    let bytes = match format {
        Format::Webp => {
            let encoder = if pixels.alpha {
                webp::Encoder::from_rgba(&pixels.bytes, width, height)
            } else {
                webp::Encoder::from_rgb(&pixels.bytes, width, height)
            };
            encoder.encode(f32::from(quality)).to_vec()
        }
        Format::Jpeg => {
            let rgb = if pixels.alpha {
                flatten(&pixels.bytes)
            } else {
                pixels.bytes
            };
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
                .encode(&rgb, width, height, image::ExtendedColorType::Rgb8)
                .map_err(|e| failed(&e))?;
            out
        }
        Format::Png => {
            let mut out = Vec::new();
            let color = if pixels.alpha {
                image::ExtendedColorType::Rgba8
            } else {
                image::ExtendedColorType::Rgb8
            };
            image::ImageEncoder::write_image(
                image::codecs::png::PngEncoder::new(&mut out),
                &pixels.bytes,
                width,
                height,
                color,
            )
            .map_err(|e| failed(&e))?;
            out
        }
        Format::Avif => {
            // rav1e at speed 8 on this thread (the caller's semaphore already gives one
            // transform per core): 20-35× a WebP's time, which is why AVIF is only made when
            // asked for by name, and then kept.
            use rgb::FromSlice;
            let (w, h) = (width as usize, height as usize);
            let encoder = ravif::Encoder::new()
                .with_quality(f32::from(quality))
                .with_speed(AVIF_SPEED)
                .with_num_threads(Some(1))
                .with_bit_depth(ravif::BitDepth::Eight);
            let encoded = if pixels.alpha {
                encoder.encode_rgba(ravif::Img::new(pixels.bytes.as_rgba(), w, h))
            } else {
                encoder.encode_rgb(ravif::Img::new(pixels.bytes.as_rgb(), w, h))
            };
            encoded.map_err(|e| failed(&e))?.avif_file
        }
    };
    Ok(bytes)
}

/// RGBA over white, as RGB (JPEG has no alpha).
fn flatten(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .flat_map(|p| {
            let a = u16::from(p[3]);
            [p[0], p[1], p[2]]
                .map(|c| u8::try_from((u16::from(c) * a + 255 * (255 - a)) / 255).unwrap_or(255))
        })
        .collect()
}
