#!/usr/bin/env python3
"""Make the committed audio fixtures of tests/fixtures/ (clips, PCM, WAV).

Run inside the pinned reference venv (see tests/reference/README.md):

    /work/venv-ref/bin/python tests/reference/gen_fixtures.py [--data DIR]

DIR defaults to data/librosa under the repo root (`make data`; the
read-only librosa example clips). Writes:

  tests/fixtures/clips/<key>.ogg, <key>.txt, CREDITS.md
  tests/fixtures/pcm/<key>.f32          (5 clips + 6 synthetic signals)
  tests/fixtures/pcm/README.md
  tests/fixtures/wav/vibeace_22050_mono.wav

Deterministic: running it twice gives byte-identical files (with the same
pinned versions of numpy / scipy / librosa / soundfile / libsndfile).
"""
import argparse
import hashlib
import os
import shutil
import sys

import numpy as np
import scipy
import scipy.signal
import soundfile as sf
import librosa

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(REPO, "tests", "fixtures")

SR = 22050
N_PCM = 65536
WAV_SECONDS = 10.0

# key -> (source file stem in shared/data/librosa, title, author, licence, licence URL, source URL)
CLIPS = {
    "brahms": (
        "hungarian_dance_number_5_-_allegro_in_f_sharp_minor_string_orchestra",
        "Hungarian Dance No. 5 (Allegro in F sharp minor), string orchestra",
        "Johannes Brahms, performed by US Army Strings",
        "Public Domain (Public Domain Mark 1.0)",
        "https://creativecommons.org/publicdomain/mark/1.0/",
        "Musopen, https://musopen.org/music/43805-hungarian-dance-no-5-in-f-sharp-minor-woo-1-string-orchestra-arr/",
    ),
    "fishin": (
        "karissa_hobbs_-_lets_go_fishin",
        "Let's Go Fishin'",
        "Karissa Hobbs",
        "CC BY 3.0",
        "https://creativecommons.org/licenses/by/3.0/",
        "Free Music Archive, https://freemusicarchive.org/music/Karissa_Hobbs/Age_of_Flowers/09_Lets_Go_Fishin",
    ),
    "nutcracker": (
        "kevin_macleod_-_p_i_tchaikovsky_dance_of_the_sugar_plum_fairy",
        "P. I. Tchaikovsky: Dance of the Sugar Plum Fairy",
        "Kevin MacLeod",
        "CC BY 3.0",
        "https://creativecommons.org/licenses/by/3.0/",
        "Free Music Archive, https://freemusicarchive.org/music/Kevin_MacLeod/Classical_Sampler/Dance_of_the_Sugar_Plum_Fairy",
    ),
    "vibeace": (
        "kevin_macleod_-_vibe_ace",
        "Vibe Ace",
        "Kevin MacLeod",
        "CC BY 3.0",
        "https://creativecommons.org/licenses/by/3.0/",
        "Free Music Archive, https://freemusicarchive.org/music/Kevin_MacLeod/Jazz_Sampler/Vibe_Ace",
    ),
    "trumpet": (
        "sorohanro_-_solo-trumpet-06",
        "Solo trumpet 06, part of \"Jazz Trumpet Loops Pack in F 90 bpm\"",
        "Mihai Sorohan (sorohanro)",
        "CC BY 3.0",
        "https://creativecommons.org/licenses/by/3.0/",
        "Freesound, https://freesound.org/s/77711/",
    ),
}

# Synthetic signals: key -> one-line definition (also written to pcm/README.md)
SYNTH_DOC = {
    "tone440": "0.5*sin(2*pi*440*n/22050), n = 0..65535",
    "chord_cmaj": "sin(2*pi*f*n/22050) summed over f = 440*2^(-9/12) (C4, 261.6256 Hz), "
                  "440*2^(-5/12) (E4, 329.6276 Hz), 440*2^(-2/12) (G4, 391.9954 Hz), "
                  "then scaled so that max|x| = 0.9 (max taken over the float64 sum)",
    "chirp": "0.5*scipy.signal.chirp(t, f0=100, t1=65535/22050, f1=8000, method='logarithmic', phi=0), "
             "t = n/22050; i.e. 0.5*cos(2*pi*f0*t1/ln(f1/f0)*((f1/f0)^(t/t1) - 1)), "
             "instantaneous frequency 100 Hz at n=0 to 8000 Hz at n=65535",
    "noise": "numpy.random.default_rng(1234).uniform(-0.5, 0.5, 65536) (float64, then stored as float32)",
    "impulses": "zeros except x[n] = 1.0 where n % 5000 == 0 (n = 0, 5000, ..., 65000: 14 clicks, "
                "the first one at sample 0)",
    "silence": "all zeros",
}


