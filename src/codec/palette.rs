//! `palette`: vector quantisation to at most N colours by color_quant's NeuQuant (Dekker's
//! Kohonen-network quantiser, the one GIF encoders use; deterministic, RGBA), optional
//! Floyd-Steinberg dithering (our own error diffusion onto that palette), stored as an
//! oxipng-optimised indexed PNG (default preset) and decoded by the PNG decoder. Lossy: it
//! shows what a palette alone costs in quality and saves in bytes (the GIF/pngquant approach).
//!
//! An image with no more distinct colours than N keeps exactly its own colours (a quantiser
//! asked for more colours than exist has nothing to merge), so `palette:colors=256` is exact
//! on such images. (exoquant was tried first and dropped: its histogram is a std HashMap with
//! a random hasher, so its palettes, and the bytes, changed from run to run.)

use std::collections::HashMap;
use std::sync::LazyLock;

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

/// One RGBA colour.
type Color = [u8; 4];

/// NeuQuant's sampling factor: 1 looks at every pixel (best, slowest), 30 the fewest; 10 is
/// the usual default (as in the `image` crate's GIF encoder).
const SAMPLE_FACTOR: i32 = 10;

/// The image's pixels as RGBA colours (gray replicated, missing alpha opaque).
fn colors(img: &Image, data: &[u8]) -> Vec<Color> {
    let c = img.channels as usize;
    data.chunks_exact(c)
        .map(|p| match c {
            1 => [p[0], p[0], p[0], 255],
            2 => [p[0], p[0], p[0], p[1]],
            3 => [p[0], p[1], p[2], 255],
            _ => [p[0], p[1], p[2], p[3]],
        })
        .collect()
}

/// NeuQuant's palette of `n` colours and each pixel's index, remapped with Floyd-Steinberg
/// error diffusion (7/16 right, 3/16 down-left, 5/16 down, 1/16 down-right) when `dither`.
fn quantize(pixels: &[Color], width: usize, n: usize, dither: bool) -> (Vec<Color>, Vec<u8>) {
    let flat: Vec<u8> = pixels.iter().flatten().copied().collect();
    let nq = color_quant::NeuQuant::new(SAMPLE_FACTOR, n, &flat);
    let palette: Vec<Color> = nq
        .color_map_rgba()
        .chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect();
    if !dither {
        let idx = pixels.iter().map(|p| nq.index_of(p) as u8).collect();
        return (palette, idx);
    }
    let mut err = vec![[0f32; 4]; pixels.len()];
    let mut idx = Vec::with_capacity(pixels.len());
    for (i, p) in pixels.iter().enumerate() {
        let want: [f32; 4] = std::array::from_fn(|k| (p[k] as f32 + err[i][k]).clamp(0.0, 255.0));
        let q: Color = std::array::from_fn(|k| want[k].round() as u8);
        let j = nq.index_of(&q);
        idx.push(j as u8);
        let e: [f32; 4] = std::array::from_fn(|k| want[k] - palette[j][k] as f32);
        let (x, rows) = (i % width, pixels.len() / width);
        let y = i / width;
        let mut spread = |dx: isize, dy: usize, w: f32| {
            let nx = x as isize + dx;
            if nx >= 0 && (nx as usize) < width && y + dy < rows {
                let t = &mut err[(y + dy) * width + nx as usize];
                for k in 0..4 {
                    t[k] += e[k] * w;
                }
            }
        };
        spread(1, 0, 7.0 / 16.0);
        spread(-1, 1, 3.0 / 16.0);
        spread(0, 1, 5.0 / 16.0);
        spread(1, 1, 1.0 / 16.0);
    }
    (palette, idx)
}

/// The image's own colours and indices, if it has at most `n` distinct colours.
fn exact_palette(pixels: &[Color], n: usize) -> Option<(Vec<Color>, Vec<u8>)> {
    let mut index: HashMap<[u8; 4], u8> = HashMap::new();
    let mut palette = Vec::new();
    let mut out = Vec::with_capacity(pixels.len());
    for p in pixels {
        let key = *p;
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
            "color_quant {} (NeuQuant, sample factor {SAMPLE_FACTOR}) + oxipng {}",
            versions::COLOR_QUANT,
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
            None => quantize(&pixels, img.width as usize, n, params.bool("dither")),
        };
        // NeuQuant's network can move an opaque 255 to 254: an input without alpha keeps an
        // opaque palette.
        let opaque = !img.layout().has_alpha();
        let palette = palette
            .iter()
            .map(|c| oxipng::RGBA8::new(c[0], c[1], c[2], if opaque { 255 } else { c[3] }))
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

    #[test]
    fn quantising_is_deterministic_and_keeps_gray_gray() {
        let data: Vec<u8> = (0..64 * 48).map(|i| ((i * 37) % 251) as u8).collect();
        let img = Image::new_u8(64, 48, 1, data).unwrap();
        let px = colors(&img, img.as_u8().unwrap());
        for dither in [false, true] {
            let a = quantize(&px, 64, 16, dither);
            assert_eq!(a, quantize(&px, 64, 16, dither));
            assert!(a.0.len() <= 16 && a.1.iter().all(|&i| (i as usize) < a.0.len()));
            assert!(
                a.0.iter().all(|c| c[0] == c[1] && c[1] == c[2]),
                "{:?}",
                a.0
            );
        }
    }
}
