//! Interaction logs and catalog content → users, items and histories; splits for evaluation.
//!
//! Every loader produces the same in-memory shape, a [`Dataset`]: a [`Catalog`] of items (artists
//! on hetrec, recordings or songs in the full-scale formats) and one [`UserHistory`] per user,
//! whose listens are in the data set's (possibly partial) time order. Content features, when a
//! data set has them, come as a [`ContentMatrix`] with one row per catalog item.
//!
//! Parsers take `&str`, `&[u8]` or `impl BufRead` so they compile for wasm32; helpers that open
//! files are behind the `native` feature.

pub mod audio_corpus;
pub mod formats;
pub mod hetrec;
pub mod history;
#[cfg(feature = "native")]
pub mod locate;
pub mod page_export;
pub mod splits;

use std::collections::HashMap;

/// The items a data set knows, each with a stable external id (the string a history file uses)
/// and, when the source has one, a human-readable name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    ids: Vec<String>,
    names: Vec<Option<String>>,
    index: HashMap<String, usize>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of `id`, inserting it at the end if it is new. Indices are dense and assigned in
    /// first-seen order, so a loader reading the same file always yields the same indices.
    pub fn insert(&mut self, id: &str) -> usize {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.ids.len();
        self.ids.push(id.to_owned());
        self.names.push(None);
        self.index.insert(id.to_owned(), i);
        i
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the catalog has no items.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The external id of item `i`.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn id(&self, i: usize) -> &str {
        &self.ids[i]
    }

    /// The display name of item `i`, if the source gave one.
    pub fn name(&self, i: usize) -> Option<&str> {
        self.names.get(i).and_then(|n| n.as_deref())
    }

    /// Sets the display name of item `i` (ignored when `i` is out of range).
    pub fn set_name(&mut self, i: usize, name: impl Into<String>) {
        if let Some(slot) = self.names.get_mut(i) {
            *slot = Some(name.into());
        }
    }

    /// The index of the item with external id `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// All external ids in index order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }
}

/// One user–item relation: how often the user played the item and, when known, when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// Catalog index of the item.
    pub item: usize,
    /// Play count (at least 1 for any listen the data records).
    pub plays: u32,
    /// Unix seconds of the earliest known event for this pair, if any.
    pub time: Option<i64>,
}

/// All of one user's listens, in the data set's time order (see [`order_listens`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserHistory {
    /// The user's external id (the hetrec userID as a string, a Taste Profile user hash, …).
    pub user: String,
    /// One entry per distinct item, ordered by [`order_listens`].
    pub listens: Vec<Listen>,
}

impl UserHistory {
    /// Catalog indices of every item in the history.
    pub fn items(&self) -> Vec<usize> {
        self.listens.iter().map(|l| l.item).collect()
    }
}

/// A catalog plus the users' histories over it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// The items.
    pub catalog: Catalog,
    /// One history per user, in first-seen order.
    pub users: Vec<UserHistory>,
}

impl Dataset {
    /// Total number of user–item pairs.
    pub fn n_interactions(&self) -> usize {
        self.users.iter().map(|u| u.listens.len()).sum()
    }

    /// Number of distinct users who listened to each item, restricted to `users`
    /// (dataset user indices). Popularity and fallbacks are computed from training users only.
    pub fn item_user_counts(&self, users: &[usize]) -> Vec<u32> {
        let mut counts = vec![0u32; self.catalog.len()];
        for &u in users {
            for l in &self.users[u].listens {
                counts[l.item] += 1;
            }
        }
        counts
    }
}

/// Puts one user's listens into the project's canonical (partial) time order.
///
/// The rule, shared by every loader so that sequence models see the same convention everywhere:
/// 1. **Undated pairs come first**, most played first. Reason: nothing is known about when they
///    happened, and putting them at the start keeps the *end* of the sequence — the part a
///    recurrent model weighs most — made of events whose order is actually known.
/// 2. **Dated pairs follow in ascending time.**
/// 3. **Ties** (undated with equal plays, or equal dates — common on hetrec where dates have day
///    resolution) are broken by plays descending, then by catalog index ascending, so the order is
///    fully deterministic.
pub fn order_listens(listens: &mut [Listen]) {
    listens.sort_by(|a, b| {
        let by_time = match (a.time, b.time) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(&y),
        };
        by_time
            .then(b.plays.cmp(&a.plays))
            .then(a.item.cmp(&b.item))
    });
}

