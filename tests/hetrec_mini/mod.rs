//! The committed 12-user hetrec excerpt (`tests/fixtures/hetrec-mini`), embedded so the model
//! tests run natively and in Chromium alike (no file system there). A module of its own, not
//! part of `tests/common`, so model tests do not embed the audio fixtures.

use ainrec::data::hetrec::{
    parse_artists, parse_tagged_artists, parse_tags, parse_user_artists, Hetrec,
};

const USER_ARTISTS: &str = include_str!("../fixtures/hetrec-mini/user_artists.dat");
const TAGGED: &str = include_str!("../fixtures/hetrec-mini/user_taggedartists.dat");
const ARTISTS: &str = include_str!("../fixtures/hetrec-mini/artists.dat");
const TAGS: &[u8] = include_bytes!("../fixtures/hetrec-mini/tags.dat");

/// The excerpt, parsed as the real loader would.
pub fn mini() -> Hetrec {
    Hetrec::from_parts(
        &parse_user_artists(USER_ARTISTS.as_bytes(), "user_artists.dat").unwrap(),
        &parse_tagged_artists(TAGGED.as_bytes(), "user_taggedartists.dat").unwrap(),
        &parse_artists(ARTISTS.as_bytes(), "artists.dat").unwrap(),
        &parse_tags(TAGS, "tags.dat").unwrap(),
    )
    .unwrap()
}
