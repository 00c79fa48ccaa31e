//! Fold checkpoints of `ainrec eval`: each finished fold × model is written to
//! `<out>/.eval-checkpoints/fold-NN.json`, so an interrupted run resumes where it stopped.
//!
//! A checkpoint is reused only when it was made for the same data, split and negatives (its
//! `fingerprint`) and, per model, the same grid; otherwise that part is recomputed. While a
//! model is being tuned, each finished trial is written too (`partial`), so a run stopped in
//! the middle of a long grid resumes at the next configuration rather than at the fold's start. Each file
//! carries a format `version`: files written before versions existed are version 1 (the same
//! fields) and still resume; a file of a newer version than this build knows is refused with a
//! message, never silently mixed into the results.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::drivers::write_atomic;
use crate::error::{Error, Result};
use crate::eval::{FoldResult, Trial};

/// Checkpoint sub-directory of the output directory (git-ignored).
pub const CHECKPOINT_DIR: &str = ".eval-checkpoints";
/// The format this build writes and the newest it reads.
pub const CHECKPOINT_VERSION: u32 = 2;

/// One model's result on one fold, with what it was tuned over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointEntry {
    /// The grid the model was tuned over.
    pub grid: Vec<Value>,
    /// Wall-clock seconds of tuning, refitting and evaluating.
    pub seconds: f64,
    /// Mean seconds per training epoch (neural models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_per_epoch: Option<f64>,
    /// The fold's result.
    pub result: FoldResult,
}

/// Every model finished on one fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldCheckpoint {
    /// Format version (absent in files written before versions: 1).
    #[serde(default = "version_one")]
    pub version: u32,
    /// Data, split and protocol settings the results were made with.
    pub fingerprint: Value,
    /// 0-based fold index.
    pub fold: usize,
    /// Model name → result.
    pub models: BTreeMap<String, CheckpointEntry>,
    /// Model name → the trials finished so far of a tuning that has not ended (absent when
    /// none; older files have none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partial: BTreeMap<String, PartialTuning>,
}

/// The finished trials of an interrupted tuning, with the grid they belong to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialTuning {
    /// The grid being tuned over.
    pub grid: Vec<Value>,
    /// Its first trials, in grid order.
    pub trials: Vec<Trial>,
}

fn version_one() -> u32 {
    1
}

/// What [`FoldCheckpoint::load`] found.
#[derive(Debug)]
pub enum Loaded {
    /// A checkpoint of this fold and fingerprint: its models resume.
    Resume(FoldCheckpoint),
    /// No usable checkpoint: start empty. The reason is `Some` when a file was there but made
    /// with other settings or unreadable (reported, then recomputed).
    Fresh(FoldCheckpoint, Option<String>),
}

impl FoldCheckpoint {
    /// The checkpoint file of fold `fold` (0-based) in `dir`.
    pub fn path(dir: &Path, fold: usize) -> PathBuf {
        dir.join(format!("fold-{fold:02}.json"))
    }

    /// An empty checkpoint of `fold` under `fingerprint`.
    pub fn empty(fingerprint: &Value, fold: usize) -> Self {
        FoldCheckpoint {
            version: CHECKPOINT_VERSION,
            fingerprint: fingerprint.clone(),
            fold,
            models: BTreeMap::new(),
            partial: BTreeMap::new(),
        }
    }

