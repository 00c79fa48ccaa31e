#!/usr/bin/env python3
"""What people will check: `librosa.feature.mfcc(y=y, sr=22050)` with librosa's defaults on
the same 22050 Hz mono WAV that `ainrec features --frames` reads.

Writes tests/reference/features/wav_vibeace_mfcc.json (frames x 20, 7 significant digits),
read by tests/cli/features.rs. Run from the repository root with the pinned versions of
tests/reference/requirements.txt:

    python tests/reference/gen_cli_wav.py
"""
import json
import os

import librosa
import numpy as np
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WAV = os.path.join(ROOT, "tests/fixtures/wav/vibeace_22050_mono.wav")
OUT = os.path.join(ROOT, "tests/reference/features/wav_vibeace_mfcc.json")


def r7(v):
    return float("%.7g" % float(v))


def main():
    # librosa.load's own reading (soundfile, int16 / 32768 as float32), no resampling.
    y, sr = librosa.load(WAV, sr=None, mono=True)
    assert sr == 22050, sr
    mfcc = librosa.feature.mfcc(y=y, sr=22050)  # every other parameter at its default
    info = sf.info(WAV)
    out = {
        "file": "tests/fixtures/wav/vibeace_22050_mono.wav",
        "call": "librosa.feature.mfcc(y=librosa.load(file, sr=None)[0], sr=22050)",
        "wav": {"subtype": info.subtype, "frames": info.frames, "samplerate": info.samplerate},
        "versions": {"librosa": librosa.__version__, "numpy": np.__version__,
                     "soundfile": sf.__version__},
        "n_frames": int(mfcc.shape[1]),
        "mfcc": [[r7(v) for v in row] for row in mfcc.T],
    }
    with open(OUT, "w") as f:
        f.write("{\n" + ",\n".join(
            f"{json.dumps(k)}: " + (
                "[\n  " + ",\n  ".join(json.dumps(r, separators=(",", ":")) for r in v) + "\n]"
                if k == "mfcc" else json.dumps(v))
            for k, v in out.items()) + "\n}\n")
    print(f"{OUT}: {mfcc.shape[1]} frames")


if __name__ == "__main__":
    main()
