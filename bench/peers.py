"""Native Python peers for `make bench` (docs/BENCHMARKS.md): librosa MFCC and kymatio
Scattering1D, timed on the SAME 30 s of samples as the Rust benchmarks.

Input: `target/bench/clip30.f32`, the little-endian float32 samples that
`benches/features.rs` decoded with ainrec's own decoder (symphonia) and wrote before
measuring — no second decoder is involved, so both sides see bit-identical samples.

Threads: library defaults, or BENCH_PEER_THREADS (see below).
Timing: wall time (`time.perf_counter`), best of N after one untimed warm-up call.
- librosa: `librosa.feature.mfcc(y=y, sr=22050)` (librosa's defaults: n_fft 2048, hop 512,
  128 mel bands, 20 coefficients, centred frames with zero padding). The warm-up absorbs
  numba/lazy-import costs; the mel filter bank is cached by librosa after the first call.
- kymatio: `kymatio.numpy.Scattering1D(J, shape=(n,), Q=8)` (numpy backend). The filter bank
  is built in the constructor, OUTSIDE the timed region; only `S(x)` is timed.

Usage: python bench/peers.py [clip.f32] [out.json]
Environment: BENCH_LIBROSA_N (default 20), BENCH_KYMATIO_N (default 3).
"""

import json
import os
import platform
import sys
import time

# Threads: numpy/scipy/numba defaults unless BENCH_PEER_THREADS is set (then BLAS, OpenMP and
# numba get that many), e.g. BENCH_PEER_THREADS=1 to match our single-threaded native code. On a
# loaded 2-core machine a multi-threaded OpenBLAS can spin-wait against other jobs.
THREADS = os.environ.get("BENCH_PEER_THREADS")
if THREADS:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = THREADS

import numpy as np  # noqa: E402 (after the thread settings)


def best_of(fn, n):
    fn()  # warm-up, untimed
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    clip = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "target/bench/clip30.f32")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "target/bench/peers.json")
    n_librosa = int(os.environ.get("BENCH_LIBROSA_N", "20"))
    n_kymatio = int(os.environ.get("BENCH_KYMATIO_N", "3"))

    y = np.fromfile(clip, dtype="<f4")
    sr = 22050
    import librosa
    import scipy
    import kymatio
    from kymatio.numpy import Scattering1D

    results = {
        "input": {"file": os.path.relpath(clip, root), "n_samples": int(y.size), "sample_rate": sr,
                  "source": "float32 samples written by benches/features.rs (ainrec decoder)"},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scipy": scipy.__version__, "librosa": librosa.__version__,
                     "kymatio": kymatio.__version__},
        "threads": int(THREADS) if THREADS else None,
        "benchmarks": {},
    }

    print(f"librosa {librosa.__version__}: mfcc, best of {n_librosa}", flush=True)
    times = best_of(lambda: librosa.feature.mfcc(y=y, sr=sr), n_librosa)
    m = librosa.feature.mfcc(y=y, sr=sr)
    results["benchmarks"]["librosa_mfcc"] = {
        "call": "librosa.feature.mfcc(y=y, sr=22050)", "best_s": min(times),
        "median_s": float(np.median(times)), "n": n_librosa, "output_shape": list(m.shape)}
    print(f"  best {min(times) * 1e3:.2f} ms", flush=True)

    for j in (8, 10):
        t0 = time.perf_counter()
        s = Scattering1D(J=j, shape=(y.size,), Q=8)
        build = time.perf_counter() - t0
        print(f"kymatio {kymatio.__version__}: Scattering1D J={j} Q=8 (bank built in {build:.1f} s, "
              f"not timed), best of {n_kymatio}", flush=True)
        times = best_of(lambda: s(y), n_kymatio)
        sx = s(y)
        results["benchmarks"][f"kymatio_scattering_j{j}"] = {
            "call": f"kymatio.numpy.Scattering1D(J={j}, shape=({y.size},), Q=8)(y)",
            "best_s": min(times), "median_s": float(np.median(times)), "n": n_kymatio,
            "filter_bank_build_s_untimed": build, "output_shape": list(sx.shape)}
        print(f"  best {min(times):.3f} s", flush=True)

    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
