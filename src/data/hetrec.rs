//! Loader for the HetRec 2011 Last.fm data set (`hetrec2011-lastfm-2k`).
//!
//! Items are **artists** (not tracks) and there is no audio; artists' tag profiles are the real
//! content features of this data set and stand in for audio descriptors on it.
//! Data credit: HetRec 2011 (Cantador, Brusilovsky & Kuflik, RecSys 2011) with data from Last.fm
//! (<http://www.lastfm.com>), made available for non-commercial use; see [`CREDIT`].
//!
//! Files (tab-separated):
//! - `user_artists.dat`: `userID artistID weight` (weight = play count), header `//userID …`.
//! - `user_taggedartists.dat`: `userID artistID tagID day month year`, with a header.
//! - `artists.dat`: `id name url pictureURL`, UTF-8 (a header line is tolerated, not required).
//! - `tags.dat`: `tagID tagValue` with a header, **Latin-1** encoded.
//!
//! # Time order (partial)
//! Listening rows carry no time. The only dates are those of the user's own tag assignments,
//! so a (user, artist) pair is dated by the **earliest plausible day on which that user tagged
//! that artist** (midnight UTC of that day, in unix seconds). About 22 % of pairs get a date.
//! Dates outside [`PLAUSIBLE_YEARS`] (the data has a few from 1956–1979, before Last.fm existed)
//! are treated as unknown rather than trusted. Undated pairs and ties are ordered by the rule of
//! [`crate::data::order_listens`]: undated first (most played first), then dated pairs by day,
//! ties on a day by plays descending, then catalog index.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::ops::RangeInclusive;

use crate::data::{order_listens, Catalog, ContentMatrix, Dataset, Listen, UserHistory};
use crate::error::{Error, Result};

/// Listening counts file name.
pub const USER_ARTISTS: &str = "user_artists.dat";
/// Tag assignments file name.
pub const USER_TAGGED_ARTISTS: &str = "user_taggedartists.dat";
/// Artist names file name.
pub const ARTISTS: &str = "artists.dat";
/// Tag names file name (Latin-1).
pub const TAGS: &str = "tags.dat";

/// Years accepted as real tag dates: Last.fm launched in 2002 and the data set was published in
/// May 2011. Anything else is a clock error and the pair is treated as undated.
pub const PLAUSIBLE_YEARS: RangeInclusive<i32> = 2002..=2011;

/// The credit and licence line that must accompany anything derived from this data set.
pub const CREDIT: &str = "Data: HetRec 2011 Last.fm dataset (hetrec2011-lastfm-2k; Cantador, \
Brusilovsky & Kuflik, 2nd Workshop on Information Heterogeneity and Fusion in Recommender \
Systems, RecSys 2011) with data from Last.fm (http://www.lastfm.com), made available for \
non-commercial use; results and models derived from it inherit that condition.";

/// One row of `user_artists.dat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserArtist {
    /// Last.fm user id (anonymised integer).
    pub user: u32,
    /// Artist id (as in `artists.dat`).
    pub artist: u32,
    /// Play count.
    pub weight: u32,
}

/// A calendar day as written in `user_taggedartists.dat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day {
    /// Year (four digits).
    pub year: i32,
    /// Month 1–12.
    pub month: u32,
    /// Day of month 1–31.
    pub day: u32,
}

impl Day {
    /// Unix seconds at 00:00 UTC of this day (proleptic Gregorian; Hinnant's days-from-civil).
    pub fn unix_seconds(&self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        (era * 146_097 + doe - 719_468) * 86_400
    }

    /// True when the year is in [`PLAUSIBLE_YEARS`].
    pub fn is_plausible(&self) -> bool {
        PLAUSIBLE_YEARS.contains(&self.year)
    }
}

/// One row of `user_taggedartists.dat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagRow {
    /// Last.fm user id.
    pub user: u32,
    /// Artist id.
    pub artist: u32,
    /// Tag id (as in `tags.dat`).
    pub tag: u32,
    /// The day the user assigned the tag.
    pub day: Day,
}

