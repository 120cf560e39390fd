//! Part of the binary (declared in main.rs, not in the library): what `codecbench` prints on
//! stdout: a line per rate-distortion curve after a run, and the
//! files it wrote. Data only; progress and warnings go to stderr elsewhere.

use std::io::Write;
use std::path::PathBuf;

use codecbench::sweep::Outcome;

/// Prints "wrote FILE" for each table, page and manifest, and one line per folder of images
/// (plots, crops): a large corpus writes hundreds of crop files.
pub fn print_written(files: &[PathBuf]) {
    let mut out = std::io::stdout().lock();
    for line in written(files) {
        let _ = writeln!(out, "{line}");
    }
}

/// The lines of [`print_written`].
fn written(files: &[PathBuf]) -> Vec<String> {
    let is_image = |f: &PathBuf| {
        f.extension()
            .is_some_and(|e| e == "png" || e == "svg" || e == "webp")
    };
    let mut lines: Vec<String> = files
        .iter()
        .filter(|f| !is_image(f))
        .map(|f| format!("wrote {}", f.display()))
        .collect();
    // Image files counted under their folder of kind ("plots" or "crops").
    let mut folders: Vec<(PathBuf, usize)> = Vec::new();
    for f in files.iter().filter(|f| is_image(f)) {
        let dir = f
            .ancestors()
            .skip(1)
            .find(|p| p.ends_with("plots") || p.ends_with("crops"))
            .or_else(|| f.parent())
            .map(PathBuf::from)
            .unwrap_or_default();
        match folders.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, n)) => *n += 1,
            None => folders.push((dir, 1)),
        }
    }
    for (dir, n) in folders {
        let what = if dir.ends_with("crops") {
            "crop"
        } else {
            "plot"
        };
        lines.push(format!("wrote {n} {what} files in {}", dir.display()));
    }
    lines
}

fn fmt_range(v: &[f64], digits: usize) -> String {
    let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let any_inf = v.iter().any(|x| x.is_infinite());
    match (finite.is_empty(), any_inf) {
        (true, true) => "inf".into(),
        (true, false) => "-".into(),
        _ if (hi - lo).abs() < 1e-12 => {
            format!("{lo:.digits$}{}", if any_inf { "..inf" } else { "" })
        }
        _ => format!(
            "{lo:.digits$}..{hi:.digits$}{}",
            if any_inf { "..inf" } else { "" }
        ),
    }
}

