//! The browser model (`models/browser.safetensors`) on the bundled demo catalog, natively and in
//! Chromium: a library is standardised over itself, its untrained ranking is the eq. 4 prior,
//! fine-tuning on a scripted history beats the prior and audio-kNN on the held-out last plays,
//! the file round-trips with identical scores, and corrupt or foreign files are rejected while
//! the previous weights keep working.

use std::collections::HashSet;

use ainrec::model::browser::{
    mean_reciprocal_rank, prior_user, prior_weights, BrowserModel, FineTuneConfig, PriorConfig,
    RankOptions, Session, Step,
};
use base64::Engine as _;
use candle_core::{Device, Tensor};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const MODEL: &[u8] = include_bytes!("../models/browser.safetensors");
const CATALOG: &str = include_str!("../models/demo/catalog.json");

struct Demo {
    descriptors: Vec<Vec<f32>>,
    collection: Vec<String>,
}

fn demo() -> Demo {
    let c: serde_json::Value = serde_json::from_str(CATALOG).unwrap();
    let mut descriptors = Vec::new();
    let mut collection = Vec::new();
    for t in c["tracks"].as_array().unwrap() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(t["descriptor"].as_str().unwrap())
            .unwrap();
        descriptors.push(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        );
        // github.com/<owner>/<repo>/…: the source collection.
        let src: Vec<&str> = t["source"].as_str().unwrap().split('/').collect();
        collection.push(format!("{}/{}", src[3], src[4]));
    }
    Demo {
        descriptors,
        collection,
    }
}

fn flat(d: &Demo) -> Vec<f32> {
    d.descriptors.concat()
}

/// 20 distinct plays, 16 of one source collection (a clear preference) and 4 of others (two of
/// them skipped), in a seeded order whose last 5 are of the preferred collection.
fn scripted_history(d: &Demo) -> Vec<Step> {
    scripted(d, "vividos/MultiplayerOnlineGame", 20)
}

/// [`scripted_history`] for another preferred collection and seed.
fn scripted(d: &Demo, preferred: &str, seed: u64) -> Vec<Step> {
    let mut rng = ainrec::data::rng::Rng::new(seed);
    let mut liked: Vec<usize> = (0..d.collection.len())
        .filter(|&i| d.collection[i] == preferred)
        .collect();
    let mut others: Vec<usize> = (0..d.collection.len())
        .filter(|&i| d.collection[i] != preferred)
        .collect();
    rng.shuffle(&mut liked);
    rng.shuffle(&mut others);
    let mut head: Vec<Step> = liked[..11]
        .iter()
        .enumerate()
        .map(|(k, &item)| Step {
            item,
            plays: 2.0 + (k % 4) as f32,
            liked: k % 3 == 0,
            skips: 0.0,
        })
        .collect();
    head.extend(others[..4].iter().enumerate().map(|(k, &item)| Step {
        item,
        plays: 1.0,
        liked: false,
        skips: if k < 2 { 2.0 } else { 0.0 },
    }));
    rng.shuffle(&mut head);
    head.extend(liked[11..16].iter().map(|&item| Step {
        item,
        plays: 3.0,
        liked: false,
        skips: 0.0,
    }));
    head
}

#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn prior_is_eq4_on_a_worked_example() {
    // e0 = (1, 0), e1 = (0, 1), e2 = (0.6, 0.8); history: e0 played 3× and liked, e1 played
    // once and skipped 3×. w0 = ln 4 + 1, w1 = ln 2 − ln 4; prior(e2) = (0.6 w0 + 0.8 w1) / (|w0| + |w1|).
    let dev = Device::Cpu;
    let table = Tensor::new(&[[1f32, 0.0], [0.0, 1.0], [0.6, 0.8]], &dev).unwrap();
    let history = [
        Step {
            item: 0,
            plays: 3.0,
            liked: true,
            skips: 0.0,
        },
        Step {
            item: 1,
            plays: 1.0,
            liked: false,
            skips: 3.0,
        },
    ];
    let w = prior_weights(&history, &PriorConfig::default());
    assert!((w[0] - (4f32.ln() + 1.0)).abs() < 1e-6);
    assert!((w[1] - (2f32.ln() - 4f32.ln())).abs() < 1e-6);
    let u: Vec<f32> = prior_user(&table, &history, &PriorConfig::default())
        .unwrap()
        .to_vec1()
        .unwrap();
    let prior_e2 = 0.6 * u[0] + 0.8 * u[1];
    assert!((prior_e2 - 0.284_875).abs() < 1e-5, "{prior_e2}");
    // No weight at all (items added without plays): each counts 1.
    let bare = [
        Step::default(),
        Step {
            item: 1,
            ..Step::default()
        },
    ];
    assert_eq!(
        prior_weights(&bare, &PriorConfig::default()),
        vec![1.0, 1.0]
    );
}

