#!/usr/bin/env python3
"""Fills ./data with the data sets ainrec's commands read (`make data`; see docs/DATA.md).

    data/hetrec2011-lastfm-2k/   Last.fm listening data (eval, train, recommend)
    data/audio/                  55 CC music tracks + catalog.csv (train-browser, audio-proxy)
    data/librosa/                5 librosa example music clips + credits (audio-proxy)

Sources, in order:
1. a local copy (`--from DIR`, default: a sibling ../shared/data when it exists) — copied;
2. the files committed here: the librosa clips are tests/fixtures/clips (byte-identical), the
   CC catalog is docs/data/audio-catalog.csv;
3. the network, only with `--download`: each CC track from its source repository at the
   pinned commit (checked against the catalog's byte size), the hetrec zip from GroupLens.
What is still missing is listed with where to get it and its licence; exit 1 if anything is.

Never overwrites a file that is already there. Standard library only.
"""
import argparse
import csv
import io
import os
import shutil
import sys
import urllib.parse
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HETREC = "hetrec2011-lastfm-2k"
HETREC_FILES = ["user_artists.dat", "user_taggedartists.dat", "artists.dat", "tags.dat"]
HETREC_URL = "https://files.grouplens.org/datasets/hetrec2011/hetrec2011-lastfm-2k.zip"
CATALOG = os.path.join(ROOT, "docs", "data", "audio-catalog.csv")
# librosa example id -> the fixture clip of the same bytes.
LIBROSA = {
    "hungarian_dance_number_5_-_allegro_in_f_sharp_minor_string_orchestra": "brahms",
    "karissa_hobbs_-_lets_go_fishin": "fishin",
    "kevin_macleod_-_p_i_tchaikovsky_dance_of_the_sugar_plum_fairy": "nutcracker",
    "kevin_macleod_-_vibe_ace": "vibeace",
    "sorohanro_-_solo-trumpet-06": "trumpet",
}


def copy_missing(src, dst):
    """Copies the files of src/ that dst/ lacks; returns how many."""
    n = 0
    for base, _, files in os.walk(src):
        for f in files:
            s = os.path.join(base, f)
            d = os.path.join(dst, os.path.relpath(s, src))
            if not os.path.exists(d):
                os.makedirs(os.path.dirname(d), exist_ok=True)
                shutil.copy2(s, d)
                n += 1
    return n


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read()


def catalog_rows():
    with open(CATALOG, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def raw_url(row):
    path = urllib.parse.quote(row["source_path"])
    return f"https://raw.githubusercontent.com/{row['source_repo']}/{row['commit']}/{path}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sibling = os.path.join(os.path.dirname(ROOT), "shared", "data")
    ap.add_argument("--from", dest="source", default=sibling if os.path.isdir(sibling) else None,
                    help="a local folder holding the sets (default: ../shared/data when present)")
    ap.add_argument("--out", default=os.path.join(ROOT, "data"))
    ap.add_argument("--download", action="store_true", help="fetch what is still missing")
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)

    if args.source:
        for name in (HETREC, "audio", "librosa"):
            src = os.path.join(args.source, name)
            if os.path.isdir(src):
                n = copy_missing(src, os.path.join(out, name))
                print(f"{name}: {n} files copied from {src}")

    # librosa clips: committed as test fixtures.
    lib = os.path.join(out, "librosa")
    os.makedirs(lib, exist_ok=True)
    for name, key in LIBROSA.items():
        for ext in ("ogg", "txt"):
            d = os.path.join(lib, f"{name}.{ext}")
            if not os.path.exists(d):
                shutil.copy2(os.path.join(ROOT, "tests", "fixtures", "clips", f"{key}.{ext}"), d)

    # The CC corpus: catalog committed, audio from the source repositories.
    audio = os.path.join(out, "audio")
    os.makedirs(audio, exist_ok=True)
    if not os.path.exists(os.path.join(audio, "catalog.csv")):
        shutil.copy2(CATALOG, os.path.join(audio, "catalog.csv"))
    rows = catalog_rows()
    missing_audio = [r for r in rows if not os.path.exists(os.path.join(audio, r["file"]))]
    if missing_audio and args.download:
        for r in missing_audio:
            try:
                body = fetch(raw_url(r))
            except OSError as e:
                print(f"audio/{r['file']}: download failed ({e})")
                continue
            if str(len(body)) != r["bytes"]:
                print(f"audio/{r['file']}: {len(body)} bytes, the catalog says {r['bytes']}; not kept")
                continue
            with open(os.path.join(audio, r["file"]), "wb") as f:
                f.write(body)
        missing_audio = [r for r in rows if not os.path.exists(os.path.join(audio, r["file"]))]

    hetrec = os.path.join(out, HETREC)
    missing_hetrec = [f for f in HETREC_FILES if not os.path.exists(os.path.join(hetrec, f))]
    if missing_hetrec and args.download:
        try:
            with zipfile.ZipFile(io.BytesIO(fetch(HETREC_URL))) as z:
                os.makedirs(hetrec, exist_ok=True)
                for member in z.namelist():
                    base = os.path.basename(member)
                    if base and not os.path.exists(os.path.join(hetrec, base)):
                        with open(os.path.join(hetrec, base), "wb") as f:
                            f.write(z.read(member))
        except (OSError, zipfile.BadZipFile) as e:
            print(f"{HETREC}: download failed ({e})")
        missing_hetrec = [f for f in HETREC_FILES if not os.path.exists(os.path.join(hetrec, f))]

    ok = True
    if missing_hetrec:
        ok = False
        print(f"\nmissing: {HETREC}/ ({', '.join(missing_hetrec)})\n"
              f"  get: {HETREC_URL} (unzip into {hetrec}/), or `make data DOWNLOAD=1`\n"
              "  licence: non-commercial use; cite HetRec 2011 (Cantador, Brusilovsky & Kuflik) and Last.fm.\n"
              "  note: the numbers in docs/ were made on a 90 % sample (1,703 of 1,892 users); the full\n"
              "  download gives close but not identical figures.")
    if missing_audio:
        ok = False
        print(f"\nmissing: {len(missing_audio)} of {len(rows)} CC tracks in {audio}/\n"
              "  get: `make data DOWNLOAD=1` fetches each from its source repository at the commit\n"
              "  in docs/data/audio-catalog.csv (source_repo, source_path, commit), e.g.\n"
              f"  {raw_url(missing_audio[0])}\n"
              "  licences: CC BY 3.0 / 4.0, CC BY-SA 4.0, CC0 — per track in the catalog's license column.")
    print(f"\n{out}: " + ("complete" if ok else "incomplete (see above)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