/// A tag assignment resolved against the loaded data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    /// Index of the tagging user in [`Hetrec::dataset`]`.users`.
    pub user: usize,
    /// Catalog index of the artist, or `None` when nobody in `user_artists.dat` listened to it
    /// (such tags still describe the user, for the genre portrait, but not a catalog item).
    pub item: Option<usize>,
    /// Index into [`Hetrec::tag_names`].
    pub tag: usize,
    /// Unix seconds of the assignment day, `None` when implausible (see [`PLAUSIBLE_YEARS`]).
    pub time: Option<i64>,
}

/// The loaded data set.
#[derive(Debug, Clone, Default)]
pub struct Hetrec {
    /// Users × artists with play counts; catalog = every artist in `user_artists.dat`, with its
    /// name from `artists.dat`; user ids are the userIDs as strings.
    pub dataset: Dataset,
    /// Tag names, indexed by tag index.
    pub tag_names: Vec<String>,
    /// The original tagID of each tag index.
    pub tag_ids: Vec<u32>,
    /// All tag assignments by users present in `user_artists.dat`.
    pub assignments: Vec<Assignment>,
    /// Tag rows dropped because their user has no listening rows (0 on the shipped data).
    pub dropped_assignments: usize,
}

fn parse_err(file: &str, line: usize, reason: impl std::fmt::Display) -> Error {
    Error::Parse {
        file: file.to_owned(),
        reason: format!("line {line}: {reason}"),
    }
}

fn field<T: std::str::FromStr>(
    parts: &[&str],
    i: usize,
    name: &str,
    file: &str,
    line: usize,
    expected: &str,
) -> Result<T> {
    let raw = parts.get(i).ok_or_else(|| {
        parse_err(
            file,
            line,
            format!(
                "field `{name}` missing (expected {} tab-separated fields)",
                i + 1
            ),
        )
    })?;
    raw.trim().parse().map_err(|_| {
        parse_err(
            file,
            line,
            format!("field `{name}`: expected {expected}, found {raw:?}"),
        )
    })
}

/// Iterates over non-empty lines with 1-based numbers, skipping a header line: the first line is
/// a header when its first field is not an integer (`//userID`, `userID`, `tagID`, `id`).
fn data_lines<'a, R: BufRead + 'a>(
    reader: R,
    file: &'a str,
) -> impl Iterator<Item = Result<(usize, String)>> + 'a {
    reader.lines().enumerate().filter_map(move |(i, line)| {
        let line = match line {
            Ok(l) => l,
            Err(e) => return Some(Err(parse_err(file, i + 1, format!("unreadable: {e}")))),
        };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            return None;
        }
        if i == 0
            && line
                .split('\t')
                .next()
                .is_some_and(|f| f.trim().parse::<u64>().is_err())
        {
            return None;
        }
        Some(Ok((i + 1, line.to_owned())))
    })
}

/// Parses `user_artists.dat`.
pub fn parse_user_artists(reader: impl BufRead, file: &str) -> Result<Vec<UserArtist>> {
    let mut out = Vec::new();
    for item in data_lines(reader, file) {
        let (n, line) = item?;
        let p: Vec<&str> = line.split('\t').collect();
        let int = "a non-negative integer";
        out.push(UserArtist {
            user: field(&p, 0, "userID", file, n, int)?,
            artist: field(&p, 1, "artistID", file, n, int)?,
            weight: field(&p, 2, "weight", file, n, int)?,
        });
    }
    Ok(out)
}