#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn untrained_ranking_is_the_prior_with_attention_weights() {
    let d = demo();
    let mut s = Session::new(MODEL).unwrap();
    assert_eq!(s.set_library(&flat(&d)).unwrap(), d.descriptors.len());
    let history = scripted_history(&d);
    let recs = s
        .recommend(&history, &HashSet::new(), &RankOptions::default())
        .unwrap();
    assert_eq!(recs.len(), 10);
    // The eq. 4 prior by hand from the song embeddings (unit vectors: dot = cosine).
    let emb: Vec<Vec<f32>> = s
        .model()
        .embed_library(&d.descriptors)
        .unwrap()
        .to_vec2()
        .unwrap();
    let w = prior_weights(&history, &PriorConfig::default());
    let norm: f32 = w.iter().map(|v| v.abs()).sum();
    let heard: HashSet<usize> = history.iter().map(|h| h.item).collect();
    let mut by_hand: Vec<(usize, f32)> = (0..emb.len())
        .filter(|i| !heard.contains(i))
        .map(|c| {
            let p: f32 = history
                .iter()
                .zip(&w)
                .map(|(h, w)| {
                    w * emb[c]
                        .iter()
                        .zip(&emb[h.item])
                        .map(|(a, b)| a * b)
                        .sum::<f32>()
                })
                .sum();
            (c, p / norm)
        })
        .collect();
    by_hand.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    for (r, (c, p)) in recs.iter().zip(&by_hand) {
        assert_eq!(r.item, *c, "rank order differs from the eq. 4 prior");
        assert!((r.prior - p).abs() < 1e-4);
        assert!(!heard.contains(&r.item));
        let sum: f32 = r.attention.iter().sum();
        assert_eq!(r.attention.len(), history.len());
        assert!((sum - 1.0).abs() < 1e-4, "attention sums to {sum}");
    }
}

#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_library_is_standardised_over_itself() {
    let d = demo();
    let s = Session::new(MODEL).unwrap();
    let m = s.model();
    let min = m.config().library_min_rows;
    let close = |a: &Tensor, b: &Tensor| -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar()
            .unwrap()
    };
    // A whole library measured on another scale (every column × 3) embeds the same: only its
    // own spread matters. (No offset here: adding 5 in f32 erases the spread of the columns
    // whose values are ~1e-6, which z-scoring then rightly no longer sees.)
    let rescaled: Vec<Vec<f32>> = d
        .descriptors
        .iter()
        .map(|r| r.iter().map(|v| 3.0 * v).collect())
        .collect();
    let a = m.embed_library(&d.descriptors).unwrap();
    let diff = close(&a, &m.embed_library(&rescaled).unwrap());
    assert!(diff < 1e-3, "{diff}");
    // …which the stored statistics alone would not give.
    assert!(close(&a, &m.embed(&d.descriptors).unwrap()) > 0.05);
    // Below `library_min_rows` songs the stored statistics are used.
    let few = &d.descriptors[..min - 1];
    assert_eq!(
        close(&m.embed_library(few).unwrap(), &m.embed(few).unwrap()),
        0.0
    );
    // A bad row is named, as in `embed`.
    let mut bad = d.descriptors.clone();
    bad[7][3] = f32::NAN;
    let e = m.embed_library(&bad).unwrap_err().to_string();
    assert!(e.contains("descriptor 7"), "{e}");
}

/// Audio-kNN on the raw descriptors: z-scored over the library, cosine, play-weighted like the
/// prior — the baseline the fine-tuned model must beat.
fn audio_knn_mrr(d: &Demo, history: &[Step], held_out: &[usize]) -> f64 {
    let n = d.descriptors.len();
    let dims = d.descriptors[0].len();
    let mut z = d.descriptors.clone();
    for j in 0..dims {
        let m = z.iter().map(|r| r[j]).sum::<f32>() / n as f32;
        let sd = (z.iter().map(|r| (r[j] - m).powi(2)).sum::<f32>() / n as f32).sqrt();
        for r in z.iter_mut() {
            r[j] = if sd > 1e-12 { (r[j] - m) / sd } else { 0.0 };
        }
    }
    for r in z.iter_mut() {
        let norm = r.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        r.iter_mut().for_each(|v| *v /= norm);
    }
    let w = prior_weights(history, &PriorConfig::default());
    let heard: HashSet<usize> = history.iter().map(|h| h.item).collect();
    let candidates: Vec<usize> = (0..n).filter(|i| !heard.contains(i)).collect();
    let scores: Vec<f32> = candidates
        .iter()
        .map(|&c| {
            history
                .iter()
                .zip(&w)
                .map(|(h, w)| w * z[c].iter().zip(&z[h.item]).map(|(a, b)| a * b).sum::<f32>())
                .sum()
        })
        .collect();
    mean_reciprocal_rank(&candidates, &scores, held_out)
}

