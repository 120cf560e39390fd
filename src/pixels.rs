//! The in-memory image every part of codecbench agrees on, and the only conversions between
//! layouts that the harness performs (so every policy about alpha, gray and bit depth lives here).

use std::fmt;

/// Why pixels could not be built or converted. The caller names the file or codec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PixelError {
    #[error("{0} channels (expected 1 to 4)")]
    Channels(u8),
    #[error("buffer holds {samples} samples, a {width}x{height} {layout} image needs {expected}")]
    BufferLength {
        samples: usize,
        width: u32,
        height: u32,
        layout: Layout,
        expected: usize,
    },
    #[error("cannot turn {from} into {to} without inventing or mixing colour")]
    MixesColour { from: Layout, to: Layout },
    #[error("decoder returned 16-bit samples for an 8-bit input")]
    Deeper,
    #[error("decoder returned transparency ({have}) for an input without alpha ({want})")]
    Transparency {
        have: &'static str,
        want: &'static str,
    },
    #[error("decoder returned colour ({have}) for a gray input ({want})")]
    Colour {
        have: &'static str,
        want: &'static str,
    },
    #[error(
        "unsupported (32-bit float samples); convert it to 8- or 16-bit integer samples first"
    )]
    Float,
    #[error(
        "unsupported pixel format {0} (only 8- and 16-bit integer L, LA, RGB, RGBA); convert it \
         to 8- or 16-bit first"
    )]
    Format(String),
}

/// For the codec kernels whose own errors are still messages (webp.rs, jpeg2000.rs).
impl From<PixelError> for String {
    fn from(e: PixelError) -> String {
        e.to_string()
    }
}

/// Samples of an image, interleaved, row-major, top row first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Samples {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

/// Channel count and bit depth: what a codec accepts and what a decoder returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Layout {
    /// 1 = L, 2 = LA, 3 = RGB, 4 = RGBA.
    pub channels: u8,
    /// 8 or 16.
    pub depth: u8,
}

impl Layout {
    pub const fn new(channels: u8, depth: u8) -> Self {
        Layout { channels, depth }
    }
    pub fn has_alpha(self) -> bool {
        self.channels == 2 || self.channels == 4
    }
    pub fn is_gray(self) -> bool {
        self.channels <= 2
    }
    /// Channel letters, e.g. "RGBA".
    pub fn color_name(self) -> &'static str {
        match self.channels {
            1 => "L",
            2 => "LA",
            3 => "RGB",
            _ => "RGBA",
        }
    }
    /// Largest sample value, `2^depth - 1`.
    pub fn peak(self) -> u32 {
        (1u32 << self.depth) - 1
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.color_name(), self.depth)
    }
}

/// An image with 1-4 channels of 8- or 16-bit samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub samples: Samples,
}

impl Image {
    /// Builds an 8-bit image, checking the buffer length.
    pub fn new_u8(
        width: u32,
        height: u32,
        channels: u8,
        data: Vec<u8>,
    ) -> Result<Self, PixelError> {
        Self::checked(width, height, channels, Samples::U8(data))
    }

    /// Builds a 16-bit image, checking the buffer length.
    pub fn new_u16(
        width: u32,
        height: u32,
        channels: u8,
        data: Vec<u16>,
    ) -> Result<Self, PixelError> {
        Self::checked(width, height, channels, Samples::U16(data))
    }

    fn checked(
        width: u32,
        height: u32,
        channels: u8,
        samples: Samples,
    ) -> Result<Self, PixelError> {
        let img = Image {
            width,
            height,
            channels,
            samples,
        };
        if !(1..=4).contains(&channels) {
            return Err(PixelError::Channels(channels));
        }
        let expected = img.pixel_count() * channels as usize;
        if img.sample_count() != expected {
            return Err(PixelError::BufferLength {
                samples: img.sample_count(),
                width,
                height,
                layout: img.layout(),
                expected,
            });
        }
        Ok(img)
    }