/// One line per rate-distortion curve on stdout; details are in summary.csv.
pub fn print_summary(o: &Outcome) {
    let mut out = std::io::stdout().lock();
    let mut curves: Vec<&str> = Vec::new();
    for r in &o.summary {
        if !curves.contains(&r.curve.as_str()) {
            curves.push(&r.curve);
        }
    }
    let _ = writeln!(
        out,
        "{:<40} {:>5} {:>6} {:>14} {:>20} {:>9} {:>9}",
        "codec (options)",
        "cells",
        "failed",
        "bpp (totals)",
        "PSNR dB (pooled)",
        "encode s",
        "decode s"
    );
    for curve in curves {
        let rows: Vec<_> = o.summary.iter().filter(|r| r.curve == curve).collect();
        let cells: usize = rows.iter().map(|r| r.images + r.errors).sum();
        let failed: usize = rows.iter().map(|r| r.errors).sum();
        let bpp: Vec<f64> = rows.iter().filter_map(|r| r.bpp_of_totals).collect();
        let psnr: Vec<f64> = rows.iter().filter_map(|r| r.psnr_of_pooled_mse).collect();
        let enc: f64 = rows.iter().map(|r| r.encode_ms_total).sum::<f64>() / 1e3;
        let dec: f64 = rows.iter().map(|r| r.decode_ms_total).sum::<f64>() / 1e3;
        let _ = writeln!(
            out,
            "{:<40} {:>5} {:>6} {:>14} {:>20} {:>9.2} {:>9.2}",
            curve,
            cells,
            failed,
            fmt_range(&bpp, 3),
            fmt_range(&psnr, 2),
            enc,
            dec
        );
    }
    let t = &o.meta.timing;
    let _ = writeln!(
        out,
        "\n{} images, {} of {} cells measured, {} failed, {} files skipped; wall {:.1} s on {} jobs",
        o.meta.corpus.len(),
        o.meta.cells_done,
        o.meta.cells_total,
        o.meta.cells_failed,
        o.skipped.len(),
        t.wall_s,
        o.meta.jobs
    );
    if t.measured_s > 0.0 {
        let _ = writeln!(
            out,
            "parallel efficiency {:.3} (codec+metric time {:.1} s / (wall {:.1} s x {} jobs)); \
             harness overhead {:.1}% of codec+metric time ({:.2}% inside cells)",
            t.efficiency,
            t.measured_s,
            t.wall_s,
            o.meta.jobs,
            100.0 * t.overhead_share,
            100.0 * t.in_cell_overhead_share
        );
    } else {
        let _ = writeln!(
            out,
            "no codec or metric ran in this run: every cell came from the cache"
        );
    }
    if t.measured_cpu_s > 0.0 {
        let _ = writeln!(
            out,
            "CPU: process {:.1} s ({:.0}% of wall x jobs), codec+metric {:.1} s: CPU efficiency \
             {:.3}, harness overhead {:.1}% of codec+metric CPU; peak RSS {:.0} MiB",
            t.cpu_s,
            100.0 * t.cpu_utilisation,
            t.measured_cpu_s,
            t.cpu_efficiency,
            100.0 * t.cpu_overhead_share,
            o.meta.peak_rss_bytes as f64 / (1u64 << 20) as f64
        );
    }
    if t.unclocked_s > 0.0 && t.measured_cpu_s > 0.0 {
        let _ = writeln!(
            out,
            "(the CPU figures leave out {:.1} s of codec calls on threads of the codec's own, whose \
             CPU time no clock here sees; it is in the process CPU, so the CPU \
             overhead above is too high by up to that much)",
            t.unclocked_s
        );
    }
    if t.machine_busy() {
        let _ = writeln!(
            out,
            "the machine was busy: cells had a CPU for only {:.0}% of their wall time \
             ({:.1} s CPU in {:.1} s); wall-clock times are inflated, compare *_cpu_ms",
            100.0 * t.cell_cpu_per_wall,
            t.measured_cpu_s,
            t.measured_s
        );
    }
    if t.measured_s > 0.0 {
        let _ = writeln!(
            out,
            "codec calls {:.1} s, metrics {:.1} s ({:.0}% of codec+metric time; metrics: {})",
            t.codecs_s,
            t.metrics_s,
            100.0 * t.metrics_s / t.measured_s,
            o.meta.metrics
        );
    }
    if o.meta.cells_cached > 0 && o.meta.cells_cached == o.meta.cells_done {
        let _ = writeln!(
            out,
            "every cell ({}) came from the cache ({}): this run measured nothing; a change the cache \
             key does not cover (a file an external codec runs but its `files` do not list) would \
             not show: run with --no-cache to re-measure",
            o.meta.cells_done,
            o.meta
                .cache_dir
                .as_ref()
                .map_or(String::new(), |d| d.display().to_string())
        );
    } else if o.meta.cells_cached > 0 {
        let _ = writeln!(
            out,
            "{} of {} cells taken from the cache ({})",
            o.meta.cells_cached,
            o.meta.cells_done,
            o.meta
                .cache_dir
                .as_ref()
                .map_or(String::new(), |d| d.display().to_string())
        );
    }
    if o.meta.interrupted {
        let _ = writeln!(out, "interrupted: the files hold the cells finished so far");
    }
    drop(out);
    print_written(&o.files);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Crops (lossless WebP, one folder per image) and plots are counted per folder, not
    /// listed: the bundled corpus alone writes 150 crop files.
    #[test]
    fn image_files_are_counted_per_folder() {
        let files: Vec<PathBuf> = [
            "r/results.csv",
            "r/crops/a.png-1/jpeg_q_80-2.webp",
            "r/crops/a.png-1/jpeg_q_80-2.heat.webp",
            "r/crops/b.png-3/original.png",
            "r/crops/crops.json",
            "r/plots/rd.svg",
            "r/plots/rd.png",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(
            written(&files),
            [
                "wrote r/results.csv",
                "wrote r/crops/crops.json",
                "wrote 3 crop files in r/crops",
                "wrote 2 plot files in r/plots",
            ]
        );
    }
}
