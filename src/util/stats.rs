//! Means and standard deviations, in f64: the column statistics of descriptor tables (to
//! z-score them) and the spread of results over folds or seeds.

use serde::{Deserialize, Serialize};

/// A mean and a standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Mean over folds.
    pub mean: f64,
    /// Sample standard deviation over folds (n − 1; 0 for a single fold).
    pub std: f64,
}

impl MeanStd {
    /// Mean and sample standard deviation (n − 1; 0 for fewer than two values) of `v`.
    pub fn of(v: &[f64]) -> Self {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let std = if v.len() > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        MeanStd { mean, std }
    }
}

/// A paired comparison of two models over the same folds: the per-fold differences `a_f − b_f`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    /// Mean and sample standard deviation of the differences.
    pub diff: MeanStd,
    /// Folds on which `a` is higher, lower, and equal.
    pub wins: usize,
    /// Folds on which `b` is higher.
    pub losses: usize,
    /// Folds of the comparison.
    pub folds: usize,
}

impl Paired {
    /// Pairs `a` and `b` fold by fold; `None` when they do not cover the same number of folds
    /// or hold a non-finite value.
    pub fn of(a: &[f64], b: &[f64]) -> Option<Self> {
        if a.len() != b.len() || a.is_empty() || a.iter().chain(b).any(|x| !x.is_finite()) {
            return None;
        }
        let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        Some(Self {
            diff: MeanStd::of(&d),
            wins: d.iter().filter(|x| **x > 0.0).count(),
            losses: d.iter().filter(|x| **x < 0.0).count(),
            folds: d.len(),
        })
    }
}

/// The mean and (population) standard deviation of each of `columns` over `rows`, in f64.
pub fn column_stats(rows: &[Vec<f32>], columns: &[usize]) -> Vec<(f64, f64)> {
    let n = rows.len().max(1) as f64;
    columns
        .iter()
        .map(|&c| {
            let m = rows.iter().map(|r| f64::from(r[c])).sum::<f64>() / n;
            let v = rows
                .iter()
                .map(|r| (f64::from(r[c]) - m).powi(2))
                .sum::<f64>()
                / n;
            (m, v.sqrt())
        })
        .collect()
}

/// Z-scores each column over the rows (a constant column becomes 0), then scales each row
/// to unit length so that a dot product is the cosine similarity.
pub fn standardize(rows: &[Vec<f32>], columns: &[usize]) -> Vec<Vec<f32>> {
    let stats = column_stats(rows, columns);
    rows.iter()
        .map(|r| {
            let mut z: Vec<f32> = columns
                .iter()
                .zip(&stats)
                .map(|(&c, &(m, s))| {
                    if s > 1e-12 {
                        ((f64::from(r[c]) - m) / s) as f32
                    } else {
                        0.0
                    }
                })
                .collect();
            let norm = z.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                z.iter_mut().for_each(|v| *v /= norm);
            }
            z
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn paired_differences_by_hand() {
        // d = (0.1, −0.1, 0.3, 0): mean 0.075, squared deviations sum to 0.0875, sample sd √(0.0875/3).
        let p = Paired::of(&[0.5, 0.4, 0.6, 0.2], &[0.4, 0.5, 0.3, 0.2]).unwrap();
        assert!((p.diff.mean - 0.075).abs() < 1e-12);
        assert!((p.diff.std - (0.0875f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!((p.wins, p.losses, p.folds), (2, 1, 4));
        assert!(Paired::of(&[0.1], &[0.1, 0.2]).is_none());
        assert!(Paired::of(&[f64::NAN], &[0.1]).is_none());
    }

    #[test]
    fn standardized_rows_are_unit_and_constant_columns_vanish() {
        let rows = vec![
            vec![1.0, 5.0, 3.0],
            vec![3.0, 5.0, 1.0],
            vec![2.0, 5.0, 2.0],
        ];
        let z = standardize(&rows, &[0, 1, 2]);
        for r in &z {
            assert_eq!(r[1], 0.0);
            let n: f32 = r.iter().map(|v| v * v).sum();
            assert!(n == 0.0 || (n - 1.0).abs() < 1e-6);
        }
        // Row 2 is the mean: all zeros, no NaN.
        assert!(z[2].iter().all(|v| *v == 0.0));
    }
}
