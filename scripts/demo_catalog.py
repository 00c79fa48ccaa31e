#!/usr/bin/env python3
"""Builds the page's bundled demo catalog (`make demo-catalog`): short Opus excerpts of the
Creative-Commons tracks in data/audio/catalog.csv (`make data`), their credits, and their track
descriptors, into models/demo/ (committed; `make wasm` copies it to www/demo/ so the page
fetches it from its own origin).

Why precomputed descriptors: analysing 55 excerpts in the tab takes about a minute on a
2-core machine, too long for a visitor's first try. They are computed by the native CLI on
ffmpeg's decode of the *same Opus excerpt* the page ships (at 22050 Hz; the CLI averages the
channels as Web Audio's mono down-mix does), with
the page's default analysis options, so they agree with what the page would compute up to
the two decoders' resamplers (the e2e test measures the difference). Their analysis key is
stored; when the extractor changes and the catalog is not rebuilt, the page analyses the
excerpts itself instead of trusting stale numbers.

Usage: scripts/demo_catalog.py --ainrec target/release/ainrec [--data data/audio]
       [--out models/demo] [--seconds 15] [--bitrate 32k]
Needs ffmpeg with libopus. Deterministic for a given ffmpeg (bit-exact flags, no encoder tag).
"""
import argparse
import base64
import csv
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

LICENCE_URLS = {
    "CC-BY-3.0": "https://creativecommons.org/licenses/by/3.0/",
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "CC0": "https://creativecommons.org/publicdomain/zero/1.0/",
}


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ainrec", required=True, help="the native ainrec binary")
    ap.add_argument("--data", default=os.path.join(os.environ.get("AINREC_DATA") or "data", "audio"))
    ap.add_argument("--out", default="models/demo")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--bitrate", default="32k")
    args = ap.parse_args()

    catalog = os.path.join(args.data, "catalog.csv")
    if not os.path.exists(catalog):
        sys.exit(f"demo catalog: {catalog} is missing (run `make data`, or pass --data)")
    with open(catalog, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    os.makedirs(args.out, exist_ok=True)
    for old in os.listdir(args.out):
        if old.endswith(".opus"):
            os.remove(os.path.join(args.out, old))

    tracks = []
    with tempfile.TemporaryDirectory() as tmp:
        wavs = []
        for row in rows:
            src = os.path.join(args.data, row["file"])
            duration = float(row["duration_s"])
            length = min(args.seconds, duration)
            start = max(0.0, duration / 2 - length / 2)  # the middle, as the analysis span
            stem = os.path.splitext(row["file"])[0]
            out = os.path.join(args.out, stem + ".opus")
            fade = min(0.5, length / 4)
            run(["ffmpeg", "-v", "error", "-y", "-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", src,
                 "-map", "0:a:0", "-map_metadata", "-1",
                 "-af", f"afade=t=in:d={fade},afade=t=out:st={length - fade:.3f}:d={fade}",
                 "-ac", "2", "-c:a", "libopus", "-b:a", args.bitrate,
                 "-fflags", "+bitexact", "-flags:a", "+bitexact",
                 "-metadata", f"title={row['title']}", "-metadata", f"artist={row['artist']}",
                 "-metadata", "album=ainrec demo catalog",
                 "-metadata", f"copyright={row['license'].split(' ')[0]}", out])
            wav = os.path.join(tmp, stem + ".wav")
            # Stereo at 22050 Hz: the CLI averages the channels, 0.5 (L + R), as Web Audio's
            # mono down-mix does; ffmpeg's own `-ac 1` gives (L + R) / sqrt(2), 3 dB louder.
            run(["ffmpeg", "-v", "error", "-y", "-i", out, "-ar", "22050",
                 "-c:a", "pcm_f32le", wav])
            wavs.append(wav)
            # A few licence cells carry a note after the SPDX-like id: keep both.
            lic, _, note = row["license"].partition(" ")
            tracks.append({
                "file": stem + ".opus",
                "title": row["title"],
                "artist": row["artist"],
                "genre": row["genre"] if row.get("genre_basis", "") in ("source", "file ID3") else None,
                "license": lic,
                "license_url": LICENCE_URLS.get(lic),
                "license_note": note.strip() or None,
                "source": f"https://github.com/{row['source_repo']}/blob/{row['commit']}/{row['source_path']}",
                "excerpt_start_s": round(start, 3),
                "excerpt_s": round(length, 3),
                "original_duration_s": duration,
                "bytes": os.path.getsize(out),
                # The page's library key: the SHA-256 of the file's bytes, as for dropped files.
                "sha256": hashlib.sha256(open(out, "rb").read()).hexdigest(),
            })
        # One CLI call for all excerpts: the page's default analysis (30 s middle span,
        # which for a 15 s excerpt is the whole excerpt).
        feats_path = os.path.join(tmp, "features.json")
        subprocess.run([args.ainrec, "features", *wavs, "-o", feats_path], check=True)
        with open(feats_path, encoding="utf-8") as f:
            feats = json.load(f)
    if feats.get("failed"):
        sys.exit(f"demo catalog: the CLI failed on {feats['failed']}")
    by_stem = {os.path.splitext(os.path.basename(t["file"]))[0]: t for t in feats["tracks"]}
    for t in tracks:
        ft = by_stem[os.path.splitext(t["file"])[0]]
        # Little-endian float32, base64: a quarter of the JSON-number size, exact.
        t["descriptor"] = base64.b64encode(struct.pack(f"<{len(ft['descriptor'])}f", *ft["descriptor"])).decode()
        t["duration_s"] = round(ft["duration_s"], 4)
    doc = {
        "version": 1,
        "about": "Excerpts of Creative-Commons tracks (see each track's licence and source); "
                 "BY-SA excerpts stay BY-SA. Made by scripts/demo_catalog.py (make demo-catalog).",
        "analysis_key": feats["cache_key"],
        "descriptor_length": len(feats["descriptor_names"]),
        "descriptor_source": "ainrec features (native) on ffmpeg's 22050 Hz decode of each Opus excerpt, channels averaged by the CLI",
        "tracks": tracks,
    }
    with open(os.path.join(args.out, "catalog.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    total = sum(t["bytes"] for t in tracks) + os.path.getsize(os.path.join(args.out, "catalog.json"))
    print(f"demo catalog: {len(tracks)} excerpts, {total / 2**20:.2f} MiB in {args.out}")


if __name__ == "__main__":
    main()
