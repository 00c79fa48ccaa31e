//! EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"): a linear item–item
//! model with a closed form.
//!
//! With X the training users × items matrix (binary or log plays, [`Weighting`]), EASE is
//! B = argmin ‖X − XB‖² + λ‖B‖² subject to diag(B) = 0, whose solution is
//! B = I − P · diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, and a user's score is s = x B.
//!
//! hetrec has ~17.6k items but only ~1.5k training users, so P (items × items) is never formed.
//! By the Woodbury identity
//!
//! P = (λI + XᵀX)⁻¹ = (1/λ) (I − Xᵀ M⁻¹ X),   M = λI_u + XXᵀ (users × users, SPD),
//!
//! so for an input row x: x P = (1/λ) (x − tᵀ) with t = Xᵀ M⁻¹ X xᵀ, and
//! P_jj = (1/λ) (1 − q_j) with q_j = X_{:,j}ᵀ M⁻¹ X_{:,j}. Then
//!
//! s_j = x_j − (x P)_j / P_jj = x_j − (x_j − t_j) / (1 − q_j),
//!
//! which needs M⁻¹ (explicit, through its Cholesky factor) and q once per fit, and per user one
//! sparse product with X, one with M⁻¹ and one with Xᵀ. For items outside the input s_j =
//! t_j / (1 − q_j); inputs are excluded from rankings anyway (their s_j is (x B)_j, with B_jj = 0).
//!
//! Items no training user listened to score 0 by construction; they rank after every other item,
//! and an input with no catalog item gets the popularity order (as the kNN baselines do).

use std::cell::RefCell;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::{FitContext, Trainer};
use crate::ranking::{Recommender, UserInput};

use super::config_field;
use super::dense::{spd_inverse, Square};
use super::knn::users_fingerprint;
use super::popularity::{factor_scores, popularity_fallback};
use super::similarity::Weighting;

/// λ values tried (× 2 weightings = 16 configurations). Steck reports optima in the hundreds to
/// thousands for data sets with many more users; the grid reaches well past them.
pub const EASE_LAMBDAS: [f64; 8] = [50.0, 200.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0];

/// The training matrix X as sparse rows (training user → items) and columns (item → users), with
/// the Gram matrix XXᵀ; shared by every λ of one weighting.
#[derive(Debug)]
pub(super) struct Interactions {
    /// `rows[d]` = `(item, x)` of the d-th training user.
    pub(super) rows: Vec<Vec<(u32, f64)>>,
    /// `cols[j]` = `(d, x)` of item j, by increasing d.
    pub(super) cols: Vec<Vec<(u32, f64)>>,
}

impl Interactions {
    pub(super) fn new(dataset: &Dataset, users: &[usize], weighting: Weighting) -> Self {
        let mut rows = vec![Vec::new(); users.len()];
        let mut cols = vec![Vec::new(); dataset.catalog.len()];
        for (d, &u) in users.iter().enumerate() {
            for l in &dataset.users[u].listens {
                let w = f64::from(weighting.weight(l.plays as f32));
                if w > 0.0 {
                    rows[d].push((l.item as u32, w));
                    cols[l.item].push((d as u32, w));
                }
            }
        }
        Interactions { rows, cols }
    }

    /// XXᵀ (users × users).
    fn gram(&self) -> Square {
        let mut g = Square::zeros(self.rows.len());
        let n = g.n;
        for col in &self.cols {
            for (a, &(da, wa)) in col.iter().enumerate() {
                for &(db, wb) in &col[..=a] {
                    g.a[da as usize * n + db as usize] += wa * wb;
                }
            }
        }
        g.mirror_lower();
        g
    }
}

/// A fitted EASE model.
#[derive(Debug, Clone)]
pub struct Ease {
    x: Arc<Interactions>,
    /// M⁻¹ = (λI + XXᵀ)⁻¹.
    m_inv: Arc<Square>,
    /// 1 − q_j = λ P_jj.
    denom: Vec<f64>,
    input_weighting: Weighting,
    fallback: Vec<f32>,
}

impl Ease {
    /// Fits EASE with `lambda` on `users` (dataset indices) weighted by `weighting`.
    pub fn fit(
        dataset: &Dataset,
        users: &[usize],
        weighting: Weighting,
        lambda: f64,
    ) -> Result<Self> {
        let x = Arc::new(Interactions::new(dataset, users, weighting));
        let gram = x.gram();
        Self::from_parts(
            x,
            &gram,
            lambda,
            weighting,
            &dataset.item_user_counts(users),
        )
    }