/// The scripted histories: three seeds for each of the two collections with 16 or more tracks
/// (one history alone is too noisy a check: 5 held-out songs among 40).
const SCRIPTS: [(&str, u64); 6] = [
    ("vividos/MultiplayerOnlineGame", 20),
    ("vividos/MultiplayerOnlineGame", 21),
    ("vividos/MultiplayerOnlineGame", 22),
    ("ollieChurch/MaxwellMysteriesDemo", 20),
    ("ollieChurch/MaxwellMysteriesDemo", 21),
    ("ollieChurch/MaxwellMysteriesDemo", 22),
];

#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn fine_tuning_beats_the_prior_and_audio_knn_on_the_last_plays() {
    let d = demo();
    let (mut prior, mut tuned, mut knn) = (0.0, 0.0, 0.0);
    for (preferred, seed) in SCRIPTS {
        let mut s = Session::new(MODEL).unwrap();
        s.set_library(&flat(&d)).unwrap();
        let history = scripted(&d, preferred, seed);
        let before = s
            .fine_tune_start(&history, FineTuneConfig::default())
            .unwrap()
            .unwrap();
        let mut losses = Vec::new();
        while let Some(r) = s.fine_tune_step().unwrap() {
            losses.push(r.loss);
        }
        let out = s.fine_tune_finish().unwrap();
        assert_eq!(out.held_out.len(), 5);
        let train = &history[..history.len() - out.held_out.len()];
        let k = audio_knn_mrr(&d, train, &out.held_out);
        let after = out.after.unwrap();
        println!(
            "{preferred} seed {seed}: held-out MRR audio-kNN {k:.4}, prior {before:.4}, \
             fine-tuned {after:.4} ({} steps, loss {:.3} → {:.3}, kept {})",
            out.steps,
            losses[0],
            losses[losses.len() - 1],
            out.kept
        );
        prior += before / SCRIPTS.len() as f64;
        tuned += after / SCRIPTS.len() as f64;
        knn += k / SCRIPTS.len() as f64;
        if out.kept {
            // The fine-tuned weights are what the session now ranks with; they survive a save.
            let again = BrowserModel::from_bytes(&s.weights().unwrap()).unwrap();
            assert!(again.info()["fine_tuned"]["steps"].as_u64().unwrap() > 0);
        }
    }
    println!("mean held-out MRR: audio-kNN {knn:.4}, prior {prior:.4}, fine-tuned {tuned:.4}");
    // A run whose check got worse is rolled back and counts at its prior value: measured, the
    // check improved in 2 of the 6 histories and got worse in 4 (rolled back), so this mean
    // is the shipped behaviour, not the raw fine-tuned network's.
    assert!(tuned > prior, "fine-tuned {tuned} vs prior {prior}");
    assert!(tuned > knn, "fine-tuned {tuned} vs audio-kNN {knn}");
}

#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_forced_nan_rolls_back_to_the_weights_before() {
    let d = demo();
    let mut s = Session::new(MODEL).unwrap();
    s.set_library(&flat(&d)).unwrap();
    let history = scripted_history(&d);
    let shipped = s
        .recommend(&history, &HashSet::new(), &RankOptions::default())
        .unwrap();
    let cfg = FineTuneConfig {
        lr: 1e30,
        max_steps: 20,
        ..FineTuneConfig::default()
    };
    s.fine_tune_start(&history, cfg).unwrap();
    while s.fine_tune_step().unwrap().is_some() {}
    let out = s.fine_tune_finish().unwrap();
    assert!(!out.kept);
    assert!(out.rolled_back.is_some());
    let recs = s
        .recommend(&history, &HashSet::new(), &RankOptions::default())
        .unwrap();
    assert_eq!(recs, shipped, "the rolled-back model ranks differently");
}