/// Accumulates raw `(user, item, count, time)` events into a [`Dataset`], interning the strings.
///
/// Repeated pairs are merged: counts add up, the time kept is the earliest (the moment the user
/// first met the item, which is what a sequence order should follow). Memory is one small record
/// per event until [`DatasetBuilder::build`], so full-scale logs (48 M Taste Profile triplets)
/// need a machine with a few GB.
#[derive(Debug, Default)]
pub struct DatasetBuilder {
    catalog: Catalog,
    user_index: HashMap<String, usize>,
    users: Vec<(String, Vec<Listen>)>,
}

impl DatasetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `count` plays of `item` by `user` (at `time`, if known). Returns the item's index.
    pub fn add(&mut self, user: &str, item: &str, count: u32, time: Option<i64>) -> usize {
        let item = self.catalog.insert(item);
        let u = match self.user_index.get(user) {
            Some(&u) => u,
            None => {
                self.users.push((user.to_owned(), Vec::new()));
                self.user_index
                    .insert(user.to_owned(), self.users.len() - 1);
                self.users.len() - 1
            }
        };
        self.users[u].1.push(Listen {
            item,
            plays: count,
            time,
        });
        item
    }

    /// Sets a display name for an item (the last name given wins).
    pub fn set_name(&mut self, item: usize, name: impl Into<String>) {
        self.catalog.set_name(item, name);
    }

    /// Number of distinct users seen so far.
    pub fn n_users(&self) -> usize {
        self.users.len()
    }

    /// Merges repeated pairs and orders each history with [`order_listens`].
    pub fn build(self) -> Dataset {
        let users = self
            .users
            .into_iter()
            .map(|(user, mut events)| {
                events.sort_by_key(|l| l.item);
                let mut merged: Vec<Listen> = Vec::with_capacity(events.len());
                for e in events {
                    match merged.last_mut() {
                        Some(last) if last.item == e.item => {
                            last.plays = last.plays.saturating_add(e.plays);
                            last.time = match (last.time, e.time) {
                                (Some(a), Some(b)) => Some(a.min(b)),
                                (a, b) => a.or(b),
                            };
                        }
                        _ => merged.push(e),
                    }
                }
                order_listens(&mut merged);
                UserHistory {
                    user,
                    listens: merged,
                }
            })
            .collect();
        Dataset {
            catalog: self.catalog,
            users,
        }
    }
}

/// Content features of catalog items as sparse rows: tag counts on hetrec, audio descriptors
/// (dense rows stored sparsely) on the audio corpus or AcousticBrainz.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContentMatrix {
    /// Number of feature dimensions.
    pub dims: usize,
    /// Name of each dimension (a tag, or a descriptor field such as `lowlevel.mfcc.mean[3]`).
    pub dim_names: Vec<String>,
    /// One row per catalog item: `(dimension, value)` pairs sorted by dimension, no zeros.
    /// An empty row means the item has no content (for example an artist no training user tagged).
    pub rows: Vec<Vec<(u32, f32)>>,
}

impl ContentMatrix {
    /// Builds a matrix from dense rows (`None` = no content for that item).
    pub fn from_dense(dim_names: Vec<String>, rows: Vec<Option<Vec<f32>>>) -> Self {
        let dims = dim_names.len();
        let rows = rows
            .into_iter()
            .map(|r| {
                r.map(|v| {
                    v.iter()
                        .enumerate()
                        .filter(|(_, x)| **x != 0.0)
                        .map(|(d, x)| (d as u32, *x))
                        .collect()
                })
                .unwrap_or_default()
            })
            .collect();
        ContentMatrix {
            dims,
            dim_names,
            rows,
        }
    }

