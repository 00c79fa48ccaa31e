#!/usr/bin/env python3
"""Reference audio features for the Rust parity tests (librosa / Essentia / Kymatio).

Run inside the pinned reference venv (see tests/reference/README.md):

    /work/venv-ref/bin/python tests/reference/gen_features.py

Reads  tests/fixtures/pcm/<key>.f32   (raw little-endian float32, 65536 samples, 22050 Hz mono)
Writes tests/reference/features/<key>.json
       tests/reference/features/scattering/<key>_J<J>_Q<Q>.f32 / .json
       tests/reference/features/scattering/filters_J8_Q8_N16384.json

All computation is in float64 (the float32 PCM is cast with .astype(np.float64)), except that
librosa's mel filter bank is float32 (its default dtype, passed explicitly) and Essentia works in
float32 (each magnitude spectrum frame is cast to float32 before it goes in).
Deterministic: no randomness, single-threaded numerics give identical files on re-runs.
"""
import importlib.metadata
import json
import math
import os
import sys
import time

import numpy as np
import scipy
import librosa
import kymatio
from kymatio.numpy import Scattering1D
import essentia
import essentia.standard as es

essentia.log.infoActive = False
essentia.log.warningActive = True

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
PCM_DIR = os.path.join(REPO, "tests", "fixtures", "pcm")
OUT = os.path.join(HERE, "features")
OUT_SC = os.path.join(OUT, "scattering")

SIGNALS = ["brahms", "fishin", "nutcracker", "vibeace", "trumpet",
           "tone440", "chord_cmaj", "chirp", "noise", "impulses", "silence"]
SR = 22050
N_SAMPLES = 65536
STFT_FRAME = 10
SCAT_N = 16384
SCAT_CONFIGS = [(6, 8), (8, 8)]   # (J, Q) ; Q=8 -> Kymatio uses (Q1, Q2) = (8, 1)
FILTER_DUMP = ("brahms", 8, 8)

VERSIONS = {
    "numpy": np.__version__,
    "scipy": scipy.__version__,
    "librosa": librosa.__version__,
    "essentia": essentia.__version__,
    "essentia_dist": importlib.metadata.version("essentia"),
    "kymatio": kymatio.__version__,
    "python": sys.version.split()[0],
}

# ---------------------------------------------------------------- parameters (all explicit)
STFT_PARAMS = dict(n_fft=2048, hop_length=512, win_length=None, window="hann",
                   center=True, pad_mode="constant")
MEL_PARAMS = dict(sr=SR, n_fft=2048, hop_length=512, win_length=None, window="hann",
                  center=True, pad_mode="constant", power=2.0,
                  n_mels=128, fmin=0.0, fmax=None, htk=False, norm="slaney", dtype=np.float32)
POWER_TO_DB_PARAMS = dict(ref=1.0, amin=1e-10, top_db=80.0)
MFCC_PARAMS = dict(n_mfcc=20, dct_type=2, norm="ortho", lifter=0)
DELTA_PARAMS = dict(width=9, axis=-1, mode="interp")
HFC_PARAMS = dict(type="Masri", sampleRate=float(SR))
PEAKS_PARAMS = dict(magnitudeThreshold=0.0, maxFrequency=5000.0, maxPeaks=100,
                    minFrequency=40.0, orderBy="frequency", sampleRate=float(SR))
HPCP_PARAMS = dict(bandPreset=True, bandSplitFrequency=500.0, harmonics=0, maxFrequency=5000.0,
                   maxShifted=False, minFrequency=40.0, nonLinear=False, normalized="unitMax",
                   referenceFrequency=440.0, sampleRate=float(SR), size=12,
                   weightType="squaredCosine", windowSize=1.0)


def jsonable_params(d):
    out = {}
    for k, v in d.items():
        if isinstance(v, type) or (hasattr(v, "__name__") and k == "dtype"):
            v = np.dtype(v).name
        out[k] = v
    return out


def essentia_params(algo):
    """Every parameter of a configured Essentia algorithm, as Essentia reports it."""
    return {p: algo.paramValue(p) for p in sorted(algo.parameterNames())}


# ---------------------------------------------------------------- JSON writing
def r7(v):
    v = float(v)
    if math.isnan(v):
        return None
    if math.isinf(v):
        raise ValueError("inf in output")
    return float("%.7g" % v)


def f32exact(v):
    """Shortest decimal that round-trips the float32 value (9 significant digits suffice)."""
    v = float(np.float32(v))
    return float("%.9g" % v)


def nan_to_null(v):
    v = float(v)
    return None if math.isnan(v) else v


