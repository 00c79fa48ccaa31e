//! The bodies of the fuzz targets, shared with `tests/robust/fuzz_replay.rs` (which replays the seed
//! corpora and every committed crash reproducer in `make test`): each takes the fuzzer's bytes
//! and panics only on a bug — an `Err` that does not name its input, a non-finite value
//! handed back as a result, or a parser that cannot read its own output.
#![allow(dead_code)]

use ainrec::audio::decode::{decode_bytes_with_limits, DecodeLimits};
use ainrec::data::history::parse_history;
use ainrec::features::track::{
    analyze, descriptor_names, AnalyzerOptions, FeatureSet, Span, TrackAnalysis, TrackConfig,
};
use ainrec::serve::http::{read_head, Limits};

const HINTS: [Option<&str>; 7] = [
    None,
    Some("wav"),
    Some("mp3"),
    Some("ogg"),
    Some("flac"),
    Some("m4a"),
    Some("opus"),
];

/// The first byte picks the extension hint (and bit 7 turns HPCP and scattering on); the rest
/// is the file. Tags are read as the page does, then the file is decoded and a 0.5 s excerpt
/// analysed.
pub fn decode(data: &[u8]) {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let hint = HINTS[sel as usize % HINTS.len()];
    let _ = ainrec::audio::tags::read_tags(bytes.to_vec(), hint);
    // A few KB can claim hours of audio: cap the duration as the CLI does, only lower, so one
    // input stays within the fuzzer's time and memory budget.
    let limits = DecodeLimits {
        max_duration_s: 120.0,
        ..DecodeLimits::default()
    };
    let audio = match decode_bytes_with_limits(bytes.to_vec(), hint, "fuzz-input", &limits) {
        Ok(a) => a,
        Err(e) => {
            let e = e.to_string();
            assert!(
                e.contains("fuzz-input"),
                "an error without the file name: {e}"
            );
            return;
        }
    };
    assert!(audio.samples.iter().all(|s| s.is_finite()));
    // MFCC and HFC on every input; HPCP and scattering (whose set-up dominates the cost of an
    // input) only when bit 7 of the selector is set.
    let all = sel & 0x80 != 0;
    let cfg = TrackConfig {
        features: FeatureSet {
            scattering: all,
            hpcp: all,
            ..FeatureSet::ALL
        },
        span: Span::Excerpt { seconds: 0.5 },
        ..TrackConfig::default()
    };
    if let Ok(f) = analyze(&audio.samples, &cfg) {
        assert!(f.descriptor.iter().all(|v| v.is_finite()));
    }
}

/// Bytes → the model-file loader: a model with a catalog, or an error.
pub fn model_file(data: &[u8]) {
    match ainrec::model::model_file::load(data) {
        Ok(m) => assert!(!m.catalog.catalog.is_empty()),
        // Every rejection says what was wrong (a bare "error" would not help anybody).
        Err(e) => assert!(e.to_string().split_whitespace().count() >= 3, "{e}"),
    }
}

/// Bytes → the history/import parser; what it accepts must survive its own writer unchanged.
pub fn history(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_history(text, "import.json") {
        Ok(h) => {
            let again = parse_history(&h.to_json(), "round-trip").expect("own output parses");
            assert_eq!(again, h);
        }
        Err(e) => assert!(e.to_string().contains("import.json"), "{e}"),
    }
}

/// JSON → the analyzer options the wasm API deserialises (`AnalyzerOptions`, the struct
/// serde-wasm-bindgen fills from a JS object) → a validated `TrackConfig`, its descriptor names
/// and cache key; then planning a 2 s analysis with it.
pub fn analyzer_options(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(opts) = AnalyzerOptions::from_json(text) else {
        return;
    };
    let Ok(cfg) = opts.to_config() else {
        return;
    };
    assert!(!descriptor_names(&cfg).is_empty());
    assert!(cfg.cache_key().starts_with("fx"));
    // Planning allocates the filter banks: keep to the scales a page would use.
    if cfg.scattering.j <= 12 && cfg.scattering.q.0 <= 16 {
        let _ = TrackAnalysis::new(cfg, 2 * 22050);
    }
}

/// Bytes → the browser model loader (`BrowserModel::from_bytes`, what the page's worker runs on
/// `model/browser.safetensors` and on fine-tuned weights from IndexedDB or an import). A model it
/// accepts must embed descriptors and rank with finite scores, and survive its own writer.
pub fn browser_model(data: &[u8]) {
    use ainrec::model::browser::{BrowserModel, RankOptions, Step};
    let model = match BrowserModel::from_bytes(data) {
        Ok(m) => m,
        Err(e) => {
            assert!(e.to_string().split_whitespace().count() >= 3, "{e}");
            return;
        }
    };
    let n = model.config().descriptor_names.len();
    // Three rows: silence-like zeros, a ramp, and a row of large (finite) values.
    let rows: Vec<Vec<f32>> = vec![
        vec![0.0; n],
        (0..n).map(|i| (i as f32 * 0.37).sin()).collect(),
        (0..n)
            .map(|i| if i % 2 == 0 { 1e4 } else { -1e4 })
            .collect(),
    ];
    // An accepted model either embeds and ranks with finite numbers or says why it cannot.
    let table = match model.embed(&rows) {
        Ok(t) => t,
        Err(e) => {
            assert!(e.to_string().split_whitespace().count() >= 3, "{e}");
            return;
        }
    };
    let values: Vec<Vec<f32>> = table.to_vec2().expect("an (n, d) table");
    assert!(
        values.iter().flatten().all(|v| v.is_finite()),
        "embed returned a non-finite value"
    );
    let history = [
        Step {
            item: 0,
            plays: 2.0,
            liked: true,
            skips: 0.0,
        },
        Step {
            item: 1,
            plays: 1.0,
            liked: false,
            skips: 1.0,
        },
    ];
    let opts = RankOptions {
        k: 3,
        retrieve: 3,
        diversity: 0,
    };
    match model.rank(&table, &history, &Default::default(), &opts, &[]) {
        Ok(ranked) => assert!(
            ranked
                .iter()
                .all(|r| r.score.is_finite() && r.prior.is_finite()),
            "rank returned a non-finite score"
        ),
        Err(e) => assert!(e.to_string().split_whitespace().count() >= 3, "{e}"),
    }
    let again = model.to_bytes().expect("an accepted model serialises");
    BrowserModel::from_bytes(&again).expect("own output loads");
}

/// Bytes as a client would send them → the server's request-head reader: it never panics,
/// never reads past its bounds (4 blank lines and a request line, then the header bytes, each
/// plus the one byte that shows a line is too long), and what it accepts holds to them.
pub fn http_head(data: &[u8]) {
    let limits = Limits::default();
    let mut cur = std::io::Cursor::new(data);
    let result = read_head(&mut cur, &limits);
    let bound = 5 * (limits.request_line + 1) + limits.header_bytes + 1;
    assert!(
        cur.position() as usize <= bound,
        "read {} bytes",
        cur.position()
    );
    match result {
        Ok(Some(h)) => {
            assert!(h.target.len() < limits.request_line);
            assert!(h.headers.len() <= limits.header_count);
            assert!(!h.method.is_empty() && h.minor <= 1);
        }
        Ok(None) => {}
        Err(Ok(r)) => assert!(matches!(r.status, 400 | 414 | 431 | 505), "{r:?}"),
        Err(Err(_)) => {}
    }
}