def synth(key):
    n = np.arange(N_PCM, dtype=np.float64)
    t = n / SR
    if key == "tone440":
        x = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    elif key == "chord_cmaj":
        fs = [440.0 * 2 ** (-9 / 12), 440.0 * 2 ** (-5 / 12), 440.0 * 2 ** (-2 / 12)]
        x = sum(np.sin(2 * np.pi * f * t) for f in fs)
        x = x * (0.9 / np.max(np.abs(x)))
    elif key == "chirp":
        x = 0.5 * scipy.signal.chirp(t, f0=100.0, t1=(N_PCM - 1) / SR, f1=8000.0,
                                     method="logarithmic", phi=0)
    elif key == "noise":
        x = np.random.default_rng(1234).uniform(-0.5, 0.5, N_PCM)
    elif key == "impulses":
        x = np.zeros(N_PCM)
        x[::5000] = 1.0
    elif key == "silence":
        x = np.zeros(N_PCM)
    else:
        raise KeyError(key)
    return x.astype("<f4")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.environ.get("AINREC_DATA") or os.path.join(REPO, "data"), "librosa"))
    args = ap.parse_args()
    data = os.path.abspath(args.data)
    if not os.path.isdir(data):
        sys.exit(f"librosa clips not found at {data} (run `make data`, or pass --data DIR)")

    print("numpy", np.__version__, "scipy", scipy.__version__, "librosa", librosa.__version__,
          "soundfile", sf.__version__, "libsndfile", sf.__libsndfile_version__)

    clips_dir = os.path.join(FIX, "clips")
    pcm_dir = os.path.join(FIX, "pcm")
    wav_dir = os.path.join(FIX, "wav")
    for d in (clips_dir, pcm_dir, wav_dir):
        os.makedirs(d, exist_ok=True)

    # 1. clips + licences + credits
    credits = ["# Credits for the audio clips in this folder", "",
               "The five music clips of the librosa example data (as kept in "
               "`shared/data/librosa/`), copied byte for byte under short names. "
               "Each `<key>.txt` is the clip's licence note, copied verbatim from the "
               "librosa example data. All are 22050 Hz mono Ogg Vorbis.", "",
               "| key | file | title | author | licence | source | sha256 |",
               "| --- | --- | --- | --- | --- | --- | --- |"]
    clip_info = {}
    for key, (stem, title, author, lic, lic_url, src) in CLIPS.items():
        for ext in (".ogg", ".txt"):
            shutil.copyfile(os.path.join(data, stem + ext), os.path.join(clips_dir, key + ext))
        ogg = os.path.join(clips_dir, key + ".ogg")
        credits.append(f"| {key} | `{key}.ogg` (was `{stem}.ogg`) | \"{title}\" | {author} | "
                       f"[{lic}]({lic_url}) | {src} | `{sha256(ogg)[:16]}…` |")
    credits += ["", "Attribution lines (CC BY 3.0 asks for these wherever the audio is used):", ""]
    for key, (stem, title, author, lic, lic_url, src) in CLIPS.items():
        credits.append(f"- `{key}.ogg`: \"{title}\" by {author}, {lic} ({lic_url}); source: {src}.")
    credits += ["",
                "The derived fixtures `../pcm/<key>.f32`, `../wav/vibeace_22050_mono.wav` and "
                "`../formats/*` (from `fishin`) are excerpts of these recordings under the same "
                "licences and credits.", ""]
    with open(os.path.join(clips_dir, "CREDITS.md"), "w") as f:
        f.write("\n".join(credits))

    # 2. PCM: middle 65536 samples of each clip
    pcm_rows = []
    for key in CLIPS:
        y, sr = librosa.load(os.path.join(clips_dir, key + ".ogg"), sr=SR, mono=True)
        assert sr == SR and y.dtype == np.float32
        start = (len(y) - N_PCM) // 2
        seg = y[start:start + N_PCM].astype("<f4")
        assert len(seg) == N_PCM
        seg.tofile(os.path.join(pcm_dir, key + ".f32"))
        clip_info[key] = (len(y), start)
        pcm_rows.append(f"| `{key}.f32` | clip `../clips/{key}.ogg`: {len(y)} samples decoded; "
                        f"offset = ({len(y)} - 65536) // 2 = {start} "
                        f"(= {start / SR:.6f} s) | {float(np.max(np.abs(seg))):.6f} |")
        print(f"pcm {key}: clip len {len(y)}, offset {start}")
    for key in SYNTH_DOC:
        x = synth(key)
        x.tofile(os.path.join(pcm_dir, key + ".f32"))
        pcm_rows.append(f"| `{key}.f32` | synthetic: {SYNTH_DOC[key]} | {float(np.max(np.abs(x))):.6f} |")

    readme = f"""# PCM fixtures

Each `<key>.f32` is raw little-endian IEEE float32, mono, 22050 Hz, **exactly 65536 samples**
(262144 bytes), no header. Read with `np.fromfile(path, dtype='<f4')` or
`f32::from_le_bytes` over 4-byte chunks.

Made by `tests/reference/gen_fixtures.py` (numpy {np.__version__}, scipy {scipy.__version__},
librosa {librosa.__version__}, soundfile {sf.__version__}, libsndfile {sf.__libsndfile_version__}).

**Clips**: `y, _ = librosa.load(clip, sr=22050, mono=True)` (the clips already are 22050 Hz mono,
so no resampling happens; libsndfile decodes the Vorbis to float32), then the middle excerpt
`y[start:start+65536]` with **`start = (len(y) - 65536) // 2`** (integer division).

**Synthetic signals**: computed in float64 with `n = 0..65535`, `t = n / 22050`, then cast to float32.

| file | content | peak abs |
| --- | --- | --- |
""" + "\n".join(pcm_rows) + "\n"
    with open(os.path.join(pcm_dir, "README.md"), "w") as f:
        f.write(readme)

    # 3. WAV for the browser end-to-end test: first 10.0 s of vibeace, 16-bit PCM
    y, _ = librosa.load(os.path.join(clips_dir, "vibeace.ogg"), sr=SR, mono=True)
    n_wav = int(round(WAV_SECONDS * SR))
    sf.write(os.path.join(wav_dir, "vibeace_22050_mono.wav"), y[:n_wav], SR,
             subtype="PCM_16", format="WAV")
    back, sr = sf.read(os.path.join(wav_dir, "vibeace_22050_mono.wav"), dtype="int16")
    assert sr == SR and len(back) == n_wav
    print(f"wav vibeace: {n_wav} samples, peak int16 {int(np.max(np.abs(back.astype(np.int32))))}")
    print("done")


if __name__ == "__main__":
    main()
