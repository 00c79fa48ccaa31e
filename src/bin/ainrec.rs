//! `ainrec` — the native command line: feature extraction and the page's server.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use ainrec::audio::decode::decode_file;
use ainrec::data::splits::SplitConfig;
use ainrec::eval_run::{run_eval, run_recommend, EvalOptions, RecommendOptions};
use ainrec::features::mfcc::{delta, mfcc, MfccConfig};
use ainrec::features::FrameMatrix;
use ainrec::serve::StaticServer;

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
    /// and compute MFCC with librosa's defaults. Folders are searched for audio files.
    ///
    /// One input prints one JSON object; several print `{"tracks": [...], "failed": [...]}`.
    /// Files that fail are reported with their reason and the rest go on; the exit code
    /// is 1 when any failed.
    Features {
        /// Audio files or folders.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Write the JSON here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Frame-level output: `mfcc`, `mfcc_delta`, `mfcc_delta2` as arrays of frames
        /// (each 20 numbers), with `sample_rate` and `hop_length`. Without it, per-track
        /// mean and standard deviation.
        #[arg(long)]
        frames: bool,
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
    },
    /// Recommend from a history file (`{"version": 1, "items": [{"id": ...}, ...]}`); prints JSON.
    Recommend {
        /// The history file.
        #[arg(long)]
        history: PathBuf,
        /// A baseline fitted on the shipped data: popularity, item_knn or content_knn.
        #[arg(long, default_value = "item_knn")]
        model: String,
        /// Number of recommendations.
        #[arg(short, default_value_t = 10)]
        k: usize,
        /// The hetrec2011-lastfm-2k folder.
        #[arg(long, default_value = "../shared/data/hetrec2011-lastfm-2k")]
        data: PathBuf,
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
struct TrackFeatures {
    file: String,
    duration_s: f64,
    sample_rate: u32,
    hop_length: usize,
    n_fft: usize,
    source_sample_rate: u32,
    source_channels: usize,
    n_frames: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped_packets: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfcc_mean: Option<Vec<f32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfcc_std: Option<Vec<f32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfcc: Option<FrameMatrix>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfcc_delta: Option<FrameMatrix>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfcc_delta2: Option<FrameMatrix>,
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
fn expand_inputs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            out.push(dir.to_path_buf());
            return;
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            walk(p, &mut out);
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn analyse(path: &Path, frames: bool) -> ainrec::Result<TrackFeatures> {
    let audio = decode_file(path)?;
    let cfg = MfccConfig::default();
    let m = mfcc(&audio.samples, &cfg)?;
    let mut t = TrackFeatures {
        file: path.display().to_string(),
        duration_s: audio.duration_s(),
        sample_rate: audio.sample_rate,
        hop_length: cfg.stft.hop_length,
        n_fft: cfg.stft.n_fft,
        source_sample_rate: audio.source_rate,
        source_channels: audio.source_channels,
        n_frames: m.n_frames,
        skipped_packets: (audio.skipped_packets > 0).then_some(audio.skipped_packets),
        mfcc_mean: None,
        mfcc_std: None,
        mfcc: None,
        mfcc_delta: None,
        mfcc_delta2: None,
    };
    if frames {
        t.mfcc_delta = Some(delta(&m, cfg.delta_width, 1)?);
        t.mfcc_delta2 = Some(delta(&m, cfg.delta_width, 2)?);
        t.mfcc = Some(m);
    } else {
        let (mean, std) = m.mean_std();
        t.mfcc_mean = Some(mean);
        t.mfcc_std = Some(std);
    }
    Ok(t)
}

fn cmd_features(inputs: &[PathBuf], output: Option<&Path>, frames: bool) -> ExitCode {
    let files = expand_inputs(inputs);
    if files.is_empty() {
        eprintln!("error: no audio files found in the given folders");
        return ExitCode::FAILURE;
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
        match analyse(f, frames) {
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

    let json = if files.len() == 1 && failed.is_empty() {
        serde_json::to_string(&tracks[0])
    } else {
        serde_json::to_string(&serde_json::json!({ "tracks": tracks, "failed": failed }))
    }
    .expect("features serialise");
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Features {
            inputs,
            output,
            frames,
        } => cmd_features(&inputs, output.as_deref(), frames),
        Command::Eval {
            models,
            folds,
            data,
            out,
            min_items,
            seed,
            negatives,
        } => {
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
                command: std::env::args()
                    .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
                    .collect::<Vec<_>>()
                    .join(" ")
                    .replacen(&std::env::args().next().unwrap_or_default(), "ainrec", 1),
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
        Command::Serve { dir, port, bind } => cmd_serve(&dir, bind, port),
    }
}