    pub fn layout(&self) -> Layout {
        Layout::new(self.channels, self.depth())
    }
    pub fn depth(&self) -> u8 {
        match self.samples {
            Samples::U8(_) => 8,
            Samples::U16(_) => 16,
        }
    }
    pub fn pixel_count(&self) -> usize {
        self.width as usize * self.height as usize
    }
    pub fn sample_count(&self) -> usize {
        match &self.samples {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len(),
        }
    }
    /// Uncompressed size: width x height x channels x bytes per sample.
    pub fn raw_bytes(&self) -> u64 {
        self.sample_count() as u64 * (self.depth() as u64 / 8)
    }
    /// Sample `i` widened to u32.
    pub fn sample(&self, i: usize) -> u32 {
        match &self.samples {
            Samples::U8(v) => v[i] as u32,
            Samples::U16(v) => v[i] as u32,
        }
    }
    /// The 8-bit buffer; `None` for 16-bit images.
    pub fn as_u8(&self) -> Option<&[u8]> {
        match &self.samples {
            Samples::U8(v) => Some(v),
            Samples::U16(_) => None,
        }
    }
    /// Samples as bytes in the given endianness (8-bit images: the buffer itself).
    pub fn to_bytes(&self, big_endian: bool) -> Vec<u8> {
        match &self.samples {
            Samples::U8(v) => v.clone(),
            Samples::U16(v) => v
                .iter()
                .flat_map(|s| {
                    if big_endian {
                        s.to_be_bytes()
                    } else {
                        s.to_le_bytes()
                    }
                })
                .collect(),
        }
    }
    /// First sample that differs from `other`, as (x, y, channel, ours, theirs).
    pub fn first_difference(&self, other: &Image) -> Option<(u32, u32, u8, u32, u32)> {
        let n = self.sample_count().min(other.sample_count());
        let c = self.channels as usize;
        (0..n).find_map(|i| {
            let (a, b) = (self.sample(i), other.sample(i));
            (a != b).then(|| {
                let p = i / c;
                (
                    (p % self.width as usize) as u32,
                    (p / self.width as usize) as u32,
                    (i % c) as u8,
                    a,
                    b,
                )
            })
        })
    }
}

/// 16-bit to 8-bit by rounding `v * 255 / 65535`; `to16(to8(v))` is the nearest multiple of 257.
pub fn to8(v: u16) -> u8 {
    ((v as u32 * 255 + 32767) / 65535) as u8
}

/// 8-bit to 16-bit by `v * 257`, the exact inverse of [`to8`] on its range.
pub fn to16(v: u8) -> u16 {
    v as u16 * 257
}

/// How a source image was turned into a codec's input, and how the codec's channels map back
/// onto the source's for measurement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prep {
    pub from: Layout,
    pub to: Layout,
    /// For each channel of the codec input: the source channel it came from, or `None` for a
    /// channel the harness made up (an opaque alpha). Made-up channels are not measured.
    pub map: Vec<Option<u8>>,
}

impl Prep {
    /// Plans the conversion from `from` to `to`. Fails only for colour to gray, which the
    /// harness never does on a codec's behalf (it would hide colour loss).
    pub fn plan(from: Layout, to: Layout) -> Result<Prep, PixelError> {
        let map: Vec<Option<u8>> = match (from.channels, to.channels) {
            (a, b) if a == b => (0..a).map(Some).collect(),
            (1, 2) => vec![Some(0), None],
            (1, 3) | (2, 3) => vec![Some(0); 3],
            (1, 4) => vec![Some(0), Some(0), Some(0), None],
            (2, 1) => vec![Some(0)],
            (2, 4) => vec![Some(0), Some(0), Some(0), Some(1)],
            (3, 4) => vec![Some(0), Some(1), Some(2), None],
            (4, 3) => vec![Some(0), Some(1), Some(2)],
            (a, b) => {
                return Err(PixelError::MixesColour {
                    from: Layout::new(a, from.depth),
                    to: Layout::new(b, to.depth),
                })
            }
        };
        Ok(Prep { from, to, map })
    }

