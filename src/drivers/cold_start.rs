//! `ainrec eval --cold-start`: the cold-start protocol's results as the `cold_start` section of
//! an existing `results.json` ([`ColdStartSection`]). The section shares the file's folds and
//! input/target splits, so it is added only to a file of the same data and split; models run
//! earlier under the same withheld draw are kept beside the ones just run.

use std::path::Path;

use crate::drivers::summary::{others, read_summary, ColdStartSection, Settings, Summary};
use crate::error::{Error, Result};
use crate::eval::cold_start::{ColdStartConfig, COLD_START};

/// Whether two runs used the same data, user filter, folds and input/target splits (what the
/// cold-start protocol shares with the others).
pub fn same_split(a: &Settings, b: &Settings) -> bool {
    a.dataset == b.dataset
        && a.min_items == b.min_items
        && a.folds == b.folds
        && a.split_seed == b.split_seed
        && a.target_fraction == b.target_fraction
}

/// Puts the cold-start results of `run` (a summary whose only protocol is [`COLD_START`]) into
/// the `results.json` at `path`, keeping that file's other sections and the cold-start rows of
/// models `run` did not evaluate (when drawn with the same `config` over all folds).
pub fn add_cold_start(path: &Path, run: Summary, config: ColdStartConfig) -> Result<Summary> {
    let mut file = read_summary(path).map_err(|e| {
        Error::invalid(
            "cold-start results",
            "an existing results.json of the same data and folds to add them to (run \
             `ainrec eval` first)",
            e,
        )
    })?;
    if !same_split(&file.settings, &run.settings) {
        return Err(Error::invalid(
            "cold-start results",
            format!(
                "the data, user filter, folds and split seed of {}",
                path.display()
            ),
            "a run with other settings",
        ));
    }
    let Summary {
        mut results,
        mut per_fold,
        settings,
        ..
    } = run;
    let mut section = ColdStartSection {
        config,
        results: results.remove(COLD_START).unwrap_or_default(),
        per_fold: per_fold.remove(COLD_START).unwrap_or_default(),
        grids: settings.grids,
        chosen: settings.chosen,
        wall_seconds: settings.wall_seconds,
        command: settings.command,
    };
    let complete = settings.folds_evaluated.is_none();
    if let Some(before) = file
        .cold_start
        .take()
        .filter(|b| complete && b.config == config)
    {
        let run_now: Vec<String> = section.grids.keys().cloned().collect();
        others(&mut section.results, before.results, &run_now);
        others(&mut section.per_fold, before.per_fold, &run_now);
        others(&mut section.grids, before.grids, &run_now);
        others(&mut section.chosen, before.chosen, &run_now);
        others(&mut section.wall_seconds, before.wall_seconds, &run_now);
        let command = before.command;
        if !command.split(" ; ").any(|c| c == section.command) {
            section.command = format!("{command} ; {}", section.command);
        }
    }
    file.cold_start = Some(section);
    Ok(file)
}