    fn from_parts(
        x: Arc<Interactions>,
        gram: &Square,
        lambda: f64,
        weighting: Weighting,
        popularity: &[u32],
    ) -> Result<Self> {
        if !(lambda > 0.0 && lambda.is_finite()) {
            return Err(Error::invalid("ease lambda", "a positive number", lambda));
        }
        let mut m = gram.clone();
        m.add_to_diagonal(lambda);
        let m_inv = spd_inverse(&m)?;
        let denom = x
            .cols
            .iter()
            .map(|col| {
                let mut q = 0.0;
                for &(da, wa) in col {
                    let row = m_inv.row(da as usize);
                    for &(db, wb) in col {
                        q += wa * wb * row[db as usize];
                    }
                }
                (1.0 - q).max(1e-12)
            })
            .collect();
        Ok(Ease {
            x,
            m_inv: Arc::new(m_inv),
            denom,
            input_weighting: weighting,
            fallback: popularity_fallback(popularity),
        })
    }
}

impl Recommender for Ease {
    fn name(&self) -> &str {
        "ease"
    }
    fn n_items(&self) -> usize {
        self.fallback.len()
    }
    fn score(&self, input: &UserInput) -> Result<Vec<f32>> {
        let n = self.fallback.len();
        super::check_input_items(input, n)?;
        let nu = self.m_inv.n;
        let mut xin = vec![0f64; n];
        // y = X xᵀ (per training user).
        let mut y = vec![0f64; nu];
        for it in &input.items {
            let w = f64::from(self.input_weighting.weight(it.plays));
            xin[it.item] = w;
            for &(d, v) in &self.x.cols[it.item] {
                y[d as usize] += v * w;
            }
        }
        // z = M⁻¹ y.
        let mut z = vec![0f64; nu];
        for (d, &yd) in y.iter().enumerate() {
            if yd != 0.0 {
                for (zz, &m) in z.iter_mut().zip(self.m_inv.row(d)) {
                    *zz += yd * m;
                }
            }
        }
        // t = Xᵀ z.
        let mut t = vec![0f64; n];
        for (row, &zd) in self.x.rows.iter().zip(&z) {
            for &(j, v) in row {
                t[j as usize] += v * zd;
            }
        }
        let s: Vec<f32> = (0..n)
            .map(|j| (xin[j] - (xin[j] - t[j]) / self.denom[j]) as f32)
            .collect();
        let known: Vec<bool> = self.x.cols.iter().map(|c| !c.is_empty()).collect();
        Ok(factor_scores(
            s,
            &known,
            &self.fallback,
            !input.items.is_empty(),
        ))
    }
}

type GramEntry = ((u64, Weighting), Arc<Interactions>, Arc<Square>);

/// Trainer for [`Ease`]; grid: weighting ∈ {binary, log_plays} × λ ∈ [`EASE_LAMBDAS`]. The grid
/// varies λ fastest, so one Gram matrix per weighting serves eight fits.
#[derive(Debug, Default)]
pub struct EaseTrainer {
    last: RefCell<Option<GramEntry>>,
}

