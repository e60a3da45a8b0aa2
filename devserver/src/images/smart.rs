//! Smart crop: the crop window slides along the axis it is shorter on, to where the picture has
//! the most detail (the sum of luma gradients), measured on a sample grid of at most 128 steps
//! a side. A flat picture keeps the centered crop.

use image::DynamicImage;

use super::transform::Crop;

/// The grid's steps along the longer side.
const STEPS: u32 = 128;

/// `crop` (centered, in `image` pixels) moved to the busiest region along its free axis.
pub(super) fn place(image: &DynamicImage, crop: Crop) -> Crop {
    let (w, h) = (image.width(), image.height());
    let horizontal = crop.width < f64::from(w) - 0.5;
    let vertical = crop.height < f64::from(h) - 0.5;
    if !horizontal && !vertical {
        return crop;
    }
    let stride = (w.max(h) / STEPS).max(1);
    let (gw, gh) = (w.div_ceil(stride), h.div_ceil(stride));
    let luma = |x: u32, y: u32| -> i32 {
        let p = image_pixel(image, (x * stride).min(w - 1), (y * stride).min(h - 1));
        (i32::from(p[0]) * 299 + i32::from(p[1]) * 587 + i32::from(p[2]) * 114) / 1000
    };
    // Detail per grid column (or row): gradient magnitude summed across the other axis.
    let lines = if horizontal { gw } else { gh };
    let mut energy = vec![0i64; lines as usize];
    for y in 0..gh {
        for x in 0..gw {
            let here = luma(x, y);
            let dx = if x + 1 < gw {
                (luma(x + 1, y) - here).abs()
            } else {
                0
            };
            let dy = if y + 1 < gh {
                (luma(x, y + 1) - here).abs()
            } else {
                0
            };
            let line = if horizontal { x } else { y };
            energy[line as usize] += i64::from(dx + dy);
        }
    }
    let window_px = if horizontal { crop.width } else { crop.height };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let window = ((window_px / f64::from(stride)).round() as usize).clamp(1, energy.len());
    let mut prefix = vec![0i64; energy.len() + 1];
    for (i, e) in energy.iter().enumerate() {
        prefix[i + 1] = prefix[i] + e;
    }
    let center = (energy.len() - window) / 2;
    let mut best = center;
    let mut best_score = prefix[center + window] - prefix[center];
    for start in 0..=energy.len() - window {
        let score = prefix[start + window] - prefix[start];
        // Only clearly busier windows move the crop off the center.
        if score > best_score + best_score / 20 {
            best = start;
            best_score = score;
        }
    }
    let span = if horizontal {
        f64::from(w) - crop.width
    } else {
        f64::from(h) - crop.height
    };
    #[allow(clippy::cast_precision_loss)]
    let offset = (best as f64 * f64::from(stride)).clamp(0.0, span.max(0.0));
    if horizontal {
        Crop {
            left: offset,
            ..crop
        }
    } else {
        Crop {
            top: offset,
            ..crop
        }
    }
}

fn image_pixel(image: &DynamicImage, x: u32, y: u32) -> [u8; 3] {
    match image {
        DynamicImage::ImageRgb8(b) => b.get_pixel(x, y).0,
        DynamicImage::ImageRgba8(b) => {
            let p = b.get_pixel(x, y).0;
            [p[0], p[1], p[2]]
        }
        other => {
            let p = image::GenericImageView::get_pixel(other, x, y).0;
            [p[0], p[1], p[2]]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_moves_to_the_detail_and_stays_centered_on_a_flat_picture() {
        // 400×100, flat grey but for a checkerboard in x = 300..380.
        let busy = image::RgbImage::from_fn(400, 100, |x, y| {
            let v = if (300..380).contains(&x) && (x / 4 + y / 4) % 2 == 0 {
                255
            } else {
                128
            };
            image::Rgb([v, v, v])
        });
        let crop = Crop {
            left: 150.0,
            top: 0.0,
            width: 100.0,
            height: 100.0,
        };
        let placed = place(&DynamicImage::ImageRgb8(busy), crop);
        // Within one grid step (3 px) of a window holding the whole checkerboard (280..=300).
        assert!((277.0..=303.0).contains(&placed.left), "{placed:?}");
        let flat = image::RgbImage::from_pixel(400, 100, image::Rgb([9, 9, 9]));
        assert_eq!(place(&DynamicImage::ImageRgb8(flat), crop), crop);
    }
}