/// Parses `user_taggedartists.dat`. Calendar values out of range (month 13, day 0) are errors;
/// implausible years are kept here and treated as undated when resolved.
pub fn parse_tagged_artists(reader: impl BufRead, file: &str) -> Result<Vec<TagRow>> {
    let mut out = Vec::new();
    for item in data_lines(reader, file) {
        let (n, line) = item?;
        let p: Vec<&str> = line.split('\t').collect();
        let int = "a non-negative integer";
        let day = Day {
            day: field(&p, 3, "day", file, n, "a day of month 1-31")?,
            month: field(&p, 4, "month", file, n, "a month 1-12")?,
            year: field(&p, 5, "year", file, n, "a four-digit year")?,
        };
        if !(1..=31).contains(&day.day) {
            return Err(parse_err(
                file,
                n,
                format!("field `day`: expected 1-31, found {}", day.day),
            ));
        }
        if !(1..=12).contains(&day.month) {
            return Err(parse_err(
                file,
                n,
                format!("field `month`: expected 1-12, found {}", day.month),
            ));
        }
        out.push(TagRow {
            user: field(&p, 0, "userID", file, n, int)?,
            artist: field(&p, 1, "artistID", file, n, int)?,
            tag: field(&p, 2, "tagID", file, n, int)?,
            day,
        });
    }
    Ok(out)
}

/// Parses `artists.dat` into `(id, name)` pairs (url columns are not needed).
pub fn parse_artists(reader: impl BufRead, file: &str) -> Result<Vec<(u32, String)>> {
    let mut out = Vec::new();
    for item in data_lines(reader, file) {
        let (n, line) = item?;
        let p: Vec<&str> = line.split('\t').collect();
        let id = field(&p, 0, "id", file, n, "a non-negative integer")?;
        let name = p
            .get(1)
            .ok_or_else(|| parse_err(file, n, "field `name` missing"))?;
        out.push((id, (*name).to_owned()));
    }
    Ok(out)
}

/// Parses `tags.dat`, which is **Latin-1** (ISO-8859-1): every byte is one code point, so
/// decoding cannot fail and `tropic\xe1lia` becomes `tropicália`.
pub fn parse_tags(bytes: &[u8], file: &str) -> Result<Vec<(u32, String)>> {
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    let mut out = Vec::new();
    for item in data_lines(text.as_bytes(), file) {
        let (n, line) = item?;
        let p: Vec<&str> = line.split('\t').collect();
        let id = field(&p, 0, "tagID", file, n, "a non-negative integer")?;
        let value = p
            .get(1)
            .ok_or_else(|| parse_err(file, n, "field `tagValue` missing"))?;
        out.push((id, (*value).to_owned()));
    }
    Ok(out)
}

impl Hetrec {
    /// Assembles the data set from parsed files.
    ///
    /// Errors when a tag assignment names a tagID absent from `tags.dat` or when a user lists
    /// the same artist twice (either means the files do not belong together).
    pub fn from_parts(
        user_artists: &[UserArtist],
        tag_rows: &[TagRow],
        artists: &[(u32, String)],
        tags: &[(u32, String)],
    ) -> Result<Self> {
        let mut catalog = Catalog::new();
        let mut user_index: HashMap<u32, usize> = HashMap::new();
        let mut users: Vec<UserHistory> = Vec::new();
        let mut seen_pairs: HashSet<(u32, u32)> = HashSet::with_capacity(user_artists.len());
        for r in user_artists {
            if !seen_pairs.insert((r.user, r.artist)) {
                return Err(Error::Parse {
                    file: USER_ARTISTS.into(),
                    reason: format!("user {} lists artist {} twice", r.user, r.artist),
                });
            }
            let item = catalog.insert(&r.artist.to_string());
            let u = *user_index.entry(r.user).or_insert_with(|| {
                users.push(UserHistory {
                    user: r.user.to_string(),
                    listens: Vec::new(),
                });
                users.len() - 1
            });
            users[u].listens.push(Listen {
                item,
                plays: r.weight,
                time: None,
            });
        }
        for (id, name) in artists {
            if let Some(i) = catalog.index_of(&id.to_string()) {
                catalog.set_name(i, name.clone());
            }
        }

        let mut tag_index: HashMap<u32, usize> = HashMap::with_capacity(tags.len());
        let mut tag_names = Vec::with_capacity(tags.len());
        let mut tag_ids = Vec::with_capacity(tags.len());
        for (id, value) in tags {
            tag_index.entry(*id).or_insert_with(|| {
                tag_names.push(value.clone());
                tag_ids.push(*id);
                tag_names.len() - 1
            });
        }

        let mut assignments = Vec::with_capacity(tag_rows.len());
        let mut dropped = 0;
        // Earliest plausible tagging day per (user index, item) pair.
        let mut first_day: HashMap<(usize, usize), i64> = HashMap::new();
        for r in tag_rows {
            let Some(&user) = user_index.get(&r.user) else {
                dropped += 1;
                continue;
            };
            let tag = *tag_index.get(&r.tag).ok_or_else(|| Error::Parse {
                file: USER_TAGGED_ARTISTS.into(),
                reason: format!(
                    "tagID {} (user {}, artist {}) is not in {TAGS}",
                    r.tag, r.user, r.artist
                ),
            })?;
            let item = catalog.index_of(&r.artist.to_string());
            let time = r.day.is_plausible().then(|| r.day.unix_seconds());
            if let (Some(item), Some(t)) = (item, time) {
                first_day
                    .entry((user, item))
                    .and_modify(|d| *d = (*d).min(t))
                    .or_insert(t);
            }
            assignments.push(Assignment {
                user,
                item,
                tag,
                time,
            });
        }
        for (u, history) in users.iter_mut().enumerate() {
            for l in &mut history.listens {
                l.time = first_day.get(&(u, l.item)).copied();
            }
            order_listens(&mut history.listens);
        }
        Ok(Hetrec {
            dataset: Dataset { catalog, users },
            tag_names,
            tag_ids,
            assignments,
            dropped_assignments: dropped,
        })
    }