def dumps(obj):
    """JSON with one line per top-level key and one line per row of 2-D arrays."""
    parts = []
    for k, v in obj.items():
        if isinstance(v, list) and v and isinstance(v[0], list):
            rows = ",\n  ".join(json.dumps(r, separators=(",", ":")) for r in v)
            parts.append(f"{json.dumps(k)}: [\n  {rows}\n]")
        else:
            parts.append(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write_json(path, obj):
    with open(path, "w") as f:
        f.write(dumps(obj))


def load_pcm(key):
    x = np.fromfile(os.path.join(PCM_DIR, key + ".f32"), dtype="<f4")
    assert x.shape == (N_SAMPLES,), (key, x.shape)
    return x


# ---------------------------------------------------------------- frame features
def frame_features(key, algos):
    y32 = load_pcm(key)
    y = y32.astype(np.float64)

    # MFCC, step by step so that every parameter (including power_to_db's) is explicit
    mel = librosa.feature.melspectrogram(y=y, **MEL_PARAMS)                 # (128, T) power
    mel_db = librosa.power_to_db(mel, **POWER_TO_DB_PARAMS)                  # (128, T)
    mfcc = librosa.feature.mfcc(S=mel_db, **MFCC_PARAMS)                     # (20, T)
    # cross-check against librosa's one-call MFCC (same defaults for power_to_db)
    mp = dict(MEL_PARAMS)
    mel_norm = mp.pop("norm")
    mp.pop("sr")
    one_call = librosa.feature.mfcc(y=y, sr=SR, mel_norm=mel_norm, **MFCC_PARAMS, **mp)
    assert np.array_equal(one_call, mfcc), "step-by-step MFCC differs from librosa.feature.mfcc"
    d1 = librosa.feature.delta(mfcc, order=1, **DELTA_PARAMS)
    d2 = librosa.feature.delta(mfcc, order=2, **DELTA_PARAMS)

    S = np.abs(librosa.stft(y, **STFT_PARAMS))                               # (1025, T)
    n_frames = 1 + N_SAMPLES // STFT_PARAMS["hop_length"]
    assert S.shape == (1025, n_frames) and mfcc.shape == (20, n_frames), (S.shape, mfcc.shape)

    hfc, hpcp, n_peaks = [], [], []
    for t in range(n_frames):
        spec = S[:, t].astype(np.float32)
        hfc.append(float(algos["hfc"](spec)))
        freqs, mags = algos["peaks"](spec)
        n_peaks.append(int(len(freqs)))
        h = algos["hpcp"](freqs, mags)
        assert len(h) == 12
        hpcp.append([r7(v) for v in h])

    return {
        "signal": key,
        "n_samples": int(len(y32)),
        "sample_rate": SR,
        "n_frames": n_frames,
        "compute_dtype": "float64 (PCM float32 -> float64); mel filter bank float32; Essentia inputs float32",
        "params": {
            "stft": jsonable_params(STFT_PARAMS),
            "melspectrogram": jsonable_params(MEL_PARAMS),
            "power_to_db": POWER_TO_DB_PARAMS,
            "mfcc": MFCC_PARAMS,
            "delta": DELTA_PARAMS,
            "essentia_HFC": essentia_params(algos["hfc"]),
            "essentia_SpectralPeaks": essentia_params(algos["peaks"]),
            "essentia_HPCP": essentia_params(algos["hpcp"]),
            "stft_mag_frame_index": STFT_FRAME,
        },
        "versions": VERSIONS,
        "mfcc": [[r7(v) for v in row] for row in mfcc.T],
        "mfcc_delta": [[r7(v) for v in row] for row in d1.T],
        "mfcc_delta2": [[r7(v) for v in row] for row in d2.T],
        "hfc": [r7(v) for v in hfc],
        "hpcp": hpcp,
        "hpcp_n_peaks": n_peaks,
        "stft_mag_frame10": [r7(v) for v in S[:, STFT_FRAME]],
    }


# ---------------------------------------------------------------- scattering
def scattering_meta(sc):
    m = sc.meta()
    out = {"order": [int(o) for o in m["order"]]}
    for f in ("xi", "sigma", "j", "n"):
        out[f] = [[nan_to_null(v) for v in row] for row in np.asarray(m[f])]
    for f in ("j", "n"):
        out[f] = [[None if v is None else int(v) for v in row] for row in out[f]]
    out["key"] = [list(k) for k in m["key"]]
    return out


def scattering_config(sc):
    return {
        "J": sc.J, "Q": list(sc.Q), "T": sc.T, "N": SCAT_N, "max_order": sc.max_order,
        "average": sc.average, "oversampling": sc.oversampling, "out_type": sc.out_type,
        "log2_T": sc.log2_T, "N_padded": int(len(sc.phi_f["levels"][0])),
        "pad_left": sc.pad_left, "pad_right": sc.pad_right, "pad_mode": "reflect (numpy.pad mode='reflect')",
        "ind_start": {str(k): v for k, v in sc.ind_start.items()},
        "ind_end": {str(k): v for k, v in sc.ind_end.items()},
        "r_psi": sc.r_psi, "sigma0": sc.sigma0, "alpha": sc.alpha,
    }


def filter_dump(sc):
    def desc(f):
        return {"xi": float(f["xi"]), "sigma": float(f["sigma"]), "j": int(f["j"]),
                "n_levels": len(f["levels"])}
    return {
        "what": "Kymatio 0.3.0 Scattering1D filter bank in the Fourier domain (real-valued, "
                "length N_padded, FFT order: index k <-> k/N_padded cycles/sample for k < N_padded/2, "
                "negative frequencies above). levels[0] is the full-resolution filter; levels[l] "
                "(l >= 1) = levels[0].reshape(2^l, N_padded/2^l).mean(axis=0) (periodisation by MEAN, "
                "not sum) and is used on signals already subsampled by 2^l. Each filter is normalised "
                "so that sum(|ifft(filter)|) = 1 (unit L1 norm in time). Values below are float64 "
                "filters rounded to float32.",
        "J": sc.J, "Q": list(sc.Q), "T": sc.T, "N": SCAT_N,
        "config": scattering_config(sc),
        "versions": VERSIONS,
        "psi1": [desc(f) for f in sc.psi1_f],
        "psi2": [desc(f) for f in sc.psi2_f],
        "phi": {"xi": float(sc.phi_f["xi"]), "sigma": float(sc.phi_f["sigma"]),
                "j": int(sc.phi_f["j"]), "n_levels": len(sc.phi_f["levels"])},
        "psi1_0_level0_f32": [f32exact(v) for v in np.real(sc.psi1_f[0]["levels"][0])],
        "psi2_0_level0_f32": [f32exact(v) for v in np.real(sc.psi2_f[0]["levels"][0])],
        "phi_level0_f32": [f32exact(v) for v in np.real(sc.phi_f["levels"][0])],
    }


def main():
    print("versions:", json.dumps(VERSIONS))
    os.makedirs(OUT_SC, exist_ok=True)
    t0 = time.time()

    algos = {
        "hfc": es.HFC(**HFC_PARAMS),
        "peaks": es.SpectralPeaks(**PEAKS_PARAMS),
        "hpcp": es.HPCP(**HPCP_PARAMS),
    }
    # Essentia must report back exactly what we passed (no silent renames/defaults)
    for name, params in (("hfc", HFC_PARAMS), ("peaks", PEAKS_PARAMS), ("hpcp", HPCP_PARAMS)):
        got = essentia_params(algos[name])
        assert set(got) == set(params), (name, sorted(set(got) ^ set(params)))
        for k, v in params.items():
            assert got[k] == v, (name, k, got[k], v)

    for key in SIGNALS:
        feats = frame_features(key, algos)
        write_json(os.path.join(OUT, key + ".json"), feats)
        print(f"{key}: {feats['n_frames']} frames, mfcc c0 range "
              f"[{min(r[0] for r in feats['mfcc']):.3f}, {max(r[0] for r in feats['mfcc']):.3f}]")

    for J, Q in SCAT_CONFIGS:
        tb = time.time()
        sc = Scattering1D(J=J, shape=SCAT_N, Q=Q, max_order=2)   # T defaults to 2**J
        print(f"Scattering1D J={J} Q={Q} -> Q used {sc.Q}, T={sc.T}, built in {time.time() - tb:.2f}s")
        meta = scattering_meta(sc)
        conf = scattering_config(sc)
        for key in SIGNALS:
            x = load_pcm(key)[:SCAT_N].astype(np.float64)
            Sx = sc(x)
            assert Sx.ndim == 2 and Sx.shape[0] == len(meta["order"]), Sx.shape
            assert np.all(np.isfinite(Sx))
            base = os.path.join(OUT_SC, f"{key}_J{J}_Q{Q}")
            Sx.astype("<f4").tofile(base + ".f32")
            counts = {o: meta["order"].count(o) for o in (0, 1, 2)}
            write_json(base + ".json", {
                "signal": key,
                "input": f"first {SCAT_N} samples of tests/fixtures/pcm/{key}.f32, as float64",
                "shape": list(Sx.shape),
                "dtype": "float32 little-endian, row-major (n_coeffs rows, n_time columns); computed in float64",
                "J": J, "Q": list(sc.Q), "Q_arg": Q, "T": sc.T, "N": SCAT_N, "max_order": 2,
                "n_coeffs_per_order": [counts[0], counts[1], counts[2]],
                "config": conf,
                "versions": VERSIONS,
                "meta": meta,
            })
            if (key, J, Q) == FILTER_DUMP:
                write_json(os.path.join(OUT_SC, f"filters_J{J}_Q{Q}_N{SCAT_N}.json"), filter_dump(sc))
        print(f"  J={J} Q={Q}: shape {Sx.shape}, per order {counts}")

    print(f"done in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
