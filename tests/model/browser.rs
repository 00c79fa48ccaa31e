//! The browser model (`models/browser.safetensors`) on the bundled demo catalog, natively and in
//! Chromium: a library is standardised over itself, its untrained ranking is the eq. 4 prior,
//! fine-tuning on scripted histories with a change of taste beats the prior and audio-kNN on the
//! held-out last plays (on a steady taste the prior is near what any ranker can expect, and a
//! worse run is rolled back), the file round-trips with identical scores, and corrupt or
//! foreign files are rejected while the previous weights keep working.

use std::collections::HashSet;

use ainrec::metrics::mean_reciprocal_rank;
use ainrec::model::browser::{
    prior_user, prior_weights, BrowserModel, FineTuneConfig, PriorConfig, RankOptions, Session,
    Step,
};
use base64::Engine as _;
use candle_core::{Device, Tensor};

const MODEL: &[u8] = include_bytes!("../../models/browser.safetensors");
const CATALOG: &str = include_str!("../../models/demo/catalog.json");

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
    let mut rng = ainrec::util::rng::Rng::new(seed);
    let mut liked: Vec<usize> = (0..d.collection.len())
        .filter(|&i| d.collection[i] == preferred)
        .collect();
    let mut others: Vec<usize> = (0..d.collection.len())
        .filter(|&i| d.collection[i] != preferred)
        .collect();
    rng.shuffle(&mut liked);
    rng.shuffle(&mut others);
    let mut head = favourites(&liked[..11]);
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

/// Songs played 2-5 times each, every third one liked: the part of a history that shows the
/// taste.
fn favourites(items: &[usize]) -> Vec<Step> {
    items
        .iter()
        .enumerate()
        .map(|(k, &item)| Step {
            item,
            plays: 2.0 + (k % 4) as f32,
            liked: k % 3 == 0,
            skips: 0.0,
        })
        .collect()
}

/// 20 distinct plays with a change of taste: 10 tracks of `first`, then 10 of `then` (each
/// block in a seeded order); the last 5, of `then`, are held out. The eq. 4 prior weighs every
/// play alike; only the order says that `then` is the taste now.
fn scripted_change(d: &Demo, first: &str, then: &str, seed: u64) -> Vec<Step> {
    let mut rng = ainrec::util::rng::Rng::new(seed);
    let mut block = |collection: &str| -> Vec<Step> {
        let mut rows: Vec<usize> = (0..d.collection.len())
            .filter(|&i| d.collection[i] == collection)
            .collect();
        rng.shuffle(&mut rows);
        favourites(&rows[..10])
    };
    let mut history = block(first);
    history.extend(block(then));
    history
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
    assert_eq!(s.set_library(&flat(&d), &[]).unwrap(), d.descriptors.len());
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
    audio_knn_recent_mrr(d, history, held_out, history.len())
}