    /// Human-readable list of what the conversion did, "none" when nothing.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.from.has_alpha() && !self.to.has_alpha() {
            parts.push("alpha dropped");
        }
        if self.from.is_gray() && !self.to.is_gray() {
            parts.push("gray replicated to RGB");
        }
        if !self.from.has_alpha() && self.to.has_alpha() {
            parts.push("opaque alpha added");
        }
        if self.from.depth > self.to.depth {
            parts.push("16->8 bit (round(v*255/65535))");
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join("; ")
        }
    }

    /// Name of the compared channels: the codec's channel letters, prefixed by the source's
    /// where gray was replicated ("L->RGB"); made-up channels are left out.
    pub fn channels_compared(&self) -> String {
        let letters = self.to.color_name();
        let measured: String = letters
            .chars()
            .zip(&self.map)
            .filter(|(_, m)| m.is_some())
            .map(|(c, _)| c)
            .collect();
        if self.from.is_gray() && !self.to.is_gray() {
            let src: String = self
                .from
                .color_name()
                .chars()
                .take(if self.to.has_alpha() { 2 } else { 1 })
                .collect();
            format!("{src}->{measured}")
        } else {
            measured
        }
    }

    /// Applies the conversion.
    pub fn apply(&self, src: &Image) -> Image {
        let (sc, tc) = (src.channels as usize, self.to.channels as usize);
        let n = src.pixel_count();
        let max8 = 255u8;
        let samples = match (&src.samples, self.to.depth) {
            (Samples::U8(v), 8) => Samples::U8(remap(v, sc, tc, n, &self.map, max8, |s| s)),
            (Samples::U16(v), 16) => Samples::U16(remap(v, sc, tc, n, &self.map, u16::MAX, |s| s)),
            (Samples::U16(v), _) => Samples::U8(remap(v, sc, tc, n, &self.map, max8, to8)),
            (Samples::U8(v), _) => Samples::U16(remap(v, sc, tc, n, &self.map, u16::MAX, to16)),
        };
        Image {
            width: src.width,
            height: src.height,
            channels: self.to.channels,
            samples,
        }
    }
}

fn remap<S: Copy, T: Copy>(
    src: &[S],
    sc: usize,
    tc: usize,
    n: usize,
    map: &[Option<u8>],
    opaque: T,
    conv: impl Fn(S) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(n * tc);
    for px in src.chunks_exact(sc) {
        for m in map {
            out.push(match m {
                Some(c) => conv(px[*c as usize]),
                None => opaque,
            });
        }
    }
    out
}

/// Brings a decoder's output to the layout the codec was given, without ever losing
/// information silently: gray becomes RGB by replication, a missing alpha becomes opaque,
/// 8-bit becomes 16-bit by `v * 257`; the reverse steps happen only when they are exact
/// (R=G=B everywhere, alpha opaque everywhere, every sample a multiple of 257).
/// PNG optimisers legitimately pick a smaller colour type, so this is needed to compare.
pub fn conform(decoded: Image, want: Layout) -> Result<Image, PixelError> {
    let mut img = decoded;
    if img.depth() != want.depth {
        img = match (&img.samples, want.depth) {
            (Samples::U8(v), 16) => Image {
                samples: Samples::U16(v.iter().map(|&s| to16(s)).collect()),
                ..img
            },
            (Samples::U16(v), _) => {
                if v.iter().any(|&s| s % 257 != 0) {
                    return Err(PixelError::Deeper);
                }
                Image {
                    samples: Samples::U8(v.iter().map(|&s| (s / 257) as u8).collect()),
                    ..img
                }
            }
            _ => unreachable!("depth is 8 or 16"),
        };
    }
    let have = img.layout();
    if have.channels == want.channels {
        return Ok(img);
    }
    // Steps that can lose information must be exact on this image.
    let c = have.channels as usize;
    let peak = have.peak();
    if have.has_alpha() && !want.has_alpha() {
        let a = c - 1;
        if (0..img.pixel_count()).any(|p| img.sample(p * c + a) != peak) {
            return Err(PixelError::Transparency {
                have: have.color_name(),
                want: want.color_name(),
            });
        }
    }
    if !have.is_gray() && want.is_gray() {
        let gray = (0..img.pixel_count()).all(|p| {
            let r = img.sample(p * c);
            r == img.sample(p * c + 1) && r == img.sample(p * c + 2)
        });
        if !gray {
            return Err(PixelError::Colour {
                have: have.color_name(),
                want: want.color_name(),
            });
        }
    }
    let map: Vec<Option<u8>> = match (have.channels, want.channels) {
        (3, 1) | (4, 1) => vec![Some(0)],
        (3, 2) | (4, 2) => vec![Some(0), if c == 4 { Some(3) } else { None }],
        (2, 1) => vec![Some(0)],
        (4, 3) => vec![Some(0), Some(1), Some(2)],
        _ => Prep::plan(have, Layout::new(want.channels, have.depth))?.map,
    };
    let prep = Prep {
        from: have,
        to: Layout::new(want.channels, have.depth),
        map,
    };
    Ok(prep.apply(&img))
}

