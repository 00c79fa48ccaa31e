//! Small dense linear algebra for the matrix-factorisation baselines (EASE, iALS): Cholesky
//! factorisation of a symmetric positive definite matrix, solves with the factor and the
//! explicit inverse. Row-major `f64`, plain loops whose inner loops run over contiguous rows; the
//! largest matrix is users × users (≈ 1.5k² on hetrec), factored in about a second.

use crate::error::{Error, Result};

/// A square row-major matrix.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Square {
    pub(super) n: usize,
    pub(super) a: Vec<f64>,
}

impl Square {
    pub(super) fn zeros(n: usize) -> Self {
        Square {
            n,
            a: vec![0.0; n * n],
        }
    }

    pub(super) fn row(&self, i: usize) -> &[f64] {
        &self.a[i * self.n..(i + 1) * self.n]
    }

    #[cfg(test)]
    pub(super) fn at(&self, i: usize, j: usize) -> f64 {
        self.a[i * self.n + j]
    }

    pub(super) fn add_to_diagonal(&mut self, x: f64) {
        for i in 0..self.n {
            self.a[i * self.n + i] += x;
        }
    }

    /// Adds `w · v vᵀ` to the lower triangle only (see [`Square::mirror_lower`]).
    pub(super) fn add_outer_lower(&mut self, w: f64, v: &[f64]) {
        let n = self.n;
        for (i, &vi) in v.iter().enumerate() {
            let s = w * vi;
            for (x, &vj) in self.a[i * n..i * n + i + 1].iter_mut().zip(v) {
                *x += s * vj;
            }
        }
    }

    /// Copies the lower triangle onto the upper one.
    pub(super) fn mirror_lower(&mut self) {
        let n = self.n;
        for i in 0..n {
            for j in 0..i {
                self.a[j * n + i] = self.a[i * n + j];
            }
        }
    }
}

/// The Cholesky factor `L` (lower triangular, upper part zero) of a symmetric positive definite
/// `m = L Lᵀ`; only the lower triangle of `m` is read.
pub(super) fn cholesky(m: &Square) -> Result<Square> {
    let n = m.n;
    let mut l = Square::zeros(n);
    for i in 0..n {
        for j in 0..=i {
            let (ri, rj) = (&l.a[i * n..i * n + j], &l.a[j * n..j * n + j]);
            let dot: f64 = ri.iter().zip(rj).map(|(a, b)| a * b).sum();
            let s = m.a[i * n + j] - dot;
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return Err(Error::Model(format!(
                        "matrix is not positive definite (pivot {i}: {s})"
                    )));
                }
                l.a[i * n + i] = s.sqrt();
            } else {
                l.a[i * n + j] = s / l.a[j * n + j];
            }
        }
    }
    Ok(l)
}

/// Solves `L Lᵀ x = b` in place, with `l` from [`cholesky`].
pub(super) fn cholesky_solve(l: &Square, b: &mut [f64]) {
    let n = l.n;
    for i in 0..n {
        let dot: f64 = l.a[i * n..i * n + i]
            .iter()
            .zip(&b[..i])
            .map(|(a, x)| a * x)
            .sum();
        b[i] = (b[i] - dot) / l.a[i * n + i];
    }
    for i in (0..n).rev() {
        let below: f64 = (i + 1..n)
            .zip(&b[i + 1..])
            .map(|(k, x)| l.a[k * n + i] * x)
            .sum();
        b[i] = (b[i] - below) / l.a[i * n + i];
    }
}

/// The inverse of a symmetric positive definite matrix (lower triangle read), through its
/// Cholesky factor: M⁻¹ = L⁻ᵀ L⁻¹. About n³/2 multiply-adds.
pub(super) fn spd_inverse(m: &Square) -> Result<Square> {
    let n = m.n;
    let l = cholesky(m)?;
    // Row i of L⁻¹ from L L⁻¹ = I: (e_i − Σ_{k<i} L_ik · row_k(L⁻¹)) / L_ii.
    let mut li = Square::zeros(n);
    for i in 0..n {
        let (done, rest) = li.a.split_at_mut(i * n);
        let row = &mut rest[..n];
        row[i] = 1.0;
        for k in 0..i {
            let lik = l.a[i * n + k];
            if lik != 0.0 {
                for (x, &y) in row[..=k].iter_mut().zip(&done[k * n..k * n + k + 1]) {
                    *x -= lik * y;
                }
            }
        }
        let d = l.a[i * n + i];
        row[..=i].iter_mut().for_each(|x| *x /= d);
    }
    // M⁻¹ = Σ_k row_k(L⁻¹)ᵀ row_k(L⁻¹), lower triangle, then mirrored.
    let mut inv = Square::zeros(n);
    for k in 0..n {
        inv.add_outer_lower(1.0, &li.a[k * n..k * n + k + 1]);
    }
    inv.mirror_lower();
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn spd(n: usize) -> Square {
        // A = Bᵀ B + I for a fixed B.
        let mut m = Square::zeros(n);
        for k in 0..n + 2 {
            let v: Vec<f64> = (0..n).map(|i| ((i * 7 + k * 3) % 5) as f64 - 2.0).collect();
            m.add_outer_lower(1.0, &v);
        }
        m.add_to_diagonal(1.0);
        m.mirror_lower();
        m
    }

    #[test]
    fn inverse_and_solve_agree_with_the_matrix() {
        let m = spd(7);
        let inv = spd_inverse(&m).unwrap();
        for i in 0..7 {
            for j in 0..7 {
                let p: f64 = (0..7).map(|k| m.at(i, k) * inv.at(k, j)).sum();
                assert!((p - f64::from(i == j)).abs() < 1e-9, "{i} {j}: {p}");
            }
        }
        let l = cholesky(&m).unwrap();
        let b: Vec<f64> = (0..7).map(|i| i as f64 - 3.0).collect();
        let mut x = b.clone();
        cholesky_solve(&l, &mut x);
        for (i, bi) in b.iter().enumerate() {
            let p: f64 = (0..7).map(|k| m.at(i, k) * x[k]).sum();
            assert!((p - bi).abs() < 1e-9);
        }
        let mut bad = Square::zeros(2);
        bad.a = vec![1.0, 2.0, 2.0, 1.0];
        assert!(cholesky(&bad).is_err());
    }
}
