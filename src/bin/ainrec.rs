//! `ainrec` — the native command line: clap → options → one library call per subcommand
//! (`ainrec::drivers`), and one place that turns an error into a message and an exit code.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use ainrec::audio::decode::DecodeLimits;
use ainrec::data::locate::DataRoot;
use ainrec::data::splits::SplitConfig;
use ainrec::drivers::audio_proxy::{run_audio_proxy, AudioProxyOptions};
use ainrec::drivers::eval::{run_eval, EvalOptions};
use ainrec::drivers::features::{run_features, BatchEvent, FeaturesOptions};
use ainrec::drivers::recommend::{run_recommend, RecommendOptions};
use ainrec::drivers::report::{write_model_card, ModelCardOptions};
use ainrec::drivers::train::{run_train, TrainOptions};
use ainrec::drivers::train_browser::{run_train_browser, BrowserTrainOptions};
use ainrec::features::scattering::ScatteringConfig;
use ainrec::features::track::{FeatureSet, Span, TrackConfig};
use ainrec::model::contrastive::ContrastiveConfig;
use ainrec::serve::StaticServer;
use ainrec::{Error, Result};

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
        /// Comma-separated features: mfcc, scattering, hfc, hpcp (all = these four), and musicnn
        /// (50 Last.fm-tag probabilities tag.<name> + a 200-d embedding from the MSD musicnn tagger).
        #[arg(long, default_value_t = FeatureSet::ALL.to_list())]
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
        #[arg(long, default_value_t = TrackConfig::default().scattering.j)]
        scattering_j: u32,
        /// Scattering first-order wavelets per octave (Q2 is 1).
        #[arg(long, default_value_t = TrackConfig::default().scattering.q.0)]
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
        /// Comma-separated model names. Default: popularity,item_knn,content_knn; with
        /// --cold-start: random,tag_popularity,content_knn,content_knn_msd50.
        #[arg(long, value_delimiter = ',')]
        models: Option<Vec<String>>,
        /// The cold-start protocol instead of full and sampled-100: per fold a seeded 10 % of
        /// the artists carrying one of musicnn's 50 MSD tags are withheld from training and
        /// ranked, by content alone, among themselves for the users who listened to them. Adds a
        /// `cold_start` section to an existing results.json of the same folds.
        #[arg(long)]
        cold_start: bool,
        /// Number of cross-validation folds (≥ 3: test, validation, training).
        #[arg(long, default_value_t = SplitConfig::default().folds)]
        folds: usize,
        /// The data folder, holding hetrec2011-lastfm-2k/ (or that folder itself). Default:
        /// $AINREC_DATA, else ./data (`make data` fills it).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Output folder for results.json, RESULTS.md and the fold checkpoints.
        #[arg(long, default_value = ainrec::drivers::DEFAULT_OUT_DIR)]
        out: PathBuf,
        /// Keep users with at least this many distinct artists.
        #[arg(long)]
        min_items: Option<usize>,
        /// Seed of the fold assignment and of every input/target split.
        #[arg(long)]
        seed: Option<u64>,
        /// Negatives per target in the sampled protocol.
        #[arg(long, default_value_t = ainrec::eval::DEFAULT_NEGATIVES)]
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
    },
    /// The audio proxy protocol on the CC audio corpus (excerpt and collection retrieval per
    /// descriptor set, raw-descriptor kNN and cross-fitted encoders), merged into an existing
    /// results.json (run `ainrec eval` first).
    AudioProxy {
        /// The data folder, holding audio/catalog.csv and librosa/. Default: $AINREC_DATA,
        /// else ./data (`make data` fills it).
        #[arg(long)]
        data: Option<PathBuf>,
        /// The folder with results.json; RESULTS.md is rewritten beside it.
        #[arg(long, default_value = ainrec::drivers::DEFAULT_OUT_DIR)]
        out: PathBuf,
    },
    /// Recommend from a history file (`{"version": 1, "items": [{"id": ...}, ...]}`); prints JSON.
    ///
    /// With the browser model (`--model www/model/browser.safetensors`) the history is a page
    /// export (the page's Export button): its library is ranked exactly as the page ranks it,
    /// fine-tuned weights and diversity rule included.
    Recommend {
        /// The history file (a page export for the browser model).
        #[arg(long)]
        history: PathBuf,
        /// A model file (`models/hetrec.safetensors` from `ainrec train`, or the browser model
        /// `models/browser.safetensors`), or a baseline fitted on the shipped data: popularity,
        /// item_knn, content_knn, ease or ials.
        #[arg(long, default_value = "item_knn")]
        model: String,
        /// Number of recommendations.
        #[arg(short, default_value_t = RecommendOptions::default().k)]
        k: usize,
        /// At most N in a row by one artist (0: no limit), as the page's "At most N in a row"
        /// control. A hetrec item is an artist, so there it never reorders.
        #[arg(long, default_value_t = RecommendOptions::default().diversity)]
        diversity: usize,
        /// The data folder, holding hetrec2011-lastfm-2k/ (or that folder itself). Default:
        /// $AINREC_DATA, else ./data (`make data` fills it).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Train a neural model on every shipped hetrec user and write the model file.
    Train {
        /// ainrnn, indrnn or lstm.
        #[arg(long, default_value = "ainrnn")]
        model: String,
        /// The data folder, holding hetrec2011-lastfm-2k/ (or that folder itself). Default:
        /// $AINREC_DATA, else ./data (`make data` fills it).
        #[arg(long)]
        data: Option<PathBuf>,
        /// The model file to write (replaced only when training succeeds).
        #[arg(long, default_value = "models/hetrec.safetensors")]
        out: PathBuf,
        /// JSON fields replacing the default configuration, e.g. '{"max_epochs":10}'.
        #[arg(long)]
        neural_config: Option<String>,
        /// Seed of the initial weights, the examples and the early-stopping users.
        #[arg(long, default_value_t = TrainOptions::default().seed)]
        seed: u64,
    },
    /// Build the page's model (models/browser.safetensors): the audio song encoder trained
    /// contrastively on the CC audio corpus, and AINRNN initialised to the eq. 4 prior.
    TrainBrowser {
        /// The data folder, holding audio/catalog.csv and librosa/. Default: $AINREC_DATA,
        /// else ./data (`make data` fills it).
        #[arg(long)]
        data: Option<PathBuf>,
        /// The model file to write (replaced only when training succeeds).
        #[arg(long, default_value = "models/browser.safetensors")]
        out: PathBuf,
        /// Descriptor set the encoder reads: mfcc, scattering, hfc_hpcp or all.
        #[arg(long, default_value = "all")]
        feature_set: String,
        /// Seed of the initial weights and of every draw.
        #[arg(long, default_value_t = ContrastiveConfig::default().seed)]
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

/// Exit code 2: the arguments were wrong (nothing was done).
const USAGE: u8 = 2;

/// Prints `error: …` and returns exit code `code`.
fn fail(e: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(code)
}

/// 0 on success; the error printed and 1 otherwise.
fn exit(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e, 1),
    }
}