/// Converts a decoded `image` buffer, keeping 8/16-bit samples and the channel count.
pub fn from_dynamic(d: image::DynamicImage) -> Result<Image, PixelError> {
    let (w, h) = (d.width(), d.height());
    let img = match d {
        image::DynamicImage::ImageLuma8(b) => Image::new_u8(w, h, 1, b.into_raw()),
        image::DynamicImage::ImageLumaA8(b) => Image::new_u8(w, h, 2, b.into_raw()),
        image::DynamicImage::ImageRgb8(b) => Image::new_u8(w, h, 3, b.into_raw()),
        image::DynamicImage::ImageRgba8(b) => Image::new_u8(w, h, 4, b.into_raw()),
        image::DynamicImage::ImageLuma16(b) => Image::new_u16(w, h, 1, b.into_raw()),
        image::DynamicImage::ImageLumaA16(b) => Image::new_u16(w, h, 2, b.into_raw()),
        image::DynamicImage::ImageRgb16(b) => Image::new_u16(w, h, 3, b.into_raw()),
        image::DynamicImage::ImageRgba16(b) => Image::new_u16(w, h, 4, b.into_raw()),
        image::DynamicImage::ImageRgb32F(_) | image::DynamicImage::ImageRgba32F(_) => {
            return Err(PixelError::Float)
        }
        other => return Err(PixelError::Format(format!("{:?}", other.color()))),
    };
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_round_trip_is_exact_on_8bit_values() {
        for v in 0..=255u8 {
            assert_eq!(to8(to16(v)), v);
        }
        assert_eq!(to8(128), 0);
        assert_eq!(to8(129), 1);
        assert_eq!(to8(65535), 255);
    }

    #[test]
    fn plans_describe_policies() {
        let p = Prep::plan(Layout::new(4, 8), Layout::new(3, 8)).unwrap();
        assert_eq!(p.describe(), "alpha dropped");
        assert_eq!(p.channels_compared(), "RGB");
        let p = Prep::plan(Layout::new(1, 16), Layout::new(3, 8)).unwrap();
        assert_eq!(
            p.describe(),
            "gray replicated to RGB; 16->8 bit (round(v*255/65535))"
        );
        assert_eq!(p.channels_compared(), "L->RGB");
        let p = Prep::plan(Layout::new(2, 8), Layout::new(4, 8)).unwrap();
        assert_eq!(p.channels_compared(), "LA->RGBA");
        assert!(Prep::plan(Layout::new(3, 8), Layout::new(1, 8)).is_err());
    }

    #[test]
    fn apply_replicates_gray_and_reduces_depth() {
        let src = Image::new_u16(2, 1, 1, vec![257 * 10, 65535]).unwrap();
        let p = Prep::plan(src.layout(), Layout::new(3, 8)).unwrap();
        let out = p.apply(&src);
        assert_eq!(out.samples, Samples::U8(vec![10, 10, 10, 255, 255, 255]));
    }

    #[test]
    fn conform_accepts_exact_reductions_only() {
        let gray_as_rgb = Image::new_u8(1, 2, 1, vec![7, 9]).unwrap();
        let rgb = conform(gray_as_rgb, Layout::new(3, 8)).unwrap();
        assert_eq!(rgb.samples, Samples::U8(vec![7, 7, 7, 9, 9, 9]));
        let colour = Image::new_u8(1, 1, 3, vec![1, 2, 3]).unwrap();
        assert!(conform(colour, Layout::new(1, 8)).is_err());
        let translucent = Image::new_u8(1, 1, 4, vec![1, 2, 3, 4]).unwrap();
        assert!(conform(translucent, Layout::new(3, 8)).is_err());
        let opaque = Image::new_u8(1, 1, 4, vec![1, 2, 3, 255]).unwrap();
        assert_eq!(
            conform(opaque, Layout::new(3, 8)).unwrap().samples,
            Samples::U8(vec![1, 2, 3])
        );
        let eight = Image::new_u8(1, 1, 1, vec![3]).unwrap();
        assert_eq!(
            conform(eight, Layout::new(1, 16)).unwrap().samples,
            Samples::U16(vec![771])
        );
    }
}