    /// The matrix over the dimensions named `names`, in that order; names match
    /// case-insensitively (hetrec writes "hip-hop" where musicnn's tag list has "Hip-Hop"), and
    /// dimensions whose names differ only in case are summed. A name with no dimension gives an
    /// all-zero column.
    pub fn select_dims(&self, names: &[&str]) -> ContentMatrix {
        let target: HashMap<String, u32> = names
            .iter()
            .enumerate()
            .map(|(k, n)| (n.to_lowercase(), k as u32))
            .collect();
        let map: Vec<Option<u32>> = self
            .dim_names
            .iter()
            .map(|n| target.get(&n.to_lowercase()).copied())
            .collect();
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let mut out: Vec<(u32, f32)> = r
                    .iter()
                    .filter_map(|&(d, v)| map.get(d as usize).copied().flatten().map(|k| (k, v)))
                    .collect();
                out.sort_by_key(|&(k, _)| k);
                out.dedup_by(|b, a| {
                    let same = a.0 == b.0;
                    if same {
                        a.1 += b.1;
                    }
                    same
                });
                out
            })
            .collect();
        ContentMatrix {
            dims: names.len(),
            dim_names: names.iter().map(|n| n.to_string()).collect(),
            rows,
        }
    }

    /// Number of stored (non-zero) values.
    pub fn nnz(&self) -> usize {
        self.rows.iter().map(Vec::len).sum()
    }

    /// Number of items that have any content.
    pub fn n_with_content(&self) -> usize {
        self.rows.iter().filter(|r| !r.is_empty()).count()
    }
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run under wasm-bindgen-test (`#[test]` resolves to its macro).
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn order_rule_undated_first_then_time_then_plays_then_index() {
        let l = |item, plays, time| Listen { item, plays, time };
        let mut v = vec![
            l(5, 10, Some(200)),
            l(1, 3, None),
            l(2, 9, None),
            l(4, 10, Some(100)),
            l(3, 20, Some(200)),
            l(0, 3, None),
        ];
        order_listens(&mut v);
        let order: Vec<usize> = v.iter().map(|x| x.item).collect();
        assert_eq!(order, vec![2, 0, 1, 4, 3, 5]);
    }

    #[test]
    fn builder_merges_pairs_and_keeps_earliest_time() {
        let mut b = DatasetBuilder::new();
        b.add("u", "a", 1, Some(50));
        b.add("u", "b", 2, None);
        b.add("u", "a", 4, Some(10));
        b.add("v", "b", 1, Some(7));
        let d = b.build();
        assert_eq!(d.catalog.len(), 2);
        assert_eq!(d.users.len(), 2);
        let u = &d.users[0];
        assert_eq!(u.listens.len(), 2);
        // b is undated, so it comes first; a has plays 5 and the earliest time 10.
        assert_eq!(
            u.listens[0],
            Listen {
                item: 1,
                plays: 2,
                time: None
            }
        );
        assert_eq!(
            u.listens[1],
            Listen {
                item: 0,
                plays: 5,
                time: Some(10)
            }
        );
        assert_eq!(d.item_user_counts(&[0, 1]), vec![1, 2]);
    }

    #[test]
    fn dense_rows_drop_zeros() {
        let m = ContentMatrix::from_dense(
            vec!["x".into(), "y".into()],
            vec![Some(vec![0.0, 2.0]), None],
        );
        assert_eq!(m.rows[0], vec![(1, 2.0)]);
        assert!(m.rows[1].is_empty());
        assert_eq!(m.nnz(), 1);
        assert_eq!(m.n_with_content(), 1);
    }

    #[test]
    fn selected_dimensions_follow_the_names_in_any_case() {
        let m = ContentMatrix {
            dims: 4,
            dim_names: vec!["rock".into(), "hip-hop".into(), "Rock".into(), "zz".into()],
            rows: vec![
                vec![(0, 1.0), (1, 2.0), (2, 3.0), (3, 4.0)],
                vec![(3, 1.0)],
                vec![],
            ],
        };
        let s = m.select_dims(&["Hip-Hop", "jazz", "ROCK"]);
        assert_eq!(s.dims, 3);
        assert_eq!(s.dim_names, vec!["Hip-Hop", "jazz", "ROCK"]);
        assert_eq!(s.rows[0], vec![(0, 2.0), (2, 4.0)], "rock and Rock summed");
        assert!(s.rows[1].is_empty() && s.rows[2].is_empty());
    }
}