/// A spinner that prints each message as a line too, for the long commands.
fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The command line as typed, with the binary called `ainrec` (quoted in the results).
fn command_line() -> String {
    std::env::args()
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ")
        .replacen(&std::env::args().next().unwrap_or_default(), "ainrec", 1)
}

/// `--neural-config` as JSON.
fn parse_neural_config(arg: Option<String>) -> Result<Option<serde_json::Value>> {
    arg.map(|s| {
        serde_json::from_str(&s).map_err(|e| Error::invalid("--neural-config", "a JSON object", e))
    })
    .transpose()
}

/// The hetrec folder of `--data`, `AINREC_DATA` or `./data`, checked.
fn hetrec_dir(data: Option<&Path>) -> Result<PathBuf> {
    DataRoot::resolve(data).hetrec()
}

/// The decode limits of `--max-file-mb` and `--max-duration`.
fn limits(max_file_mb: f64, max_duration: f64) -> Result<DecodeLimits> {
    if !(max_file_mb.is_finite() && max_file_mb > 0.0) {
        return Err(Error::invalid(
            "--max-file-mb",
            "a positive number of megabytes",
            max_file_mb,
        ));
    }
    if !(max_duration.is_finite() && max_duration > 0.0) {
        return Err(Error::invalid(
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

/// `ainrec features`: exit 0 when every file was analysed, 1 when any failed or the output
/// could not be written, 2 for bad arguments (checked before any file is read).
fn cmd_features(opts: &FeaturesOptions) -> ExitCode {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} {wide_msg}")
            .expect("valid template"),
    );
    let result = run_features(opts, &mut |event| match event {
        BatchEvent::Started(n) => {
            bar.set_length(n as u64);
            if n == 1 {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
        }
        BatchEvent::File(f) => {
            if bar.position() + 1 < bar.length().unwrap_or(0) || bar.message().is_empty() {
                bar.set_message(f.display().to_string());
            }
        }
        BatchEvent::Failed(msg) => bar.suspend(|| eprintln!("error: {msg}")),
        BatchEvent::Finished => bar.finish_and_clear(),
    });
    match result {
        Err(e @ Error::Invalid { .. }) => fail(e, USAGE),
        Err(e) => fail(e, 1),
        Ok(s) => {
            eprintln!(
                "{} of {} files analysed{}",
                s.analysed,
                s.files,
                if s.failed() == 0 {
                    String::new()
                } else {
                    format!(
                        "; {} failed (listed above and under \"failed\")",
                        s.failed()
                    )
                }
            );
            if s.failed() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn cmd_serve(dir: &Path, bind: IpAddr, port: u16) -> ExitCode {
    let server = match StaticServer::bind(dir, SocketAddr::new(bind, port)) {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot serve {}: {e}", dir.display()), 1),
    };
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
    server.run();
    ExitCode::SUCCESS
}

fn cmd_eval(opts: &EvalOptions) -> Result<()> {
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| Error::io(&opts.out_dir, e))?;
    let bar = spinner();
    let result = run_eval(opts, &mut |msg| {
        bar.set_message(msg.to_string());
        bar.suspend(|| eprintln!("{msg}"));
    });
    bar.finish_and_clear();
    result.map(|_| ())
}

fn cmd_audio_proxy(opts: &AudioProxyOptions) -> Result<()> {
    let bar = spinner();
    let result = run_audio_proxy(opts, &mut |msg| bar.set_message(msg.to_string()));
    bar.finish_and_clear();
    for (set, m) in &result? {
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
    Ok(())
}

/// The features options of the command line, checked before any file is read: a bad J or Q
/// or limit is a usage error (exit 2), not every file's failure.
#[allow(clippy::too_many_arguments)]
fn features_options(
    inputs: Vec<PathBuf>,
    output: Option<PathBuf>,
    features: &str,
    span: Option<&str>,
    frames: bool,
    csv: bool,
    scattering: (u32, u32),
    limits: DecodeLimits,
) -> Result<FeaturesOptions> {
    let span = match span {
        Some(s) => Span::parse(s)?,
        None if frames => Span::Whole,
        None => Span::default(),
    };
    let track = TrackConfig {
        features: FeatureSet::parse(features)?,
        span,
        scattering: ScatteringConfig::new(scattering.0, (scattering.1, 1)),
        keep_frames: frames,
        ..TrackConfig::default()
    };
    track.validate()?;
    Ok(FeaturesOptions {
        inputs,
        output,
        track,
        limits,
        csv,
    })
}

fn main() -> ExitCode {
    match Cli::parse().command {
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
            let opts = limits(max_file_mb, max_duration).and_then(|limits| {
                features_options(
                    inputs,
                    output,
                    &features,
                    span.as_deref(),
                    frames,
                    csv,
                    (scattering_j, scattering_q),
                    limits,
                )
            });
            match opts {
                Ok(opts) => cmd_features(&opts),
                Err(e) => fail(e, USAGE),
            }
        }
        Command::Eval {
            models,
            cold_start,
            folds,
            data,
            out,
            min_items,
            seed,
            negatives,
            max_folds,
            only_folds,
            neural_config,
        } => exit((|| {
            let defaults = SplitConfig::default();
            let default_models: &[&str] = if cold_start {
                &ainrec::eval::cold_start::COLD_START_MODELS
            } else {
                &["popularity", "item_knn", "content_knn"]
            };
            cmd_eval(&EvalOptions {
                data_dir: hetrec_dir(data.as_deref())?,
                out_dir: out,
                models: models
                    .unwrap_or_else(|| default_models.iter().map(|m| m.to_string()).collect()),
                cold_start: cold_start.then(ainrec::eval::cold_start::ColdStartConfig::default),
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
                neural_config: parse_neural_config(neural_config)?,
                ..EvalOptions::default()
            })
        })()),
        Command::AudioProxy { data, out } => exit((|| {
            cmd_audio_proxy(&AudioProxyOptions {
                data_dir: DataRoot::resolve(data.as_deref()).audio_corpus()?,
                out_dir: out,
                command: command_line(),
                ..AudioProxyOptions::default()
            })
        })()),
        Command::Recommend {
            history,
            model,
            k,
            diversity,
            data,
        } => exit((|| {
            // A model file needs no data folder; a baseline is fitted on hetrec.
            let data_dir = if model.ends_with(".safetensors") || Path::new(&model).is_file() {
                DataRoot::resolve(data.as_deref()).hetrec_dir()
            } else {
                hetrec_dir(data.as_deref())?
            };
            let json = run_recommend(&RecommendOptions {
                data_dir,
                history,
                model,
                k,
                diversity,
                ..RecommendOptions::default()
            })?;
            println!("{json}");
            Ok(())
        })()),
        Command::Train {
            model,
            data,
            out,
            neural_config,
            seed,
        } => exit((|| {
            let opts = TrainOptions {
                data_dir: hetrec_dir(data.as_deref())?,
                out,
                model,
                neural_config: parse_neural_config(neural_config)?,
                seed,
                command: command_line(),
            };
            run_train(&opts, &mut |msg| eprintln!("{msg}")).map(|_| ())
        })()),
        Command::TrainBrowser {
            data,
            out,
            feature_set,
            seed,
        } => exit((|| {
            let opts = BrowserTrainOptions {
                data_dir: DataRoot::resolve(data.as_deref()).audio_corpus()?,
                out,
                feature_set,
                encoder: ContrastiveConfig {
                    seed,
                    ..Default::default()
                },
                command: command_line(),
                ..Default::default()
            };
            run_train_browser(&opts, &mut |msg| eprintln!("{msg}")).map(|_| ())
        })()),
        Command::ModelCard {
            model,
            results,
            out,
            browser,
        } => {
            let opts = ModelCardOptions {
                model,
                results,
                browser,
                out,
            };
            exit(write_model_card(&opts).map(|()| eprintln!("wrote {}", opts.out.display())))
        }
        Command::Serve { dir, port, bind } => cmd_serve(&dir, bind, port),
    }
}
