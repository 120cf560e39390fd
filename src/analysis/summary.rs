//! Per codec configuration and setting, over the corpus: the rows of summary.csv. The mean of
//! every metric is filled through the metric table (`crate::metrics::METRICS`).

use crate::metrics::{psnr_from_mse, METRICS};
use crate::record::CellRecord;
pub use crate::record::SummaryRow;

fn compared_samples(r: &CellRecord) -> u64 {
    let channels = [r.psnr_c0, r.psnr_c1, r.psnr_c2, r.psnr_c3]
        .iter()
        .filter(|c| c.is_some())
        .count() as u64;
    r.width as u64 * r.height as u64 * channels
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Groups rows by spec, in order of first appearance.
pub fn summarize(records: &[CellRecord]) -> Vec<SummaryRow> {
    let mut order: Vec<&str> = Vec::new();
    for r in records {
        if !order.contains(&r.spec.as_str()) {
            order.push(&r.spec);
        }
    }
    order
        .into_iter()
        .map(|spec| {
            let all: Vec<&CellRecord> = records.iter().filter(|r| r.spec == spec).collect();
            let ok: Vec<&CellRecord> = all.iter().copied().filter(|r| r.is_ok()).collect();
            let first = all[0];
            let total_bytes: u64 = ok.iter().filter_map(|r| r.bytes).sum();
            let total_pixels: u64 = ok.iter().map(|r| r.width as u64 * r.height as u64).sum();
            let (mut num, mut den) = (0.0, 0u64);
            for r in &ok {
                if let Some(mse) = r.mse {
                    let n = compared_samples(r);
                    num += mse / (r.peak as f64 * r.peak as f64) * n as f64;
                    den += n;
                }
            }
            let col = |f: fn(&CellRecord) -> Option<f64>| -> Vec<f64> {
                ok.iter().filter_map(|r| f(r)).collect()
            };
            let mut row = SummaryRow {
                codec: first.codec.clone(),
                codec_version: first.codec_version.clone(),
                curve: first.curve.clone(),
                spec: spec.to_string(),
                setting_key: first.setting_key.clone(),
                setting: first.setting,
                options: first.options.clone(),
                images: ok.len(),
                errors: all.len() - ok.len(),
                total_bytes,
                total_raw_bytes: ok.iter().map(|r| r.raw_bytes).sum(),
                total_pixels,
                mean_bpp: mean(&col(|r| r.bpp)),
                bpp_of_totals: (total_pixels > 0)
                    .then(|| 8.0 * total_bytes as f64 / total_pixels as f64),
                psnr_of_pooled_mse: (den > 0).then(|| psnr_from_mse(num / den as f64, 1.0)),
                mean_compression_ratio: mean(&col(|r| r.compression_ratio)),
                encode_ms_total: col(|r| r.encode_ms).iter().sum(),
                decode_ms_total: col(|r| r.decode_ms).iter().sum(),
                ..SummaryRow::default()
            };
            for m in METRICS {
                (m.set_mean)(&mut row, mean(&col(m.get)));
            }
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(image: &str, w: u32, bytes: u64, mse: f64, peak: u32) -> CellRecord {
        CellRecord {
            image: image.into(),
            spec: "jpeg:q=50".into(),
            status: crate::record::Status::Ok,
            width: w,
            height: 1,
            peak,
            raw_bytes: 3 * w as u64,
            bytes: Some(bytes),
            bpp: Some(8.0 * bytes as f64 / w as f64),
            compression_ratio: Some(3.0 * w as f64 / bytes as f64),
            mse: Some(mse),
            psnr: Some(psnr_from_mse(mse, peak as f64)),
            psnr_c0: Some(0.0),
            psnr_c1: Some(0.0),
            psnr_c2: Some(0.0),
            encode_ms: Some(1.0),
            decode_ms: Some(0.5),
            ..Default::default()
        }
    }

    #[test]
    fn pools_normalised_mse_by_samples_and_keeps_both_bpp_means() {
        let a = row("a", 100, 100, 65.025, 255); // normalised MSE 0.001, 300 samples
        let b = row("b", 300, 100, 0.0, 255); // exact, 900 samples
        let mut failed = row("c", 10, 1, 1.0, 255);
        failed.status = crate::record::Status::Error;
        let s = &summarize(&[a, b, failed])[0];
        assert_eq!((s.images, s.errors), (2, 1));
        assert_eq!(s.total_bytes, 200);
        assert_eq!(s.mean_bpp, Some((8.0 + 8.0 / 3.0) / 2.0));
        assert_eq!(s.bpp_of_totals, Some(8.0 * 200.0 / 400.0));
        let pooled: f64 = 0.001 * 300.0 / 1200.0;
        assert!((s.psnr_of_pooled_mse.unwrap() - (-10.0 * pooled.log10())).abs() < 1e-12);
        assert_eq!(s.mean_psnr, Some(f64::INFINITY));
        assert_eq!(s.encode_ms_total, 2.0);
    }
}
