//! Small markup helpers shared by every HTML part of the report (the answer card, the
//! recommendation, the lossless table and the page itself): escaping, numbers as text, colour
//! swatches and data URIs. They sit below `html`, so no report module imports `html` for them.

use base64::Engine as _;

use crate::plot::color_hex;

/// Escapes text for HTML (element content and quoted attribute values).
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A number with `d` decimals; `inf` and `-` for infinite and missing values.
pub fn num(v: Option<f64>, d: usize) -> String {
    match v {
        Some(x) if x.is_infinite() => "inf".into(),
        Some(x) if x.is_finite() => format!("{x:.d$}"),
        _ => "-".into(),
    }
}

/// A small square of the colour every plot and table gives configuration `color`.
pub fn swatch(color: usize) -> String {
    format!(
        "<span class=\"sw\" style=\"background:{}\"></span>",
        color_hex(color)
    )
}

/// A `data:` URI of an image file's bytes (`mime` such as `image/png`).
pub fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The MIME type of a crop file, from its name.
pub fn image_mime(name: &str) -> &'static str {
    if name.ends_with(".webp") {
        "image/webp"
    } else {
        "image/png"
    }
}

/// A configuration's short label for tables: the curve's codec and options without the
/// values every configuration of that codec shares would still be long, so the label is the
/// codec plus the options that differ from the codec's defaults as written in the spec,
/// cut to `max` characters with an ellipsis; the full spec goes in a `title`.
pub fn short(spec: &str, max: usize) -> String {
    if spec.chars().count() <= max {
        return spec.to_string();
    }
    let mut s: String = spec.chars().take(max.saturating_sub(1)).collect();
    s.push('\u{2026}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(esc("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
    }

    #[test]
    fn short_labels_keep_short_specs_and_cut_long_ones() {
        assert_eq!(short("webp:q=80", 20), "webp:q=80");
        let s = short("jpeg:subsampling=420,progressive=true,arithmetic=false", 20);
        assert_eq!(s.chars().count(), 20);
        assert!(s.ends_with('\u{2026}'));
    }
}