impl Trainer for EaseTrainer {
    fn name(&self) -> &str {
        "ease"
    }
    fn grid(&self) -> Vec<Value> {
        let mut g = Vec::new();
        for w in ["binary", "log_plays"] {
            for l in EASE_LAMBDAS {
                g.push(json!({"weighting": w, "lambda": l}));
            }
        }
        g
    }
    fn fit(&self, ctx: &FitContext<'_>, config: &Value) -> Result<Box<dyn Recommender>> {
        let weighting: Weighting = config_field("ease", config, "weighting")?;
        let lambda: f64 = config_field("ease", config, "lambda")?;
        let key = (users_fingerprint(ctx.train_users), weighting);
        let cached = self
            .last
            .borrow()
            .as_ref()
            .filter(|(k, _, _)| *k == key)
            .map(|(_, x, g)| (x.clone(), g.clone()));
        let (x, gram) = match cached {
            Some(c) => c,
            None => {
                let x = Arc::new(Interactions::new(ctx.dataset, ctx.train_users, weighting));
                let g = Arc::new(x.gram());
                *self.last.borrow_mut() = Some((key, x.clone(), g.clone()));
                (x, g)
            }
        };
        let pop = ctx.dataset.item_user_counts(ctx.train_users);
        Ok(Box::new(Ease::from_parts(
            x, &gram, lambda, weighting, &pop,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DatasetBuilder, Listen};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// a and b go together, c and d go together; c is the most popular item.
    fn toy() -> Dataset {
        let mut b = DatasetBuilder::new();
        for (u, items) in [
            ("u0", vec![("a", 1), ("b", 3)]),
            ("u1", vec![("a", 2), ("b", 1)]),
            ("u2", vec![("a", 1), ("b", 1), ("c", 5)]),
            ("u3", vec![("c", 1), ("d", 2)]),
            ("u4", vec![("c", 4), ("d", 1)]),
            ("u5", vec![("c", 1)]),
        ] {
            for (i, p) in items {
                b.add(u, i, p, None);
            }
        }
        b.add("u6", "e", 1, None);
        b.build()
    }

    fn input(d: &Dataset, ids: &[(&str, u32)]) -> UserInput {
        UserInput::from_listens(
            &ids.iter()
                .map(|&(id, plays)| Listen {
                    item: d.catalog.index_of(id).unwrap(),
                    plays,
                    time: None,
                })
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn woodbury_scores_equal_the_items_by_items_closed_form() {
        let d = toy();
        // u6 (item e) is not a training user: e has no training listener.
        let users = [0, 1, 2, 3, 4, 5];
        for w in [Weighting::Binary, Weighting::LogPlays] {
            for lambda in [0.5, 3.0, 50.0] {
                let m = Ease::fit(&d, &users, w, lambda).unwrap();
                let n = d.catalog.len();
                // Direct: P = (XᵀX + λI)⁻¹, B = I − P diag(1/P_jj).
                let mut xtx = Square::zeros(n);
                for &u in &users {
                    let mut row = vec![0f64; n];
                    for l in &d.users[u].listens {
                        row[l.item] = f64::from(w.weight(l.plays as f32));
                    }
                    xtx.add_outer_lower(1.0, &row);
                }
                xtx.add_to_diagonal(lambda);
                xtx.mirror_lower();
                let p = spd_inverse(&xtx).unwrap();
                let b = |i: usize, j: usize| f64::from(i == j) - p.at(i, j) / p.at(j, j);
                for j in 0..n {
                    assert!(b(j, j).abs() < 1e-12, "diag(B) = 0");
                }
                for ids in [&[("a", 2)][..], &[("c", 1), ("b", 3)], &[("d", 1)]] {
                    let inp = input(&d, ids);
                    let mut x = vec![0f64; n];
                    for it in &inp.items {
                        x[it.item] = f64::from(w.weight(it.plays));
                    }
                    let s = m.score(&inp).unwrap();
                    let e = d.catalog.index_of("e").unwrap();
                    for j in (0..n).filter(|&j| j != e) {
                        let direct: f64 = (0..n).map(|i| x[i] * b(i, j)).sum();
                        assert!(
                            (f64::from(s[j]) - direct).abs() < 1e-5,
                            "{w:?} λ={lambda} {ids:?} item {j}: {} vs {direct}",
                            s[j]
                        );
                    }
                    // e has no evidence: after every other item.
                    assert!((0..n).filter(|&j| j != e).all(|j| s[j] > s[e]));
                }
            }
        }
    }

    #[test]
    fn ease_ranks_the_co_listened_item_over_the_popular_one() {
        let d = toy();
        let m = Ease::fit(&d, &[0, 1, 2, 3, 4, 5], Weighting::Binary, 1.0).unwrap();
        let ix = |id: &str| d.catalog.index_of(id).unwrap();
        let s = m.score(&input(&d, &[("a", 1)])).unwrap();
        // Popularity would put c (4 users) first; a's partner is b.
        assert!(s[ix("b")] > s[ix("c")] && s[ix("b")] > s[ix("d")], "{s:?}");
        let s = m.score(&input(&d, &[("d", 1)])).unwrap();
        assert!(s[ix("c")] > s[ix("b")] && s[ix("c")] > s[ix("a")], "{s:?}");
        let empty = m.score(&UserInput::default()).unwrap();
        assert!(empty[ix("c")] > empty[ix("a")] && empty[ix("a")] > empty[ix("e")]);
    }

    #[test]
    fn ease_grid_covers_lambda_and_weighting() {
        let g = EaseTrainer::default().grid();
        assert!(g.len() >= 8 && g.len() <= crate::eval::TUNING_BUDGET);
        assert!(g.contains(&json!({"weighting": "binary", "lambda": 2000.0})));
        assert!(g.contains(&json!({"weighting": "log_plays", "lambda": 16000.0})));
    }
}
