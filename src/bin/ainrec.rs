//! `ainrec` — the native command line: feature extraction and the page's server.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use ainrec::audio::decode::{decode_file_with_limits, DecodeLimits};
use ainrec::data::splits::SplitConfig;
use ainrec::eval_run::{
    run_audio_proxy, run_eval, run_recommend, AudioProxyOptions, EvalOptions, RecommendOptions,
};
use ainrec::features::scattering::{CoeffMeta, ScatteringConfig};
use ainrec::features::track::{
    analyze, descriptor_names, scattering_meta, FeatureSet, Span, TrackConfig, TrackFrames,
};
use ainrec::serve::StaticServer;
use ainrec::train_run::{run_train, TrainOptions};

#[derive(Parser)]
#[command(
    name = "ainrec",
    version,
    about = "AINRNN music recommender: features, serving the page"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode audio files (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A), resample to 22050 Hz mono
    /// and compute the track descriptor (per-feature mean and std over the 30 s middle
    /// excerpt) or, with `--frames`, frame-level features. Folders are searched for audio.
    ///
    /// One input prints one JSON object; several print `{"descriptor_names": [...],
    /// "tracks": [...], "failed": [...]}` (or CSV rows with `--csv`). Files that fail are
    /// reported with their reason and the rest go on. Exit code: 0 when every file was
    /// analysed, 1 when any failed (or the output could not be written), 2 for bad arguments.
    Features {
        /// Audio files or folders.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Write the output here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Comma-separated features: mfcc, scattering, hfc, hpcp (or all).
        #[arg(long, default_value = "mfcc,scattering,hfc,hpcp")]
        features: String,
        /// Analysed span: seconds from the middle of the track, or `whole`. Default: 30,
        /// or `whole` with --frames (so frames line up with librosa on the whole file).
        #[arg(long)]
        span: Option<String>,
        /// Frame-level output: `mfcc`, `mfcc_delta`, `mfcc_delta2` (frames × 20), `hfc`
        /// (one value a frame), `hpcp` (frames × 12), all at `hop_length`; `scattering`
        /// (frames × coefficients, not log-compressed) at `scattering_hop`, named by
        /// `scattering_meta`. The descriptor is included too.
        #[arg(long)]
        frames: bool,
        /// Descriptor rows as CSV (`file,<descriptor names>`) instead of JSON.
        #[arg(long, conflicts_with = "frames")]
        csv: bool,
        /// Scattering J (averaging scale T = 2^J samples).
        #[arg(long, default_value_t = 10)]
        scattering_j: u32,
        /// Scattering first-order wavelets per octave (Q2 is 1).
        #[arg(long, default_value_t = 8)]
        scattering_q: u32,
        /// Refuse files larger than this many megabytes (10^6 bytes).
        #[arg(long, default_value_t = DecodeLimits::DEFAULT_MAX_FILE_BYTES as f64 / 1e6)]
        max_file_mb: f64,
        /// Refuse audio longer than this many seconds (decoded memory is ~88 kB a second).
        #[arg(long, default_value_t = DecodeLimits::DEFAULT_MAX_DURATION_S)]
        max_duration: f64,
    },
    /// Evaluate models on real listening data (hetrec2011-lastfm-2k) with 10-fold
    /// cross-validation by user, under the full-ranking and sampled-100 protocols; writes
    /// `results.json` and `RESULTS.md`. Each finished fold is checkpointed, so an
    /// interrupted run resumes where it stopped.
    Eval {
        /// Comma-separated model names.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "popularity,item_knn,content_knn"
        )]
        models: Vec<String>,
        /// Number of cross-validation folds (≥ 3: test, validation, training).
        #[arg(long, default_value_t = 10)]
        folds: usize,
        /// The hetrec2011-lastfm-2k folder.
        #[arg(long, default_value = "../shared/data/hetrec2011-lastfm-2k")]
        data: PathBuf,
        /// Output folder for results.json, RESULTS.md and the fold checkpoints.
        #[arg(long, default_value = "docs")]
        out: PathBuf,
        /// Keep users with at least this many distinct artists.
        #[arg(long)]
        min_items: Option<usize>,
        /// Seed of the fold assignment and of every input/target split.
        #[arg(long)]
        seed: Option<u64>,
        /// Negatives per target in the sampled protocol.
        #[arg(long, default_value_t = 100)]
        negatives: usize,
        /// Neural models: JSON fields replacing the default configuration, e.g.
        /// '{"hidden_dim":64}' (an experiment; the configuration is recorded in the results).
        #[arg(long)]
        neural_config: Option<String>,
        /// Evaluate only the first N folds (resumable: a later run with more folds reuses them).
        #[arg(long)]
        max_folds: Option<usize>,
        /// Compute only these folds (1-based, e.g. 1,3,5) and leave their checkpoints in
        /// <out>/.eval-checkpoints without writing results: to run folds in parallel processes
        /// or on other machines. Run again without it to resume every fold and write results.
        #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u16).range(1..))]
        only_folds: Option<Vec<u16>>,
        /// Instead: the audio proxy protocol on the CC audio corpus (excerpt and collection
        /// retrieval per feature set), merged into an existing results.json.
        #[arg(long)]
        audio_proxy: bool,
        /// The shared data folder with `audio/catalog.csv` and `librosa/` (audio proxy).
        #[arg(long, default_value = "../shared/data")]
        audio_data: PathBuf,
    },
    /// Recommend from a history file (`{"version": 1, "items": [{"id": ...}, ...]}`); prints JSON.
    Recommend {
        /// The history file.
        #[arg(long)]
        history: PathBuf,
        /// A model file (`models/hetrec.safetensors`, from `ainrec train`), or a baseline fitted
        /// on the shipped data: popularity, item_knn or content_knn.
        #[arg(long, default_value = "item_knn")]
        model: String,
        /// Number of recommendations.
        #[arg(short, default_value_t = 10)]
        k: usize,
        /// The hetrec2011-lastfm-2k folder.
        #[arg(long, default_value = "../shared/data/hetrec2011-lastfm-2k")]
        data: PathBuf,
    },
    /// Train a neural model on every shipped hetrec user and write the model file.
    Train {
        /// ainrnn, indrnn or lstm.
        #[arg(long, default_value = "ainrnn")]
        model: String,
        /// The hetrec2011-lastfm-2k folder.
        #[arg(long, default_value = "../shared/data/hetrec2011-lastfm-2k")]
        data: PathBuf,
        /// The model file to write (replaced only when training succeeds).
        #[arg(long, default_value = "models/hetrec.safetensors")]
        out: PathBuf,
        /// JSON fields replacing the default configuration, e.g. '{"max_epochs":10}'.
        #[arg(long)]
        neural_config: Option<String>,
        /// Seed of the initial weights, the examples and the early-stopping users.
        #[arg(long, default_value_t = 2022)]
        seed: u64,
    },
    /// Build the page's model (models/browser.safetensors): the audio song encoder trained
    /// contrastively on the CC audio corpus, and AINRNN initialised to the eq. 4 prior.
    TrainBrowser {
        /// The shared data folder (audio/catalog.csv and librosa/).
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
        /// The model file to write (replaced only when training succeeds).
        #[arg(long, default_value = "models/browser.safetensors")]
        out: PathBuf,
        /// Descriptor set the encoder reads: mfcc, scattering, hfc_hpcp or all.
        #[arg(long, default_value = "all")]
        feature_set: String,
        /// Seed of the initial weights and of every draw.
        #[arg(long, default_value_t = 2022)]
        seed: u64,
    },
    /// Write the model card of a model file, with metrics copied from results.json.
    ModelCard {
        /// The model file.
        #[arg(long, default_value = "models/hetrec.safetensors")]
        model: PathBuf,
        /// The evaluation results.
        #[arg(long, default_value = "docs/results.json")]
        results: PathBuf,
        /// Where to write the card.
        #[arg(long, default_value = "models/MODEL_CARD.md")]
        out: PathBuf,
        /// The browser model, whose section follows.
        #[arg(long, default_value = "models/browser.safetensors")]
        browser: PathBuf,
    },
    /// Serve a folder (the web page by default) with the headers the page needs.
    Serve {
        /// Folder to serve.
        #[arg(default_value = "www")]
        dir: PathBuf,
        /// TCP port (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to bind; keep the default (loopback) unless you know why not.
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
    },
}