    /// Loads the four files from `dir`, with an error naming the directory when it is absent.
    #[cfg(feature = "native")]
    pub fn load(dir: &std::path::Path) -> Result<Self> {
        use std::fs::File;
        use std::io::BufReader;
        if !dir.is_dir() {
            return Err(Error::io(
                dir,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "hetrec2011-lastfm-2k directory not found (expected user_artists.dat, \
                     user_taggedartists.dat, artists.dat, tags.dat; pass the data directory)",
                ),
            ));
        }
        let open = |name: &str| -> Result<BufReader<File>> {
            let p = dir.join(name);
            File::open(&p)
                .map(BufReader::new)
                .map_err(|e| Error::io(&p, e))
        };
        let ua = parse_user_artists(open(USER_ARTISTS)?, USER_ARTISTS)?;
        let ta = parse_tagged_artists(open(USER_TAGGED_ARTISTS)?, USER_TAGGED_ARTISTS)?;
        let ar = parse_artists(open(ARTISTS)?, ARTISTS)?;
        let tags_path = dir.join(TAGS);
        let tag_bytes = std::fs::read(&tags_path).map_err(|e| Error::io(&tags_path, e))?;
        let tags = parse_tags(&tag_bytes, TAGS)?;
        Self::from_parts(&ua, &ta, &ar, &tags)
    }

    /// Dataset index of the user with Last.fm id `user_id`.
    pub fn user_index(&self, user_id: u32) -> Option<usize> {
        let key = user_id.to_string();
        self.dataset.users.iter().position(|u| u.user == key)
    }

    /// Artist tag profiles built **only from the users marked in `training`** (indexed like
    /// `dataset.users`): entry (artist, tag) = number of training users who gave that tag to that
    /// artist. Taking the mask, rather than all assignments, is what keeps test users' tags out of
    /// the item features (no leakage by construction). Errors when the mask has the wrong length.
    pub fn tag_profiles(&self, training: &[bool]) -> Result<ContentMatrix> {
        if training.len() != self.dataset.users.len() {
            return Err(Error::invalid(
                "training mask",
                format!("one flag per user ({})", self.dataset.users.len()),
                training.len(),
            ));
        }
        // (item, tag, user) triples of training users, sorted: duplicates of a triple (none in
        // the shipped files) collapse so a user counts once, and each (item, tag) run is a count.
        let mut triples: Vec<(u32, u32, u32)> = self
            .assignments
            .iter()
            .filter(|a| training[a.user])
            .filter_map(|a| a.item.map(|i| (i as u32, a.tag as u32, a.user as u32)))
            .collect();
        triples.sort_unstable();
        triples.dedup();
        let mut rows: Vec<Vec<(u32, f32)>> = vec![Vec::new(); self.dataset.catalog.len()];
        for (item, tag, _) in triples {
            let row = &mut rows[item as usize];
            match row.last_mut() {
                Some((t, c)) if *t == tag => *c += 1.0,
                _ => row.push((tag, 1.0)),
            }
        }
        Ok(ContentMatrix {
            dims: self.tag_names.len(),
            dim_names: self.tag_names.clone(),
            rows,
        })
    }

    /// The genre vocabulary: the `size` tags used by the most distinct training users
    /// (ties by tag index). On Last.fm the most widely used tags are overwhelmingly genres
    /// ("rock", "pop", "electronic", …), which is why a frequency cut serves as a genre list.
    pub fn genre_vocabulary(&self, training: &[bool], size: usize) -> Vec<usize> {
        let mut users_per_tag: Vec<HashSet<usize>> = vec![HashSet::new(); self.tag_names.len()];
        for a in &self.assignments {
            if training.get(a.user).copied().unwrap_or(false) {
                users_per_tag[a.tag].insert(a.user);
            }
        }
        let mut tags: Vec<usize> = (0..self.tag_names.len())
            .filter(|&t| !users_per_tag[t].is_empty())
            .collect();
        tags.sort_by(|&a, &b| {
            users_per_tag[b]
                .len()
                .cmp(&users_per_tag[a].len())
                .then(a.cmp(&b))
        });
        tags.truncate(size);
        tags
    }

    /// A user's genre portrait: up to `n` tags of `vocabulary` that the user assigned most often
    /// (ties by vocabulary rank), as tag names.
    ///
    /// Assignments on `exclude_items` are skipped: when evaluating, pass the user's target
    /// artists, since a tag the user put on a held-out artist would reveal that artist.
    pub fn genre_portrait(
        &self,
        user: usize,
        vocabulary: &[usize],
        n: usize,
        exclude_items: &[usize],
    ) -> Vec<String> {
        let rank: HashMap<usize, usize> = vocabulary
            .iter()
            .enumerate()
            .map(|(r, &t)| (t, r))
            .collect();
        let excluded: HashSet<usize> = exclude_items.iter().copied().collect();
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for a in self.assignments.iter().filter(|a| a.user == user) {
            if a.item.is_some_and(|i| excluded.contains(&i)) || !rank.contains_key(&a.tag) {
                continue;
            }
            *counts.entry(a.tag).or_insert(0) += 1;
        }
        let mut tags: Vec<(usize, usize)> = counts.into_iter().collect();
        tags.sort_by(|a, b| b.1.cmp(&a.1).then(rank[&a.0].cmp(&rank[&b.0])));
        tags.into_iter()
            .take(n)
            .map(|(t, _)| self.tag_names[t].clone())
            .collect()
    }
}