#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn the_file_round_trips_and_bad_files_change_nothing() {
    let d = demo();
    let mut s = Session::new(MODEL).unwrap();
    s.set_library(&flat(&d)).unwrap();
    let history = scripted_history(&d);
    let opts = RankOptions::default();
    let before = s.recommend(&history, &HashSet::new(), &opts).unwrap();
    let bytes = s.weights().unwrap();
    let mut t = Session::new(&bytes).unwrap();
    t.set_library(&flat(&d)).unwrap();
    assert_eq!(
        t.recommend(&history, &HashSet::new(), &opts).unwrap(),
        before
    );

    let expect_err = |s: &mut Session, bad: &[u8], what: &str| {
        let e = s
            .load_weights(bad)
            .err()
            .unwrap_or_else(|| panic!("{what} was accepted"));
        let msg = e.to_string();
        assert!(!msg.is_empty());
        msg
    };
    let msg = expect_err(&mut s, &bytes[..bytes.len() / 2], "a truncated file");
    assert!(
        msg.contains("weights") || msg.contains("safetensors"),
        "{msg}"
    );
    let msg = expect_err(&mut s, b"PK\x03\x04 not a model", "a zip");
    assert!(msg.contains("safetensors"), "{msg}");
    // The hetrec model is a safetensors file of another kind.
    let msg = expect_err(
        &mut s,
        include_bytes!("../models/hetrec.safetensors"),
        "the hetrec model",
    );
    assert!(msg.contains("format version"), "{msg}");
    // NaN weights.
    let nan = with_tensor(&bytes, "ainrnn.head.bias", |v| v[0] = f32::NAN);
    let msg = expect_err(&mut s, &nan, "NaN weights");
    assert!(msg.contains("NaN"), "{msg}");
    // Another format version.
    let v2 = with_metadata(&bytes, "ainrec.browser.format_version", "2");
    let msg = expect_err(&mut s, &v2, "version 2");
    assert!(msg.contains("version 2"), "{msg}");
    // After all of that, the session still ranks exactly as before.
    assert_eq!(
        s.recommend(&history, &HashSet::new(), &opts).unwrap(),
        before
    );
    // A library with a wrong-length row is refused and the old library stays.
    assert!(s.set_library(&[1.0; 7]).is_err());
    assert_eq!(s.library_len(), d.descriptors.len());
}

fn rewrite(
    bytes: &[u8],
    edit: &mut dyn FnMut(&str, &mut Vec<f32>),
    meta: &mut dyn FnMut(&mut std::collections::HashMap<String, String>),
) -> Vec<u8> {
    let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let (_, m) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
    let mut metadata = m.metadata().clone().unwrap_or_default();
    meta(&mut metadata);
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, view) in st.tensors() {
        let mut v: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        edit(&name, &mut v);
        let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        tensors.push((name, view.shape().to_vec(), data));
    }
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, s, d)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::serialize(views, Some(metadata)).unwrap()
}

fn with_tensor(bytes: &[u8], name: &str, f: impl Fn(&mut Vec<f32>)) -> Vec<u8> {
    rewrite(
        bytes,
        &mut |n, v| {
            if n == name {
                f(v)
            }
        },
        &mut |_| {},
    )
}

fn with_metadata(bytes: &[u8], key: &str, value: &str) -> Vec<u8> {
    rewrite(bytes, &mut |_, _| {}, &mut |m| {
        m.insert(key.into(), value.into());
    })
}

/// Not part of `make test`: the raw check (before any roll-back) of fine-tuning settings on the
/// six scripted histories, for the issue notes. Settings as a JSON list of `FineTuneConfig`s
/// (missing fields take the defaults), e.g.
/// `AINREC_SWEEP='[{"lr":1e-4},{"lr":1e-3,"max_steps":20}]' cargo test --release --test
/// browser_model sweep -- --ignored --nocapture`.
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn sweep_fine_tuning_settings() {
    let d = demo();
    let settings = std::env::var("AINREC_SWEEP").unwrap_or_else(|_| "[{}]".into());
    let cfgs: Vec<FineTuneConfig> = serde_json::from_str(&settings).unwrap();
    for cfg in cfgs {
        let (mut prior, mut raw, mut better) = (0.0, 0.0, 0);
        let mut change = Vec::new();
        for (preferred, seed) in SCRIPTS {
            let mut s = Session::new(MODEL).unwrap();
            s.set_library(&flat(&d)).unwrap();
            let history = scripted(&d, preferred, seed);
            let before = s.fine_tune_start(&history, cfg).unwrap().unwrap();
            while s.fine_tune_step().unwrap().is_some() {}
            let checked = s.fine_tune_finish().unwrap().checked.unwrap_or(before);
            prior += before / SCRIPTS.len() as f64;
            raw += checked / SCRIPTS.len() as f64;
            better += usize::from(checked > before);
            change.push(format!("{:+.3}", checked - before));
        }
        println!(
            "{}: prior {prior:.4}, fine-tuned before any roll-back {raw:.4}, better in {better}/{} [{}]",
            serde_json::to_string(&cfg).unwrap(),
            SCRIPTS.len(),
            change.join(" ")
        );
    }
}