#[derive(Serialize)]
struct TrackOutput {
    file: String,
    duration_s: f64,
    sample_rate: u32,
    hop_length: usize,
    n_fft: usize,
    source_sample_rate: u32,
    source_channels: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped_packets: Option<usize>,
    features: String,
    /// First analysed second and length of the span in seconds.
    span_start_s: f64,
    span_s: f64,
    n_frames: usize,
    descriptor: Vec<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    descriptor_names: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scattering_hop: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scattering_meta: Option<Vec<CoeffMeta>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    frames: Option<TrackFrames>,
}

#[derive(Serialize)]
struct Failure {
    file: String,
    error: String,
}

const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "mp3", "ogg", "oga", "flac", "m4a", "mp4", "aac", "opus", "webm", "mka",
];

/// Expands folders (recursively, sorted) into the audio files they contain.
///
/// Symlinks are followed, but every folder and file is taken at most once by its real
/// (canonical) path, so a link back up the tree (`a/self -> .`, `a/sub/up -> ..`) is reported
/// as a loop instead of being walked forever. Entries that are not regular files (FIFOs,
/// sockets, devices), which would block or make no sense to decode, are skipped with a note.
/// The notes are printed to stderr; the batch goes on.
fn expand_inputs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    use std::collections::HashSet;
    struct Walk {
        seen: HashSet<PathBuf>,
        out: Vec<PathBuf>,
    }
    impl Walk {
        /// True the first time the real path of `p` is met.
        fn first_visit(&mut self, p: &Path) -> bool {
            match std::fs::canonicalize(p) {
                Ok(real) => self.seen.insert(real),
                Err(_) => true,
            }
        }
        fn file(&mut self, p: PathBuf, named: bool) {
            match std::fs::metadata(&p) {
                Ok(m) if !m.is_file() => {
                    eprintln!("note: skipped {}: not a regular file", p.display());
                }
                _ => {
                    if self.first_visit(&p) {
                        self.out.push(p);
                    } else if named {
                        eprintln!("note: skipped {}: already in the batch", p.display());
                    }
                }
            }
        }
        fn dir(&mut self, dir: &Path) {
            if !self.first_visit(dir) {
                eprintln!(
                    "note: skipped {}: a link to a folder already walked (a loop)",
                    dir.display()
                );
                return;
            }
            let Ok(rd) = std::fs::read_dir(dir) else {
                self.out.push(dir.to_path_buf());
                return;
            };
            let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    self.dir(&p);
                } else if p
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
                {
                    self.file(p, false);
                }
            }
        }
    }
    let mut w = Walk {
        seen: HashSet::new(),
        out: Vec::new(),
    };
    for p in inputs {
        if p.is_dir() {
            w.dir(p);
        } else if p.exists() {
            w.file(p.clone(), true);
        } else {
            // Missing: kept, so the decoder names it as a failure of the batch.
            w.out.push(p.clone());
        }
    }
    w.out
}