    /// Reads `path` for fold `fold` under `fingerprint`. A missing file, other settings or an
    /// unreadable file start empty; a newer format is an error (recomputing would overwrite a
    /// newer build's work, and mixing formats could mix results).
    pub fn load(path: &Path, fingerprint: &Value, fold: usize) -> Result<Loaded> {
        let empty = Self::empty(fingerprint, fold);
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(Loaded::Fresh(empty, None));
        };
        let reason = match serde_json::from_str::<FoldCheckpoint>(&text) {
            Ok(c) if c.version > CHECKPOINT_VERSION => {
                return Err(Error::Parse {
                    file: path.display().to_string(),
                    reason: format!(
                        "checkpoint format {} is newer than this build's {CHECKPOINT_VERSION}; \
                         use the newer ainrec, or move the file away to recompute the fold",
                        c.version
                    ),
                })
            }
            Ok(c) if c.fingerprint == *fingerprint && c.fold == fold => {
                return Ok(Loaded::Resume(FoldCheckpoint {
                    version: CHECKPOINT_VERSION,
                    ..c
                }))
            }
            Ok(_) => "made with other settings or data",
            Err(_) => "unreadable",
        };
        Ok(Loaded::Fresh(
            empty,
            Some(format!("{}: {reason}; recomputing", path.display())),
        ))
    }

    /// The entry of `model` if it was tuned over `grid`.
    pub fn entry(&self, model: &str, grid: &[Value]) -> Option<&CheckpointEntry> {
        self.models.get(model).filter(|e| e.grid == grid)
    }

    /// Records `model`'s entry and writes the file (atomically: a crash leaves the old one);
    /// its partial tuning, if any, is dropped.
    pub fn save(&mut self, path: &Path, model: &str, entry: CheckpointEntry) -> Result<()> {
        self.partial.remove(model);
        self.models.insert(model.to_owned(), entry);
        write_atomic(path, &serde_json::to_string(self)?)
    }

    /// The trials of `model` already finished over `grid`: the longest prefix of the saved
    /// partial tuning whose configurations are the grid's, in order (none for another grid).
    pub fn finished_trials(&self, model: &str, grid: &[Value]) -> Vec<Trial> {
        let Some(p) = self.partial.get(model).filter(|p| p.grid == grid) else {
            return Vec::new();
        };
        p.trials
            .iter()
            .zip(grid)
            .take_while(|(t, c)| t.config == **c)
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Appends one finished trial of `model`'s tuning over `grid` and writes the file.
    pub fn save_trial(
        &mut self,
        path: &Path,
        model: &str,
        grid: &[Value],
        trial: &Trial,
    ) -> Result<()> {
        let p = self
            .partial
            .entry(model.to_owned())
            .or_insert_with(|| PartialTuning {
                grid: grid.to_vec(),
                trials: Vec::new(),
            });
        if p.grid != grid {
            *p = PartialTuning {
                grid: grid.to_vec(),
                trials: Vec::new(),
            };
        }
        p.trials.push(trial.clone());
        write_atomic(path, &serde_json::to_string(self)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dir(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ainrec-ckpt-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    fn entry() -> CheckpointEntry {
        CheckpointEntry {
            grid: vec![json!({"k": 1})],
            seconds: 1.5,
            seconds_per_epoch: None,
            result: FoldResult {
                chosen: json!({"k": 1}),
                trials: Vec::new(),
                metrics: BTreeMap::new(),
            },
        }
    }

    #[test]
    fn a_saved_fold_resumes_and_other_settings_start_fresh() {
        let d = dir("resume");
        let fp = json!({"seed": 1});
        let path = FoldCheckpoint::path(&d, 3);
        let mut c = FoldCheckpoint::empty(&fp, 3);
        c.save(&path, "popularity", entry()).unwrap();
        let Loaded::Resume(back) = FoldCheckpoint::load(&path, &fp, 3).unwrap() else {
            panic!("resumes")
        };
        assert!(back.entry("popularity", &[json!({"k": 1})]).is_some());
        assert!(
            back.entry("popularity", &[json!({"k": 2})]).is_none(),
            "other grid"
        );
        match FoldCheckpoint::load(&path, &json!({"seed": 2}), 3).unwrap() {
            Loaded::Fresh(c, Some(why)) => {
                assert!(
                    c.models.is_empty() && why.contains("other settings"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn finished_trials_of_an_interrupted_tuning_resume_for_the_same_grid_only() {
        let d = dir("partial");
        let fp = json!({"seed": 1});
        let path = FoldCheckpoint::path(&d, 1);
        let grid = vec![json!({"k": 1}), json!({"k": 2}), json!({"k": 3})];
        let trial = |k: i64, score: f64| Trial {
            config: json!({"k": k}),
            score,
        };
        let mut c = FoldCheckpoint::empty(&fp, 1);
        c.save_trial(&path, "ials", &grid, &trial(1, 0.5)).unwrap();
        c.save_trial(&path, "ials", &grid, &trial(2, 0.25)).unwrap();
        let Loaded::Resume(back) = FoldCheckpoint::load(&path, &fp, 1).unwrap() else {
            panic!("resumes")
        };
        assert_eq!(
            back.finished_trials("ials", &grid),
            vec![trial(1, 0.5), trial(2, 0.25)]
        );
        assert!(back.finished_trials("ease", &grid).is_empty());
        assert!(
            back.finished_trials("ials", &grid[1..]).is_empty(),
            "other grid"
        );
        // Finishing the model drops its partial tuning.
        let mut back = back;
        back.save(&path, "ials", entry()).unwrap();
        let Loaded::Resume(done) = FoldCheckpoint::load(&path, &fp, 1).unwrap() else {
            panic!("resumes")
        };
        assert!(done.partial.is_empty() && done.models.contains_key("ials"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn files_without_a_version_resume_and_newer_versions_are_refused() {
        let d = dir("version");
        let fp = json!({"seed": 1});
        let path = FoldCheckpoint::path(&d, 0);
        // Written by a build before versions: no `version` field.
        let mut old = serde_json::to_value(FoldCheckpoint::empty(&fp, 0)).unwrap();
        old.as_object_mut().unwrap().remove("version");
        std::fs::write(&path, old.to_string()).unwrap();
        assert!(matches!(
            FoldCheckpoint::load(&path, &fp, 0).unwrap(),
            Loaded::Resume(_)
        ));
        old["version"] = json!(CHECKPOINT_VERSION + 1);
        std::fs::write(&path, old.to_string()).unwrap();
        let e = FoldCheckpoint::load(&path, &fp, 0).unwrap_err().to_string();
        assert!(e.contains("newer") && e.contains("fold-00.json"), "{e}");
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            FoldCheckpoint::load(&path, &fp, 0).unwrap(),
            Loaded::Fresh(_, Some(_))
        ));
        let _ = std::fs::remove_dir_all(&d);
    }
}
