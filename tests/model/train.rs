//! Training smoke test on real listening data: the 12-user hetrec excerpt in
//! tests/fixtures/hetrec-mini (compiled in, so it runs in Chromium too). The training loss must
//! fall, the run must be reproducible from its seed, and the best checkpoint must load back.

use crate::hetrec_mini;

use ainrec::data::history::Portrait;
use ainrec::data::splits::split_user;
use ainrec::model::ainrnn::{self, Ainrnn, CellKind, Connections};
use ainrec::model::fit::example_input;
use ainrec::model::portrait;
use ainrec::model::recommender::NeuralRecommender;
use ainrec::model::song_encoder;
use ainrec::model::train::{EpochStats, Example, Loss, TrainConfig, Trainer};
use ainrec::ranking::Recommender;
use candle_core::Device;

struct Setup {
    features: Vec<Vec<f32>>,
    genres: Vec<String>,
    train: Vec<Example>,
    valid: Vec<Example>,
}

/// Artist features = ln(1 + tag counts) from every user's tags; per user, 30 % of the artists
/// are held out (split_user, seed 1): two thirds of them are training positives, the rest
/// validation positives, each scored against the user's remaining 70 % as history.
fn setup() -> Setup {
    let h = hetrec_mini::mini();
    let all = vec![true; h.dataset.users.len()];
    let content = h.tag_profiles(&all).unwrap();
    let features: Vec<Vec<f32>> = content
        .rows
        .iter()
        .map(|row| {
            let mut v = vec![0f32; content.dims];
            for &(d, x) in row {
                v[d as usize] = x.ln_1p();
            }
            v
        })
        .collect();
    let vocab = h.genre_vocabulary(&all, 8);
    let genres: Vec<String> = vocab.iter().map(|&t| h.tag_names[t].clone()).collect();
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for (u, user) in h.dataset.users.iter().enumerate() {
        if user.listens.len() < 10 {
            continue;
        }
        let (input, targets) = split_user(user, 1, 0.3).unwrap();
        let target_items: Vec<usize> = targets.iter().map(|l| l.item).collect();
        let portrait = Portrait {
            genres: h.genre_portrait(u, &vocab, 2, &target_items),
            ..Default::default()
        };
        // Two thirds of the targets are training positives, the rest validation positives;
        // each group is one example scored in one recurrent pass.
        let cut = targets.len() * 2 / 3;
        let history: Vec<(usize, f32)> = input.iter().map(|l| (l.item, l.plays as f32)).collect();
        let example = |positives: &[ainrec::data::Listen]| Example {
            history: history.clone(),
            positives: positives.iter().map(|l| l.item).collect(),
            exclude: user.items(),
            portrait: Some(portrait.clone()),
        };
        train.push(example(&targets[..cut]));
        valid.push(example(&targets[cut..]));
    }
    Setup {
        features,
        genres,
        train,
        valid,
    }
}

fn trainer(s: &Setup, seed: u64) -> Trainer {
    trainer_with(s, seed, |_| {})
}

/// The test's network with its training configuration changed by `adjust`.
fn trainer_with(s: &Setup, seed: u64, adjust: impl FnOnce(&mut TrainConfig)) -> Trainer {
    let d_in = s.features[0].len();
    let model = ainrnn::Config {
        item_dim: 16,
        hidden_dim: 16,
        n_layers: 5,
        cell: CellKind::IndRnn,
        attention: true,
        connections: Connections::Dense,
        dropout: 0.5,
        max_len: 64,
        att_dim: 8,
        portrait: portrait::Config {
            dim: 4,
            genres: s.genres.clone(),
        },
        layer_norm: false,
        readout: ainrnn::Readout::Top,
    };
    let encoder = song_encoder::Config {
        input_dim: d_in,
        hidden_dim: 32,
        output_dim: 16,
        n_ids: 0,
    };
    let mut cfg = TrainConfig {
        // 10× the paper's rate so a handful of epochs on ~200 examples shows learning.
        lr: 5e-3,
        max_epochs: 8,
        patience: 8,
        batch_size: 4,
        n_negatives: 20,
        seed,
        ..TrainConfig::default()
    };
    adjust(&mut cfg);
    Trainer::new(s.features.clone(), encoder, model, cfg, &Device::Cpu).unwrap()
}