/// [`audio_knn_mrr`] with only the last `last` plays as the query (the candidates are still
/// the songs not in `history`): the plain baseline that knows order.
fn audio_knn_recent_mrr(d: &Demo, history: &[Step], held_out: &[usize], last: usize) -> f64 {
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
    let mut w = prior_weights(history, &PriorConfig::default());
    let from = history.len().saturating_sub(last);
    w[..from].iter_mut().for_each(|w| *w = 0.0);
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

/// The steady-taste scripted histories: three seeds for each of the two collections with 16
/// or more tracks (one history alone is too noisy a check: 5 held-out songs among 40).
const SCRIPTS: [(&str, u64); 6] = [
    ("vividos/MultiplayerOnlineGame", 20),
    ("vividos/MultiplayerOnlineGame", 21),
    ("vividos/MultiplayerOnlineGame", 22),
    ("ollieChurch/MaxwellMysteriesDemo", 20),
    ("ollieChurch/MaxwellMysteriesDemo", 21),
    ("ollieChurch/MaxwellMysteriesDemo", 22),
];

/// The change-of-taste histories: each of the two large collections then the other, for each
/// of `seeds` (the test's 20-22; 30-32 are the confirmation run of the notes, through the sweep).
fn change_scripts(d: &Demo, seeds: &[u64]) -> Vec<Vec<Step>> {
    let (a, b) = (SCRIPTS[0].0, SCRIPTS[3].0);
    [(a, b), (b, a)]
        .iter()
        .flat_map(|&(x, y)| {
            seeds
                .iter()
                .map(move |&seed| scripted_change(d, x, y, seed))
        })
        .collect()
}

/// One fine-tuning run on a scripted history, measured on its held-out plays.
struct Run {
    prior: f64,
    /// The check right after the run, before any roll-back: what fine-tuning itself did.
    raw: f64,
    /// What the session ranks with afterwards (the prior's value when rolled back).
    shipped: f64,
    knn: f64,
    held_out: Vec<usize>,
    train_len: usize,
}

/// A fresh session on the demo library and one fine-tuning run on `history` (every loss finite;
/// kept weights survive a save).
fn run_script(d: &Demo, history: &[Step], cfg: FineTuneConfig) -> Run {
    let mut s = Session::new(MODEL).unwrap();
    s.set_library(&flat(d), &[]).unwrap();
    let prior = s.fine_tune_start(history, cfg).unwrap().unwrap();
    let mut losses = Vec::new();
    while let Some(r) = s.fine_tune_step().unwrap() {
        losses.push(r.loss);
    }
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    let out = s.fine_tune_finish().unwrap();
    if out.kept {
        let again = BrowserModel::from_bytes(&s.weights().unwrap()).unwrap();
        assert!(again.info()["fine_tuned"]["steps"].as_u64().unwrap() > 0);
    }
    let train_len = history.len() - out.held_out.len();
    Run {
        prior,
        raw: out.checked.unwrap_or(prior),
        shipped: out.after.unwrap(),
        knn: audio_knn_mrr(d, &history[..train_len], &out.held_out),
        held_out: out.held_out,
        train_len,
    }
}

/// Expected MRR of held-out songs ranked in a uniformly random order among the `pool` songs
/// placed above all others: the most a ranker that knows only "this collection" can expect.
/// Each rank `1..=pool` holds a given target with probability `1 / pool`, whatever the number of
/// targets.
fn collection_ceiling(pool: usize) -> f64 {
    (1..=pool).map(|r| 1.0 / r as f64).sum::<f64>() / pool as f64
}

#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn fine_tuning_beats_the_prior_and_audio_knn_on_a_change_of_taste() {
    // Ten songs of one collection, then ten of the other: the prior weighs all twenty alike, so
    // it cannot tell which taste is the current one; the order can. Measured before any
    // roll-back, so the check did not choose what is scored.
    let d = demo();
    let scripts = change_scripts(&d, &[20, 21, 22]);
    let n = scripts.len() as f64;
    let (mut prior, mut raw, mut knn, mut better) = (0.0, 0.0, 0.0, 0);
    for history in &scripts {
        let r = run_script(&d, history, FineTuneConfig::default());
        assert_eq!(r.held_out.len(), 5);
        assert!(r.shipped >= r.prior, "a worse check was kept");
        println!(
            "change of taste: held-out MRR audio-kNN {:.4}, prior {:.4}, fine-tuned {:.4}",
            r.knn, r.prior, r.raw
        );
        prior += r.prior / n;
        raw += r.raw / n;
        knn += r.knn / n;
        better += usize::from(r.raw > r.prior);
    }
    println!(
        "mean held-out MRR: audio-kNN {knn:.4}, prior {prior:.4}, fine-tuned {raw:.4} \
         (better than the prior in {better}/{})",
        scripts.len()
    );
    // Measured: 0.1167 / 0.0826 / 0.1393, better in 5 of 6.
    assert!(raw > prior, "fine-tuned {raw} vs prior {prior}");
    assert!(raw > knn, "fine-tuned {raw} vs audio-kNN {knn}");
    assert!(better * 2 > scripts.len(), "better in {better} only");
}

#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn on_a_steady_taste_the_prior_is_near_the_ceiling_and_a_worse_run_is_rolled_back() {
    // A steady preference in a shuffled order: the held-out plays are a random draw of the
    // preferred collection's unheard songs, so no ranker can expect to beat "that collection
    // first, in any order". Fine-tuning here mostly memorises the training songs against their
    // unheard collection-mates (measured: better in 2 of 6 before roll-back), and the check
    // rolls those runs back.
    let d = demo();
    let n = SCRIPTS.len() as f64;
    let (mut prior, mut raw, mut shipped, mut knn, mut ceiling) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (preferred, seed) in SCRIPTS {
        let history = scripted(&d, preferred, seed);
        let r = run_script(&d, &history, FineTuneConfig::default());
        let heard: HashSet<usize> = history[..r.train_len].iter().map(|s| s.item).collect();
        let pool = (0..d.collection.len())
            .filter(|&i| d.collection[i] == preferred && !heard.contains(&i))
            .count();
        let c = collection_ceiling(pool);
        println!(
            "{preferred} seed {seed}: held-out MRR audio-kNN {:.4}, prior {:.4}, fine-tuned \
             {:.4}, shipped {:.4}, collection ceiling {c:.4}",
            r.knn, r.prior, r.raw, r.shipped
        );
        assert!(r.shipped >= r.prior, "a worse check was kept");
        assert!(r.shipped == r.prior || r.shipped == r.raw);
        prior += r.prior / n;
        raw += r.raw / n;
        shipped += r.shipped / n;
        knn += r.knn / n;
        ceiling += c / n;
    }
    println!(
        "mean held-out MRR: audio-kNN {knn:.4}, prior {prior:.4}, fine-tuned {raw:.4}, shipped \
         {shipped:.4}, collection ceiling {ceiling:.4}"
    );
    // Measured: prior 0.3410 of a ceiling of 0.3613; audio-kNN 0.3213.
    assert!(prior > 0.9 * ceiling, "prior {prior} vs ceiling {ceiling}");
    assert!(prior > knn, "prior {prior} vs audio-kNN {knn}");
}