/// The committed 12-user fixture (`tests/fixtures/hetrec-mini`), compiled into the test binary
/// so that tests run without the file system (and in wasm).
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    const MINI_UA: &str = include_str!("../../tests/fixtures/hetrec-mini/user_artists.dat");
    const MINI_TA: &str = include_str!("../../tests/fixtures/hetrec-mini/user_taggedartists.dat");
    const MINI_AR: &str = include_str!("../../tests/fixtures/hetrec-mini/artists.dat");
    const MINI_TAGS: &[u8] = include_bytes!("../../tests/fixtures/hetrec-mini/tags.dat");

    /// The mini fixture, parsed as the real loader would.
    pub(crate) fn mini() -> Hetrec {
        Hetrec::from_parts(
            &parse_user_artists(MINI_UA.as_bytes(), USER_ARTISTS).unwrap(),
            &parse_tagged_artists(MINI_TA.as_bytes(), USER_TAGGED_ARTISTS).unwrap(),
            &parse_artists(MINI_AR.as_bytes(), ARTISTS).unwrap(),
            &parse_tags(MINI_TAGS, TAGS).unwrap(),
        )
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run under wasm-bindgen-test (`#[test]` resolves to its macro).
    use super::tests_support::mini;
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn days_to_unix_seconds() {
        assert_eq!(
            Day {
                year: 1970,
                month: 1,
                day: 1
            }
            .unix_seconds(),
            0
        );
        assert_eq!(
            Day {
                year: 2009,
                month: 4,
                day: 1
            }
            .unix_seconds(),
            1_238_544_000
        );
        assert_eq!(
            Day {
                year: 2000,
                month: 3,
                day: 1
            }
            .unix_seconds(),
            951_868_800
        );
        assert!(!Day {
            year: 1956,
            month: 5,
            day: 1
        }
        .is_plausible());
    }

    #[test]
    fn parses_real_format_lines() {
        let ua = "//userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n";
        let rows = parse_user_artists(ua.as_bytes(), USER_ARTISTS).unwrap();
        assert_eq!(
            rows,
            vec![
                UserArtist {
                    user: 2,
                    artist: 51,
                    weight: 13883
                },
                UserArtist {
                    user: 2,
                    artist: 52,
                    weight: 11690
                },
            ]
        );
        let ta = "userID\tartistID\ttagID\tday\tmonth\tyear\n2\t52\t13\t1\t4\t2009\n";
        let t = parse_tagged_artists(ta.as_bytes(), USER_TAGGED_ARTISTS).unwrap();
        assert_eq!(
            t[0].day,
            Day {
                year: 2009,
                month: 4,
                day: 1
            }
        );
        let ar = "707\tMetallica\thttp://www.last.fm/music/Metallica\thttp://x/y.jpg\n";
        assert_eq!(
            parse_artists(ar.as_bytes(), ARTISTS).unwrap(),
            vec![(707, "Metallica".into())]
        );
    }

    #[test]
    fn tags_are_decoded_as_latin1() {
        let bytes = b"tagID\ttagValue\n2863\ttropic\xe1lia\n7982\tfu\xdfball\n";
        let tags = parse_tags(bytes, TAGS).unwrap();
        assert_eq!(
            tags,
            vec![(2863, "tropicália".into()), (7982, "fußball".into())]
        );
    }

    #[test]
    fn malformed_rows_name_file_line_and_field() {
        let err = parse_user_artists("//h\n2\t51\tmany\n".as_bytes(), USER_ARTISTS).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("user_artists.dat") && msg.contains("line 2") && msg.contains("weight"),
            "{msg}"
        );
        let err = parse_tagged_artists("2\t52\t13\t1\t13\t2009\n".as_bytes(), USER_TAGGED_ARTISTS)
            .unwrap_err();
        assert!(err.to_string().contains("month"), "{err}");
        let err = parse_user_artists("2\t51\n".as_bytes(), USER_ARTISTS).unwrap_err();
        assert!(err.to_string().contains("weight"), "{err}");
    }

    #[test]
    fn mini_fixture_loads_with_names_dates_and_latin1_tags() {
        let h = mini();
        assert_eq!(h.dataset.users.len(), 12);
        assert_eq!(h.dropped_assignments, 0);
        let u2 = h.user_index(2).unwrap();
        let hist = &h.dataset.users[u2];
        assert_eq!(hist.listens.len(), 50);
        // Ordering rule: undated first, then non-decreasing dates.
        let first_dated = hist.listens.iter().position(|l| l.time.is_some()).unwrap();
        assert!(hist.listens[..first_dated].iter().all(|l| l.time.is_none()));
        assert!(hist.listens[first_dated..].iter().all(|l| l.time.is_some()));
        assert!(hist.listens[first_dated..]
            .windows(2)
            .all(|w| w[0].time <= w[1].time));
        let i51 = h.dataset.catalog.index_of("51").unwrap();
        assert_eq!(h.dataset.catalog.name(i51), Some("Duran Duran"));
        assert!(h.tag_names.iter().any(|t| t == "tropicália"));
    }

    #[test]
    fn implausible_dates_leave_pairs_undated() {
        let ua = [
            UserArtist {
                user: 1,
                artist: 10,
                weight: 5,
            },
            UserArtist {
                user: 1,
                artist: 11,
                weight: 1,
            },
        ];
        let day = |year| Day {
            year,
            month: 6,
            day: 2,
        };
        let rows = [
            TagRow {
                user: 1,
                artist: 10,
                tag: 1,
                day: day(1956),
            },
            TagRow {
                user: 1,
                artist: 11,
                tag: 1,
                day: day(2008),
            },
            TagRow {
                user: 1,
                artist: 11,
                tag: 1,
                day: day(2007),
            },
        ];
        let h = Hetrec::from_parts(&ua, &rows, &[], &[(1, "rock".into())]).unwrap();
        let l = &h.dataset.users[0].listens;
        assert_eq!(l[0].time, None);
        assert_eq!(
            l[1].time,
            Some(day(2007).unix_seconds()),
            "earliest plausible date wins"
        );
    }

    #[test]
    fn unknown_tag_id_is_an_error() {
        let ua = [UserArtist {
            user: 1,
            artist: 10,
            weight: 5,
        }];
        let rows = [TagRow {
            user: 1,
            artist: 10,
            tag: 99,
            day: Day {
                year: 2008,
                month: 1,
                day: 1,
            },
        }];
        let err = Hetrec::from_parts(&ua, &rows, &[], &[(1, "rock".into())]).unwrap_err();
        assert!(err.to_string().contains("tagID 99"), "{err}");
    }

    #[test]
    fn tag_profiles_contain_only_training_users_tags() {
        let h = mini();
        let n = h.dataset.users.len();
        for held_out in 0..n {
            let mut mask = vec![true; n];
            mask[held_out] = false;
            let profiles = h.tag_profiles(&mask).unwrap();
            // Recompute by construction from the training users' assignments alone.
            let mut expected: HashMap<(usize, u32), f32> = HashMap::new();
            for a in h.assignments.iter().filter(|a| a.user != held_out) {
                if let Some(i) = a.item {
                    *expected.entry((i, a.tag as u32)).or_insert(0.0) += 1.0;
                }
            }
            let mut got: HashMap<(usize, u32), f32> = HashMap::new();
            for (i, row) in profiles.rows.iter().enumerate() {
                for &(t, v) in row {
                    got.insert((i, t), v);
                }
            }
            assert_eq!(got, expected, "held-out user {held_out}");
        }
        // A tag only the held-out user used never appears.
        let all = h.tag_profiles(&vec![true; n]).unwrap();
        let none = h.tag_profiles(&vec![false; n]).unwrap();
        assert!(all.nnz() > 0);
        assert_eq!(none.nnz(), 0);
        assert!(h.tag_profiles(&[true]).is_err());
    }

    #[test]
    fn genre_portrait_uses_vocabulary_and_skips_excluded_items() {
        let h = mini();
        let n = h.dataset.users.len();
        let vocab = h.genre_vocabulary(&vec![true; n], 20);
        assert!(!vocab.is_empty() && vocab.len() <= 20);
        let u = h.user_index(2).unwrap();
        let portrait = h.genre_portrait(u, &vocab, 5, &[]);
        assert!(!portrait.is_empty() && portrait.len() <= 5);
        assert!(portrait
            .iter()
            .all(|g| vocab.iter().any(|&t| &h.tag_names[t] == g)));
        // Excluding every catalog artist leaves only tags on artists outside the catalog.
        let all_items: Vec<usize> = (0..h.dataset.catalog.len()).collect();
        let outside: HashSet<&str> = h
            .assignments
            .iter()
            .filter(|a| a.user == u && a.item.is_none())
            .map(|a| h.tag_names[a.tag].as_str())
            .collect();
        let rest = h.genre_portrait(u, &vocab, 50, &all_items);
        assert!(
            rest.iter().all(|g| outside.contains(g.as_str())),
            "{rest:?} vs {outside:?}"
        );
        let targets: Vec<usize> = h.dataset.users[u].items();
        assert_ne!(
            h.genre_portrait(u, &vocab, 50, &targets),
            h.genre_portrait(u, &vocab, 50, &[])
        );
    }
}
