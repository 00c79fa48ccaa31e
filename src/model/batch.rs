//! Padded history batches: the one place where a batch of histories of different lengths
//! becomes the tensors AINRNN reads ([`crate::model::ainrnn::Batch`]). Hetrec training
//! ([`crate::model::train`]) and fine-tuning in the page ([`crate::model::browser`]) both
//! build their batches here, so they pad and mask alike.

use candle_core::Tensor;

use crate::error::Result;

/// Right-padded histories: example `i`'s steps fill positions `0..len_i` of row `i`; the
/// padding points at table row 0 with mask 0 (read by no layer's output).
#[derive(Debug, Clone, PartialEq)]
pub struct PaddedHistories {
    /// Examples (B).
    pub batch: usize,
    /// Longest history (T, at least 1 so that an empty batch still has a shape).
    pub len: usize,
    rows: Vec<u32>,
    plays: Vec<f32>,
    mask: Vec<f32>,
}

impl PaddedHistories {
    /// `windows[i]`: example `i`'s history, oldest first, as `(table row, plays)`, already cut
    /// to the window the model reads.
    pub fn new(windows: &[Vec<(u32, f32)>]) -> Self {
        let batch = windows.len();
        let len = windows.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let (mut rows, mut plays, mut mask) = (
            vec![0u32; batch * len],
            vec![0f32; batch * len],
            vec![0f32; batch * len],
        );
        for (i, w) in windows.iter().enumerate() {
            for (s, &(row, p)) in w.iter().enumerate() {
                rows[i * len + s] = row;
                plays[i * len + s] = p;
                mask[i * len + s] = 1.0;
            }
        }
        PaddedHistories {
            batch,
            len,
            rows,
            plays,
            mask,
        }
    }

    /// The batch over embeddings `table (N, d)`: `(history (B, T, d), plays (B, T), mask (B, T))`.
    pub fn tensors(self, table: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let dev = table.device();
        let (b, t) = (self.batch, self.len);
        Ok((
            gather(table, self.rows, b, t)?,
            Tensor::from_vec(self.plays, (b, t), dev)?,
            Tensor::from_vec(self.mask, (b, t), dev)?,
        ))
    }
}

/// Rows of `table (N, d)` as `(b, c, d)`: `rows` holds `b · c` table rows, example by example.
pub fn gather(table: &Tensor, rows: Vec<u32>, b: usize, c: usize) -> Result<Tensor> {
    let d = table.dim(1)?;
    let n = rows.len();
    Ok(table
        .index_select(&Tensor::from_vec(rows, n, table.device())?, 0)?
        .reshape((b, c, d))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn pads_on_the_right_and_masks_the_padding() {
        // Table row r = [r, 10 r].
        let table = Tensor::from_vec(
            (0..4).flat_map(|r| [r as f32, 10.0 * r as f32]).collect(),
            (4, 2),
            &Device::Cpu,
        )
        .unwrap();
        let p = PaddedHistories::new(&[vec![(3, 2.0)], vec![(1, 1.0), (2, 5.0)], vec![]]);
        assert_eq!((p.batch, p.len), (3, 2));
        let (h, plays, mask) = p.tensors(&table).unwrap();
        assert_eq!(h.dims(), &[3, 2, 2]);
        assert_eq!(
            h.to_vec3::<f32>().unwrap(),
            vec![
                vec![vec![3.0, 30.0], vec![0.0, 0.0]],
                vec![vec![1.0, 10.0], vec![2.0, 20.0]],
                vec![vec![0.0, 0.0], vec![0.0, 0.0]],
            ]
        );
        assert_eq!(
            plays.to_vec2::<f32>().unwrap(),
            vec![vec![2.0, 0.0], vec![1.0, 5.0], vec![0.0, 0.0]]
        );
        assert_eq!(
            mask.to_vec2::<f32>().unwrap(),
            vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![0.0, 0.0]]
        );
        let empty = PaddedHistories::new(&[]);
        assert_eq!((empty.batch, empty.len), (0, 1));
    }
}