/// Checks `-o` before any work: it must not name one of the inputs (which it would
/// overwrite with JSON), and its folder must take a new file.
fn check_output(out: &Path, files: &[PathBuf]) -> Result<(), String> {
    if let Ok(real_out) = std::fs::canonicalize(out) {
        if files
            .iter()
            .any(|f| std::fs::canonicalize(f).is_ok_and(|r| r == real_out))
        {
            return Err(format!(
                "-o {} names one of the input files; it would be overwritten",
                out.display()
            ));
        }
    }
    let existed = out.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(out)
        .map_err(|e| format!("cannot write -o {}: {e}", out.display()))?;
    if !existed {
        let _ = std::fs::remove_file(out);
    }
    Ok(())
}

fn analyse(
    path: &Path,
    cfg: &TrackConfig,
    limits: &DecodeLimits,
    one: bool,
) -> ainrec::Result<TrackOutput> {
    let audio = decode_file_with_limits(path, limits)?;
    let out = analyze(&audio.samples, cfg)?;
    let sr = f64::from(audio.sample_rate);
    let frames = cfg.keep_frames;
    Ok(TrackOutput {
        file: path.display().to_string(),
        duration_s: audio.duration_s(),
        sample_rate: audio.sample_rate,
        hop_length: cfg.mfcc.stft.hop_length,
        n_fft: cfg.mfcc.stft.n_fft,
        source_sample_rate: audio.source_rate,
        source_channels: audio.source_channels,
        skipped_packets: (audio.skipped_packets > 0).then_some(audio.skipped_packets),
        features: cfg.features.to_list(),
        span_start_s: out.span_start as f64 / sr,
        span_s: out.span_len as f64 / sr,
        n_frames: out.n_frames,
        descriptor: out.descriptor,
        descriptor_names: one.then(|| descriptor_names(cfg)),
        scattering_hop: (frames && cfg.features.scattering).then(|| cfg.scattering.hop()),
        scattering_meta: (frames && cfg.features.scattering).then(|| scattering_meta(cfg)),
        frames: out.frames,
    })
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn cmd_features(
    inputs: &[PathBuf],
    output: Option<&Path>,
    cfg: &TrackConfig,
    limits: &DecodeLimits,
    csv: bool,
) -> ExitCode {
    let files = expand_inputs(inputs);
    if files.is_empty() {
        eprintln!("error: no audio files found in the given folders");
        return ExitCode::FAILURE;
    }
    if let Some(out) = output {
        if let Err(msg) = check_output(out, &files) {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    }
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} {wide_msg}")
            .expect("valid template"),
    );
    if files.len() == 1 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut tracks = Vec::new();
    let mut failed = Vec::new();
    for f in &files {
        bar.set_message(f.display().to_string());
        // A panic in one file (a bug, or a dependency fed what it cannot take) is that
        // file's error, as a last line of defence: the rest of the batch is not lost.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            analyse(f, cfg, limits, files.len() == 1 && !csv)
        }))
        .unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            Err(ainrec::Error::Audio(format!(
                "internal error while analysing {}: {why}",
                f.display()
            )))
        });
        match result {
            Ok(t) => tracks.push(t),
            Err(e) => {
                // Decode and I/O errors already name the file; others get it prefixed.
                let name = f.display().to_string();
                let msg = e.to_string();
                let msg = if msg.contains(&name) {
                    msg
                } else {
                    format!("{name}: {msg}")
                };
                bar.suspend(|| eprintln!("error: {msg}"));
                failed.push(Failure {
                    file: name,
                    error: msg,
                });
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let json = if csv {
        let mut text = String::from("file");
        for n in descriptor_names(cfg) {
            text.push(',');
            text.push_str(&n);
        }
        text.push('\n');
        for t in &tracks {
            text.push_str(&csv_field(&t.file));
            for v in &t.descriptor {
                text.push(',');
                text.push_str(&v.to_string());
            }
            text.push('\n');
        }
        text.pop();
        text
    } else if files.len() == 1 && failed.is_empty() {
        serde_json::to_string(&tracks[0]).expect("features serialise")
    } else {
        serde_json::to_string(&serde_json::json!({
            "features": cfg.features.to_list(),
            "cache_key": cfg.cache_key(),
            "descriptor_names": descriptor_names(cfg),
            "tracks": tracks,
            "failed": failed,
        }))
        .expect("features serialise")
    };
    let written = match output {
        Some(p) => std::fs::write(p, json.as_bytes()).map_err(|e| ainrec::Error::io(p, e)),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(json.as_bytes())
                .and_then(|_| out.write_all(b"\n"))
                .map_err(|e| ainrec::Error::io("<stdout>", e))
        }
    };
    if let Err(e) = written {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "{} of {} files analysed{}",
        tracks.len(),
        files.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!(
                "; {} failed (listed above and under \"failed\")",
                failed.len()
            )
        }
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The decode limits of `--max-file-mb` and `--max-duration`.
fn limits(max_file_mb: f64, max_duration: f64) -> ainrec::Result<DecodeLimits> {
    if !(max_file_mb.is_finite() && max_file_mb > 0.0) {
        return Err(ainrec::Error::invalid(
            "--max-file-mb",
            "a positive number of megabytes",
            max_file_mb,
        ));
    }
    if !(max_duration.is_finite() && max_duration > 0.0) {
        return Err(ainrec::Error::invalid(
            "--max-duration",
            "a positive number of seconds",
            max_duration,
        ));
    }
    Ok(DecodeLimits {
        max_file_bytes: (max_file_mb * 1e6) as u64,
        max_duration_s: max_duration,
    })
}

fn cmd_serve(dir: &Path, bind: IpAddr, port: u16) -> ExitCode {
    match StaticServer::bind(dir, SocketAddr::new(bind, port)) {
        Ok(server) => {
            let addr = server.local_addr();
            let host = match addr.ip() {
                IpAddr::V6(ip) => format!("[{ip}]"),
                IpAddr::V4(ip) => ip.to_string(),
            };
            println!(
                "serving {} on http://{host}:{}/",
                dir.display(),
                addr.port()
            );
            let _ = std::io::stdout().flush();
            server.run(4);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot serve {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

fn cmd_eval(opts: EvalOptions) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(&opts.out_dir) {
        eprintln!("error: {}: {e}", opts.out_dir.display());
        return ExitCode::FAILURE;
    }
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let result = run_eval(&opts, &mut |msg| {
        bar.set_message(msg.to_string());
        bar.suspend(|| eprintln!("{msg}"));
    });
    bar.finish_and_clear();
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The command line as typed, with the binary called `ainrec` (quoted in the results).
fn command_line() -> String {
    std::env::args()
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ")
        .replacen(&std::env::args().next().unwrap_or_default(), "ainrec", 1)
}

fn cmd_audio_proxy(opts: &AudioProxyOptions) -> ExitCode {
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let result = run_audio_proxy(opts, &mut |msg| bar.set_message(msg.to_string()));
    bar.finish_and_clear();
    match result {
        Ok(table) => {
            for (set, m) in &table {
                for method in ["knn", "encoder"] {
                    let f = |k: &str| m.get(&format!("{method}.{k}")).map(|v| v.mean);
                    if let (Some(hit), Some(mrr), Some(p5)) = (
                        f("same_track_hit@1"),
                        f("same_track_mrr"),
                        f("same_collection_precision@5"),
                    ) {
                        eprintln!(
                            "{set:>11} {method:>7}: same-track hit@1 {hit:.3}  MRR {mrr:.3}  \
                             same-collection P@5 {p5:.3}"
                        );
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn cmd_recommend(opts: &RecommendOptions) -> ExitCode {
    match run_recommend(opts) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--neural-config` as JSON; the error is printed here.
fn parse_neural_config(arg: Option<String>) -> Result<Option<serde_json::Value>, ()> {
    arg.map(|s| serde_json::from_str(&s))
        .transpose()
        .map_err(|e| eprintln!("error: --neural-config is not JSON: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Features {
            inputs,
            output,
            features,
            span,
            frames,
            csv,
            scattering_j,
            scattering_q,
            max_file_mb,
            max_duration,
        } => {
            let limits = match limits(max_file_mb, max_duration) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let cfg = FeatureSet::parse(&features).and_then(|features| {
                let span = match span {
                    Some(s) => Span::parse(&s)?,
                    None if frames => Span::Whole,
                    None => Span::default(),
                };
                let cfg = TrackConfig {
                    features,
                    span,
                    scattering: ScatteringConfig::new(scattering_j, (scattering_q, 1)),
                    keep_frames: frames,
                    ..TrackConfig::default()
                };
                // Checked before any file is read: a bad J or Q is a usage error (exit 2),
                // not every file's failure (it was exit 1 after the whole batch).
                cfg.validate()?;
                Ok(cfg)
            });
            match cfg {
                Ok(cfg) => cmd_features(&inputs, output.as_deref(), &cfg, &limits, csv),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Eval {
            models,
            folds,
            data,
            out,
            min_items,
            seed,
            negatives,
            max_folds,
            only_folds,
            neural_config,
            audio_proxy,
            audio_data,
        } => {
            let Ok(neural_config) = parse_neural_config(neural_config) else {
                return ExitCode::FAILURE;
            };
            if audio_proxy {
                return cmd_audio_proxy(&AudioProxyOptions {
                    data_dir: audio_data,
                    out_dir: out,
                    command: command_line(),
                    ..AudioProxyOptions::default()
                });
            }
            let defaults = SplitConfig::default();
            let opts = EvalOptions {
                data_dir: data,
                out_dir: out,
                models,
                split: SplitConfig {
                    folds,
                    min_items: min_items.unwrap_or(defaults.min_items),
                    seed: seed.unwrap_or(defaults.seed),
                    ..defaults
                },
                negatives,
                command: command_line(),
                max_folds,
                only_folds: only_folds.map(|v| v.into_iter().map(|f| usize::from(f) - 1).collect()),
                neural_config,
                ..EvalOptions::default()
            };
            cmd_eval(opts)
        }
        Command::Recommend {
            history,
            model,
            k,
            data,
        } => cmd_recommend(&RecommendOptions {
            data_dir: data,
            history,
            model,
            k,
            ..RecommendOptions::default()
        }),
        Command::Train {
            model,
            data,
            out,
            neural_config,
            seed,
        } => {
            let Ok(neural_config) = parse_neural_config(neural_config) else {
                return ExitCode::FAILURE;
            };
            let opts = TrainOptions {
                data_dir: data,
                out,
                model,
                neural_config,
                seed,
                command: command_line(),
            };
            match run_train(&opts, &mut |msg| eprintln!("{msg}")) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::TrainBrowser {
            data,
            out,
            feature_set,
            seed,
        } => {
            let opts = ainrec::browser_run::BrowserTrainOptions {
                data_dir: data,
                out,
                feature_set,
                encoder: ainrec::model::contrastive::ContrastiveConfig {
                    seed,
                    ..Default::default()
                },
                command: command_line(),
                ..Default::default()
            };
            match ainrec::browser_run::run_train_browser(&opts, &mut |msg| eprintln!("{msg}")) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::ModelCard {
            model,
            results,
            out,
            browser,
        } => {
            let run = || -> ainrec::Result<()> {
                let bytes = std::fs::read(&model).map_err(|e| ainrec::Error::io(&model, e))?;
                let loaded = ainrec::model::model_file::load(&bytes)?;
                let summary = ainrec::eval_run::read_summary(&results)?;
                let mut md = ainrec::train_run::model_card(&loaded.info, Some(&summary));
                let b = std::fs::read(&browser).map_err(|e| ainrec::Error::io(&browser, e))?;
                let bm = ainrec::model::browser::BrowserModel::from_bytes(&b)?;
                md.push_str(&ainrec::browser_run::browser_card_section(
                    &bm,
                    b.len(),
                    Some(&summary),
                ));
                std::fs::write(&out, md).map_err(|e| ainrec::Error::io(&out, e))
            };
            match run() {
                Ok(()) => {
                    eprintln!("wrote {}", out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve { dir, port, bind } => cmd_serve(&dir, bind, port),
    }
}