#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_forced_nan_rolls_back_to_the_weights_before() {
    let d = demo();
    let mut s = Session::new(MODEL).unwrap();
    s.set_library(&flat(&d), &[]).unwrap();
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
    s.set_library(&flat(&d), &[]).unwrap();
    let history = scripted_history(&d);
    let opts = RankOptions::default();
    let before = s.recommend(&history, &HashSet::new(), &opts).unwrap();
    let bytes = s.weights().unwrap();
    let mut t = Session::new(&bytes).unwrap();
    t.set_library(&flat(&d), &[]).unwrap();
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
        include_bytes!("../../models/hetrec.safetensors"),
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
    assert!(s.set_library(&[1.0; 7], &[]).is_err());
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

/// The eq. 4 prior of `model` over the library embedding `table` with only the last `last`
/// plays as the query, over the songs not in `history`: the prior made to know order by hand.
#[cfg(not(target_arch = "wasm32"))]
fn prior_recent_mrr(
    model: &BrowserModel,
    table: &Tensor,
    history: &[Step],
    held_out: &[usize],
    last: usize,
) -> f64 {
    let recent = &history[history.len().saturating_sub(last)..];
    let scores = model.prior_scores(table, recent).unwrap();
    let heard: HashSet<usize> = history.iter().map(|h| h.item).collect();
    let candidates: Vec<usize> = (0..scores.len()).filter(|i| !heard.contains(i)).collect();
    let picked: Vec<f32> = candidates.iter().map(|&c| scores[c]).collect();
    mean_reciprocal_rank(&candidates, &picked, held_out)
}

/// Not part of `make test`: the raw check (before any roll-back) of fine-tuning settings on the
/// six scripted histories, for the issue notes. Settings as a JSON list of `FineTuneConfig`s
/// (missing fields take the defaults), e.g.
/// `AINREC_SWEEP='[{"lr":1e-4},{"lr":1e-3,"max_steps":20}]' cargo test --release --test
/// browser_model sweep -- --ignored --nocapture`. `AINREC_SCRIPTS=change` runs the
/// change-of-taste histories instead, `AINREC_SEEDS='[30,31,32]'` other seeds.
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn sweep_fine_tuning_settings() {
    let d = demo();
    let settings = std::env::var("AINREC_SWEEP").unwrap_or_else(|_| "[{}]".into());
    let cfgs: Vec<FineTuneConfig> = serde_json::from_str(&settings).unwrap();
    let seeds: Vec<u64> = std::env::var("AINREC_SEEDS")
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap_or_else(|_| vec![20, 21, 22]);
    let histories: Vec<Vec<Step>> = if std::env::var("AINREC_SCRIPTS").is_ok_and(|s| s == "change")
    {
        change_scripts(&d, &seeds)
    } else {
        [SCRIPTS[0].0, SCRIPTS[3].0]
            .iter()
            .flat_map(|&preferred| seeds.iter().map(move |&seed| (preferred, seed)))
            .map(|(preferred, seed)| scripted(&d, preferred, seed))
            .collect()
    };
    // The model and the library embedding of the last-5-plays prior, made once.
    let model = BrowserModel::from_bytes(MODEL).unwrap();
    let table = model.embed_library(&d.descriptors).unwrap();
    for cfg in cfgs {
        let n = histories.len() as f64;
        let (mut prior, mut raw, mut shipped, mut knn, mut better) = (0.0, 0.0, 0.0, 0.0, 0);
        let (mut knn5, mut prior5) = (0.0, 0.0);
        let mut change = Vec::new();
        for history in &histories {
            let r = run_script(&d, history, cfg);
            let train = &history[..r.train_len];
            knn5 += audio_knn_recent_mrr(&d, train, &r.held_out, 5) / n;
            prior5 += prior_recent_mrr(&model, &table, train, &r.held_out, 5) / n;
            prior += r.prior / n;
            raw += r.raw / n;
            shipped += r.shipped / n;
            knn += r.knn / n;
            better += usize::from(r.raw > r.prior);
            change.push(format!("{:+.3}", r.raw - r.prior));
        }
        println!(
            "{}: audio-kNN {knn:.4} (last 5 plays {knn5:.4}), prior {prior:.4} (last 5 plays \
             {prior5:.4}), fine-tuned before any roll-back {raw:.4} \
             (better in {better}/{}), shipped {shipped:.4} [{}]",
            serde_json::to_string(&cfg).unwrap(),
            histories.len(),
            change.join(" ")
        );
    }
}
