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

/// `spec` cut to `max` characters with an ellipsis (the full text belongs in a `title`).
pub fn short(spec: &str, max: usize) -> String {
    if spec.chars().count() <= max {
        return spec.to_string();
    }
    let mut s: String = spec.chars().take(max.saturating_sub(1)).collect();
    s.push('\u{2026}');
    s
}

/// Short labels of configurations (curves, `codec:opt=v,...`): the codec alone when it has one
/// configuration, else the codec and the options that tell its configurations apart.
pub fn curve_labels(curves: &[&str]) -> Vec<String> {
    let split = |c: &str| -> (String, Vec<String>) {
        match c.split_once(':') {
            Some((codec, opts)) => (codec.into(), opts.split(',').map(String::from).collect()),
            None => (c.into(), Vec::new()),
        }
    };
    let parts: Vec<(String, Vec<String>)> = curves.iter().map(|c| split(c)).collect();
    parts
        .iter()
        .map(|(codec, opts)| {
            let same: Vec<&Vec<String>> = parts
                .iter()
                .filter(|(k, _)| k == codec)
                .map(|(_, o)| o)
                .collect();
            if same.len() < 2 {
                return codec.clone();
            }
            let differing: Vec<&str> = opts
                .iter()
                .filter(|o| !same.iter().all(|other| other.contains(o)))
                .map(String::as_str)
                .collect();
            if differing.is_empty() {
                codec.clone()
            } else {
                format!("{codec} {}", differing.join(","))
            }
        })
        .collect()
}

/// The setting part of a spec (its first option, e.g. `q=80`), when the cell has a setting.
pub fn setting_text(spec: &str) -> Option<&str> {
    spec.split_once(':')?.1.split(',').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn curve_labels_keep_only_what_tells_configurations_apart() {
        let l = curve_labels(&[
            "jpeg:subsampling=420,progressive=true,arithmetic=false",
            "avif:speed=8,depth=10",
            "avif:speed=6,depth=10",
        ]);
        assert_eq!(l, ["jpeg", "avif speed=8", "avif speed=6"]);
        assert_eq!(setting_text("jpeg:q=85,subsampling=420"), Some("q=85"));
    }

    #[test]
    fn short_labels_keep_short_specs_and_cut_long_ones() {
        assert_eq!(short("webp:q=80", 20), "webp:q=80");
        let s = short("jpeg:subsampling=420,progressive=true,arithmetic=false", 20);
        assert_eq!(s.chars().count(), 20);
        assert!(s.ends_with('\u{2026}'));
    }
}
