//! `palette`: vector quantisation to at most N colours (exoquant's variance-split quantiser
//! refined by k-means, optional Floyd-Steinberg dithering), stored as an oxipng-optimised
//! indexed PNG (default preset) and decoded by the PNG decoder. Lossy: it shows what a
//! palette alone costs in quality and saves in bytes (the GIF/pngquant approach).
//!
//! An image with no more distinct colours than N keeps exactly its own colours (a quantiser
//! asked for more colours than exist has nothing to merge; exoquant's splitter cannot be asked
//! for that), so `palette:colors=256` is exact on such images.

use std::collections::HashMap;
use std::sync::LazyLock;

use exoquant::{ditherer, optimizer, Color};

use super::{png::Png, versions, Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout};

pub struct Palette;

static PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![
        Param::int("colors", 2, 256, 256, "palette size (most colours kept)"),
        Param::bool(
            "dither",
            false,
            "Floyd-Steinberg error diffusion when remapping to the palette",
        ),
    ]
});

/// The image's pixels as RGBA colours (gray replicated, missing alpha opaque).
fn colors(img: &Image, data: &[u8]) -> Vec<Color> {
    let c = img.channels as usize;
    data.chunks_exact(c)
        .map(|p| match c {
            1 => Color::new(p[0], p[0], p[0], 255),
            2 => Color::new(p[0], p[0], p[0], p[1]),
            3 => Color::new(p[0], p[1], p[2], 255),
            _ => Color::new(p[0], p[1], p[2], p[3]),
        })
        .collect()
}

/// The image's own colours and indices, if it has at most `n` distinct colours.
fn exact_palette(pixels: &[Color], n: usize) -> Option<(Vec<Color>, Vec<u8>)> {
    let mut index: HashMap<[u8; 4], u8> = HashMap::new();
    let mut palette = Vec::new();
    let mut out = Vec::with_capacity(pixels.len());
    for p in pixels {
        let key = [p.r, p.g, p.b, p.a];
        let i = match index.get(&key) {
            Some(&i) => i,
            None => {
                if palette.len() == n {
                    return None;
                }
                palette.push(*p);
                let i = (palette.len() - 1) as u8;
                index.insert(key, i);
                i
            }
        };
        out.push(i);
    }
    Some((palette, out))
}

impl Codec for Palette {
    fn name(&self) -> &str {
        "palette"
    }
    fn version(&self) -> String {
        format!(
            "exoquant {} (k-means) + oxipng {}",
            versions::EXOQUANT,
            versions::OXIPNG
        )
    }
    fn decoder(&self) -> String {
        Png.decoder()
    }
    fn extension(&self) -> &str {
        "png"
    }
    fn lossless(&self, _: &Params) -> bool {
        false
    }
    fn params(&self) -> &[Param] {
        &PARAMS
    }
    fn input_layout(&self, src: Layout) -> Layout {
        Layout::new(src.channels, 8)
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        let data = img.as_u8().ok_or("palette: input must be 8-bit")?;
        let n = params.int("colors") as usize;
        let pixels = colors(img, data);
        let (palette, indices) = match exact_palette(&pixels, n) {
            Some(p) => p,
            None => {
                let w = img.width as usize;
                if params.bool("dither") {
                    let d = ditherer::FloydSteinberg::new();
                    exoquant::convert_to_indexed(&pixels, w, n, &optimizer::KMeans, &d)
                } else {
                    exoquant::convert_to_indexed(&pixels, w, n, &optimizer::KMeans, &ditherer::None)
                }
            }
        };
        // exoquant's float round trip can turn an opaque 255 into 254: an input without alpha
        // keeps an opaque palette.
        let opaque = !img.layout().has_alpha();
        let palette = palette
            .iter()
            .map(|c| oxipng::RGBA8::new(c.r, c.g, c.b, if opaque { 255 } else { c.a }))
            .collect();
        let raw = oxipng::RawImage::new(
            img.width,
            img.height,
            oxipng::ColorType::Indexed { palette },
            oxipng::BitDepth::Eight,
            indices,
        )
        .map_err(|e| format!("palette: oxipng rejected the indexed image: {e}"))?;
        let bytes = raw
            .create_optimized_png(&oxipng::Options::default())
            .map_err(|e| format!("palette: oxipng failed: {e}"))?;
        Ok(bytes.into())
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        Png.decode(data)
    }
    fn relative_cost(&self, _: &Params) -> f64 {
        6.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_colours_are_kept_exactly_and_many_are_reduced() {
        let data: Vec<u8> = (0..64 * 3).map(|i| ((i / 3) % 5 * 50) as u8).collect();
        let img = Image::new_u8(8, 8, 3, data).unwrap();
        let px = colors(&img, img.as_u8().unwrap());
        let (pal, idx) = exact_palette(&px, 256).unwrap();
        assert_eq!((pal.len(), idx.len()), (5, 64));
        assert!(exact_palette(&px, 4).is_none());
    }
}