#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn loss_falls_on_a_real_slice_and_runs_reproduce() {
    let s = setup();
    let positives = |e: &[Example]| e.iter().map(|x| x.positives.len()).sum::<usize>();
    assert!(
        s.train.len() >= 10 && positives(&s.train) > 100 && positives(&s.valid) > 50,
        "{} users, {} / {} positives",
        s.train.len(),
        positives(&s.train),
        positives(&s.valid)
    );
    assert!(!s.genres.is_empty());
    let mut t = trainer(&s, 7);
    let before = t.evaluate(&s.valid, 99).unwrap();
    let mut seen: Vec<EpochStats> = Vec::new();
    let report = t
        .fit(&s.train, &s.valid, &mut |e| {
            seen.push(*e);
            true
        })
        .unwrap();
    assert_eq!(seen, report.epochs);
    let first = report.epochs[0].train_loss;
    let last = report.epochs.last().unwrap().train_loss;
    // Chance level with 1 positive + 20 negatives is ln 21 ≈ 3.04.
    assert!(
        last < 0.9 * first,
        "training loss did not fall: {:?}",
        report.epochs
    );
    let best = report.epochs[report.best_epoch - 1].valid_loss;
    assert!(
        best < before,
        "validation loss {best} not below the untrained {before}"
    );
    // The trainer holds the best epoch's weights after fit.
    let after = t.evaluate(&s.valid, 99).unwrap();
    assert!(after < before);

    // Same seed → the same run, epoch by epoch.
    let mut again = trainer(&s, 7);
    let report2 = again.fit(&s.train, &s.valid, &mut |_| true).unwrap();
    assert_eq!(report.epochs, report2.epochs);
    // Same weights (compared tensor by tensor: the header's metadata map has no fixed order).
    let w1 = candle_core::safetensors::load_buffer(&report.checkpoint, &Device::Cpu).unwrap();
    let w2 = candle_core::safetensors::load_buffer(&report2.checkpoint, &Device::Cpu).unwrap();
    assert_eq!(w1.len(), w2.len());
    for (name, a) in &w1 {
        let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = w2[name].flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(a, b, "{name} differs between two runs with one seed");
    }

    // The checkpoint is a loadable AINRNN with the same configuration.
    let (loaded, _) = Ainrnn::from_bytes(&report.checkpoint, "ainrnn", &Device::Cpu).unwrap();
    assert_eq!(loaded.config(), t.model().config());

    // The callback can cancel.
    let mut third = trainer(&s, 7);
    let r3 = third.fit(&s.train, &s.valid, &mut |_| false).unwrap();
    assert!(r3.cancelled && r3.epochs.len() == 1);
}

/// The full-softmax loss is −log softmax of each positive against every item its user does not
/// know, averaged over the positives: recomputed here from the network's own per-candidate
/// scores over the whole catalog (`NeuralRecommender::score`, i.e. `Ainrnn::forward`).
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn full_softmax_loss_is_cross_entropy_over_the_unknown_catalog() {
    let s = setup();
    let t = trainer_with(&s, 7, |c| {
        c.loss = Loss::Full;
        c.batch_size = s.valid.len(); // one batch: the loss is the mean over all positives
    });
    let got = f64::from(t.evaluate(&s.valid, 1).unwrap());
    let model =
        NeuralRecommender::new("t", t.model().clone(), t.item_embeddings().unwrap(), None).unwrap();
    let (mut total, mut count) = (0f64, 0usize);
    for e in &s.valid {
        let scores = model.score(&example_input(e)).unwrap();
        let mut known = vec![false; scores.len()];
        for &i in e.exclude.iter().chain(&e.positives) {
            known[i] = true;
        }
        e.history.iter().for_each(|h| known[h.0] = true);
        let unknown: Vec<f64> = (0..scores.len())
            .filter(|&i| !known[i])
            .map(|i| f64::from(scores[i]))
            .collect();
        assert!(unknown.len() > 100, "{} unknown items", unknown.len());
        for &p in &e.positives {
            let sp = f64::from(scores[p]);
            let m = unknown.iter().copied().fold(sp, f64::max);
            let z = (sp - m).exp() + unknown.iter().map(|x| (x - m).exp()).sum::<f64>();
            total += z.ln() + m - sp;
            count += 1;
        }
    }
    let expected = total / count as f64;
    assert!(
        (got - expected).abs() < 1e-4 * expected,
        "loss {got} vs recomputed {expected}"
    );
    // Far above the sampled loss's chance level (ln 21): the softmax runs over the catalog.
    assert!(expected > (21f64).ln(), "{expected}");
}

/// Training with the full softmax lowers it, and the learning rate decays by `lr_decay` after
/// every epoch that does not improve the early-stopping score (here a criterion that never
/// improves after the first epoch: two decays in three epochs).
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn full_softmax_training_learns_and_the_rate_decays_after_the_peak() {
    let s = setup();
    let mut t = trainer_with(&s, 3, |c| {
        c.loss = Loss::Full;
        c.lr_decay = 0.5;
    });
    let lr = t.learning_rate();
    let before = t.evaluate(&s.valid, 1).unwrap();
    let mut flat = |_: &Trainer| Ok(1.0f32);
    let report = t
        .fit_with_criterion(
            &mut |_| Ok(s.train.clone()),
            &s.valid,
            Some(&mut flat),
            &mut |e| e.epoch < 3,
        )
        .unwrap();
    assert_eq!(report.epochs.len(), 3);
    assert_eq!(report.best_epoch, 1);
    assert!(
        (t.learning_rate() - lr * 0.25).abs() < 1e-12,
        "{}",
        t.learning_rate()
    );
    let first = report.epochs[0].train_loss;
    let last = report.epochs[2].train_loss;
    assert!(
        last < first,
        "full-softmax training loss did not fall: {:?}",
        report.epochs
    );
    assert!(
        report.epochs[0].valid_loss < before,
        "{before} → {:?}",
        report.epochs
    );
}
