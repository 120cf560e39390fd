//! The answer in words: the card's lines, configuration names and byte sizes for people.

use crate::analysis::answer::{ConfigAnswer, Recommendation, TargetAnswer, FEW_IMAGES};

/// Bytes for people: KiB or MiB.
pub fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

/// The options of `c`'s curve that tell it from the other configurations of `all` with the
/// same codec ("subsampling=444"); none when it is the codec's only configuration.
pub fn distinguishing_options(c: &ConfigAnswer, all: &[ConfigAnswer]) -> Vec<String> {
    let opts = |x: &ConfigAnswer| -> Vec<String> {
        x.curve.split_once(':').map_or(Vec::new(), |(_, o)| {
            o.split(',').map(str::to_string).collect()
        })
    };
    let twins: Vec<Vec<String>> = all
        .iter()
        .filter(|x| x.codec == c.codec && x.curve != c.curve)
        .map(opts)
        .collect();
    opts(c)
        .into_iter()
        .filter(|o| twins.iter().any(|t| !t.contains(o)))
        .collect()
}

/// A configuration at its uniform setting in words: "AVIF q=85", with its options when
/// another configuration of `all` has the same codec ("JPEG q=95 (subsampling=444,...)").
pub fn named(c: &ConfigAnswer, all: &[ConfigAnswer]) -> String {
    // Only the options that tell it from its twins: "JPEG q=95 (subsampling=444)".
    let differ = distinguishing_options(c, all);
    let options = if differ.is_empty() {
        String::new()
    } else {
        format!(" ({})", differ.join(","))
    };
    match c.setting {
        Some(s) => format!("{} {}={s}{options}", c.codec.to_uppercase(), c.setting_key),
        None => format!("{}{options}", c.codec.to_uppercase()),
    }
}

fn ci_text(c: &ConfigAnswer) -> String {
    match c.ci95_pct {
        Some([lo, hi]) => format!(" [95% CI {lo:+.0}..{hi:+.0}]"),
        None => String::new(),
    }
}

/// The answer card's lines for one level.
pub(super) fn card(t: &TargetAnswer, n: usize) -> Vec<String> {
    let anchor = t.configs.iter().find(|c| c.anchor);
    let at = format!("{} {}", t.metric_name, t.target);
    let Some(r) = t.configs.iter().find(|c| c.recommended) else {
        return vec![format!(
            "At {at}: no configuration that can be delivered meets it with one setting on {}% \
             of the {n} images (see the table; lower the target or widen the sweep).",
            t.coverage_pct
        )];
    };
    let mut line = format!(
        "Use {} (meets {at} on {} of {} images): {}",
        named(r, &t.configs),
        r.images_met,
        r.images,
        size(r.total_bytes)
    );
    match (anchor, r.anchor) {
        (_, true) => line.push_str(" (the anchor: nothing measured beats it here)"),
        (Some(a), false) if !a.uniform_cells.is_empty() => {
            line.push_str(&format!(
                ", {:+.0}%{} against {}",
                r.vs_anchor_pct.unwrap_or(f64::NAN),
                ci_text(r),
                named(a, &t.configs)
            ));
            if r.verdict == "too few images to tell" {
                line.push_str(" (too few images to tell)");
            }
            if r.compared < r.images {
                line.push_str(&format!(
                    " over the {} of {} images both compare alike",
                    r.compared, r.images
                ));
            }
        }
        (Some(a), false) => line.push_str(&format!(
            "; no single {} setting meets it on {} of the images ({}), so there is no saving \
             against it to give",
            a.codec.to_uppercase(),
            if t.coverage_pct >= 100.0 {
                "all".to_string()
            } else {
                format!("{}%", t.coverage_pct)
            },
            a.note
                .split_once('(')
                .map_or("", |(_, n)| n.trim_end_matches(')'))
        )),
        (None, _) => {}
    }
    let fallback = t
        .configs
        .iter()
        .find(|c| c.spec == t.fallback && !c.spec.is_empty());
    match fallback {
        Some(f) if !f.recommended => {
            line.push_str(&format!("; fall back to {}.", named(f, &t.configs)))
        }
        _ => line.push('.'),
    }
    let mut second = format!("{}.", capitalise(&r.delivery.label));
    if let Some(p) = r.per_image_vs_uniform_pct {
        let v: Vec<f64> = r.per_image.iter().filter_map(|c| c.setting).collect();
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if p <= -0.5 {
            second.push_str(&format!(
                " Tuning the setting per image ({}={lo}..{hi}) saves a further {:.0}% ({}).",
                r.setting_key,
                -p,
                size(r.per_image_total_bytes.unwrap_or(0))
            ));
        } else {
            second.push_str(" Tuning the setting per image saves nothing more here.");
        }
    }
    if let Some(c) = t.configs.iter().find(|c| c.curve == t.cheapest_any) {
        second.push_str(&format!(
            " {} would be {:.0}% smaller than it, but {}.",
            named(c, &t.configs),
            (1.0 - c.total_bytes as f64 / r.total_bytes.max(1) as f64) * 100.0,
            if c.delivery.label == "no browser" {
                "no browser decodes it".to_string()
            } else {
                format!("it serves in {}", c.delivery.label)
            }
        ));
    }
    if n < FEW_IMAGES {
        second.push_str(&format!(" Only {n} image(s): treat the saving as a hint."));
    }
    vec![line, second]
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

/// The answer card: one line per target, its second line indented.
pub fn card_text(r: &Recommendation) -> String {
    let mut out = String::new();
    for t in &r.targets {
        for (i, l) in t.card.iter().enumerate() {
            out.push_str(if i == 0 { "" } else { "  " });
            out.push_str(l);
            out.push('\n');
        }
    }
    for n in &r.notes {
        out.push_str(n);
        out.push('\n');
    }
    out
}
