#!/usr/bin/env python3
"""musicnn MSD_musicnn: checkpoint -> safetensors, 16 kHz fixtures, reference outputs.

Run inside the pinned musicnn venv (see tests/reference/musicnn/README.md):

    python3 -m venv /work/venv-musicnn
    /work/venv-musicnn/bin/pip install --no-deps -r tests/reference/requirements-musicnn-lock.txt
    # (--no-deps: musicnn 0.1.0's metadata asks for numpy<1.17 and TF1; it works with
    #  numpy 1.26 + TF 2.15 through tf.compat.v1)

    # from the repo root
    /work/venv-musicnn/bin/python tests/reference/gen_musicnn.py --fixtures [--shared ../shared]
    /work/venv-musicnn/bin/python tests/reference/gen_musicnn.py            # convert + reference
    /work/venv-musicnn/bin/python tests/reference/gen_musicnn.py --bench    # TF timings only

Steps:

  --fixtures  tests/fixtures/pcm16k/<key>.f32 (+ README.md, CREDITS.md) from the
              librosa clips in tests/fixtures/clips/ and two CC BY tracks of
              ../shared/data/audio/. The only step that reads ../shared.
  (default)   tests/reference/musicnn/musicnn_msd_f32.safetensors (+ .LICENSE) from the
              installed musicnn package's checkpoint, then the shipped f16 copy (--f16),
              then tests/reference/musicnn/* from the committed pcm16k fixtures only.
              Asserts that numpy_forward() (written only against the f32 file) matches
              TensorFlow.
  --f16       models/musicnn_msd.safetensors (+ .LICENSE): the f32 file's tensors rounded
              to float16 (round to nearest even), same names and metadata plus
              "storage": "f16"; no TensorFlow needed. The page and the CLI ship this one
              (0.92 MB gzip instead of 2.98); the Rust tests hold the f32 file to the
              parity tolerances and this one to its own (tests/model/musicnn.rs).
  --bench     TF forward time on a batch of 10 patches (no files written).

Deterministic: re-running gives byte-identical files (checked).
"""
import argparse
import hashlib
import json
import os
import platform
import sys
import time

import warnings

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")  # tf.compat.v1.layers deprecation warnings
# TF1 graph mode; musicnn does `import tensorflow as tf` and uses tf.compat.v1.*
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()
tf.logging.set_verbosity(tf.logging.ERROR)
sys.modules["tensorflow"] = tf

import musicnn  # noqa: E402
from musicnn import configuration as config  # noqa: E402
from musicnn import models as mn_models  # noqa: E402
import librosa  # noqa: E402
import soundfile as sf  # noqa: E402
import safetensors  # noqa: E402
import safetensors.numpy  # noqa: E402
import soxr  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLIPS_DIR = os.path.join(REPO, "tests", "fixtures", "clips")
PCM_DIR = os.path.join(REPO, "tests", "fixtures", "pcm16k")
REF_DIR = os.path.join(REPO, "tests", "reference", "musicnn")
MODEL_PATH = os.path.join(REPO, "tests", "reference", "musicnn", "musicnn_msd_f32.safetensors")
LICENSE_PATH = os.path.join(REPO, "tests", "reference", "musicnn", "musicnn_msd_f32.LICENSE")
SHIPPED_PATH = os.path.join(REPO, "models", "musicnn_msd.safetensors")
SHIPPED_LICENSE_PATH = os.path.join(REPO, "models", "musicnn_msd.LICENSE")
CKPT = os.path.join(os.path.dirname(musicnn.__file__), "MSD_musicnn") + "/"
MODEL = "MSD_musicnn"

SR = config.SR  # 16000
N_SAMPLES = 96000  # 6 s -> 376 frames -> 2 patches of 187
N_FRAMES = 187  # librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
LABELS = list(config.MSD_LABELS)
LAYERS_KEY = "trumpet"
TOL = 1e-4

# The five librosa clips (credits in tests/fixtures/clips/CREDITS.md)
CLIP_KEYS = ["brahms", "fishin", "nutcracker", "vibeace", "trumpet"]
# Two CC BY tracks of ../shared/data/audio (columns from its catalog.csv)
CC_TRACKS = {
    "hotswing": "kevin_macleod-hot_swing.mp3",
    "originz": "kevin_macleod-for_originz.ogg",
}
KEYS = CLIP_KEYS + list(CC_TRACKS)

MEL_KW = dict(sr=SR, hop_length=config.FFT_HOP, n_fft=config.FFT_SIZE, n_mels=config.N_MELS)
INPUT_RULE = "log10(1 + 10000 * float16(melpower))"
INPUT_RULE_DETAIL = (
    "as musicnn's batch_data under numpy 1.26: h = melpower.astype(float16) (round to nearest-even "
    "half); then 10000 * h is computed in FLOAT32 (numpy 1.x value-based casting: the Python int "
    "10000 -> uint16, and float16 x uint16 -> float32), so input = log10(10000 * float32(h) + 1) in "
    "float32. (Under numpy >= 2, NEP 50, the same code would stay in float16.)"
)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def r7(v):
    return float("%.7g" % v)


def r7list(a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return r7(a)
    return [r7list(x) for x in a] if a.ndim > 1 else [r7(x) for x in a]


def versions():
    import scipy
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__ if hasattr(tf, "__version__") else __import__("tensorflow").__version__,
        "musicnn": "0.1.0",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "librosa": librosa.__version__,
        "soxr": soxr.__version__,
        "soundfile": sf.__version__,
        "libsndfile": sf.__libsndfile_version__,
        "safetensors": safetensors.__version__,
    }


# ---------------------------------------------------------------- fixtures

def load_middle(path):
    y, sr = librosa.load(path, sr=SR)  # mono, res_type='soxr_hq'
    assert sr == SR and y.dtype == np.float32
    n = len(y)
    if n < N_SAMPLES:  # trumpet: 5.33 s at 16 kHz -> the whole clip, then zeros
        return np.concatenate([y, np.zeros(N_SAMPLES - n, np.float32)]), n, 0, sf.info(path)
    off = (n - N_SAMPLES) // 2
    return y[off:off + N_SAMPLES].copy(), n, off, sf.info(path)


def make_fixtures(shared):
    import csv
    audio = os.path.join(shared, "data", "audio")
    catalog = {r["file"]: r for r in csv.DictReader(open(os.path.join(audio, "catalog.csv"), newline=""))}
    os.makedirs(PCM_DIR, exist_ok=True)
    rows = []
    for key in KEYS:
        if key in CC_TRACKS:
            src = os.path.join(audio, CC_TRACKS[key])
            shown = "`../shared/data/audio/%s`" % CC_TRACKS[key]
        else:
            src = os.path.join(CLIPS_DIR, key + ".ogg")
            shown = "`../clips/%s.ogg`" % key
        y, n, off, info = load_middle(src)
        y.astype("<f4").tofile(os.path.join(PCM_DIR, key + ".f32"))
        rows.append((key, shown, info, n, off, float(np.max(np.abs(y))), sha256(src)))
        print("fixture %-10s %s: %d Hz %d ch, %d samples at 16 kHz, offset %d, peak %.6f"
              % (key, os.path.basename(src), info.samplerate, info.channels, n, off, rows[-1][5]))

    v = versions()
    lines = [
        "# 16 kHz PCM fixtures (musicnn)",
        "",
        "Each `<key>.f32` is raw little-endian IEEE float32, mono, 16000 Hz, **exactly %d samples**" % N_SAMPLES,
        "(%d bytes, 6 s), no header: 376 mel frames at hop 256 (`center=True`), i.e. two" % (4 * N_SAMPLES),
        "non-overlapping musicnn patches of 187 frames (frames 0..186 and 187..373).",
        "",
        "Made by `tests/reference/gen_musicnn.py --fixtures` (librosa %s, soxr %s, soundfile %s," % (
            v["librosa"], v["soxr"], v["soundfile"]),
        "libsndfile %s, numpy %s):" % (v["libsndfile"], v["numpy"]),
        "`y, _ = librosa.load(src, sr=16000)` (mono by averaging the channels, resampled with",
        "librosa's default `res_type='soxr_hq'`; libsndfile decodes Ogg Vorbis and MP3), then the middle",
        "excerpt `y[start:start+%d]` with **`start = (len(y) - %d) // 2`**; a source shorter than" % (N_SAMPLES, N_SAMPLES),
        "that (only `trumpet`: 85335 samples = 5.33 s) is taken whole and **zero-padded at the end** to %d" % N_SAMPLES,
        "samples (its last 10665 samples are 0.0; mel frames 333..375 overlap them, i.e. only patch 1 sees them).",
        "Nothing is clipped: `hotswing` peaks above 1.0 because libsndfile's MP3 decoder already returns",
        "samples up to 1.48 for that file (1885 of them beyond ±1 at 44.1 kHz).",
        "Credits: `CREDITS.md` (the five clips: `../clips/CREDITS.md`).",
        "",
        "| file | source | source format | samples at 16 kHz | offset (s) | peak abs | source sha256 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, shown, info, n, off, peak, h in rows:
        offs = "%d (%.6f)" % (off, off / SR) if n >= N_SAMPLES else "0, zero-padded %d" % (N_SAMPLES - n)
        lines.append("| `%s.f32` | %s | %d Hz, %d ch, %s | %d | %s | %.6f | `%s` |" % (
            key, shown, info.samplerate, info.channels, info.format, n, offs, peak, h))
    lines.append("")
    with open(os.path.join(PCM_DIR, "README.md"), "w") as f:
        f.write("\n".join(lines))

    cr = [
        "# Credits for the 16 kHz PCM fixtures",
        "",
        "`brahms`, `fishin`, `nutcracker`, `vibeace`, `trumpet` are excerpts of the librosa example clips:",
        "see `../clips/CREDITS.md` (same licences and attribution lines).",
        "",
        "The other two are excerpts of Creative Commons tracks kept in `shared/data/audio/`"
        " (metadata from its `catalog.csv`).",
        "",
        "| key | source file | title | author | licence | genre (catalog) | where the file came from | sha256 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    attr = []
    for key, fname in CC_TRACKS.items():
        r = catalog[fname]
        lic = r["license"]
        assert lic.startswith("CC-BY-") and "SA" not in lic, (fname, lic)
        ver = lic.split("-")[2]
        url = "https://creativecommons.org/licenses/by/%s/" % ver
        lic_s = "[CC BY %s](%s)" % (ver, url)
        where = "GitHub `%s` at `%s`, commit `%s`" % (r["source_repo"], r["source_path"], r["commit"][:12])
        cr.append("| %s | `%s` | \"%s\" | %s | %s | %s | %s | `%s…` |" % (
            key, fname, r["title"], r["artist"], lic_s, r["genre"], where,
            sha256(os.path.join(audio, fname))[:16]))
        attr.append("- `%s.f32`: \"%s\" by %s (incompetech.com), CC BY %s (%s); excerpt (6 s from the middle, "
                    "resampled to 16 kHz mono) of `%s`." % (key, r["title"], r["artist"], ver, url, fname))
    cr += ["", "Licence evidence (from `catalog.csv`):", ""]
    for key, fname in CC_TRACKS.items():
        cr.append("- `%s`: %s" % (fname, catalog[fname]["evidence"]))
    cr += ["", "Attribution lines (CC BY asks for these wherever the audio is used):", ""] + attr + [""]
    with open(os.path.join(PCM_DIR, "CREDITS.md"), "w") as f:
        f.write("\n".join(cr))


# ---------------------------------------------------------------- TF graph

def build_graph():
    """The graph exactly as musicnn.extractor.extractor builds it (plus handles)."""
    tf.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.placeholder(tf.float32, [None, N_FRAMES, config.N_MELS])
        is_training = tf.placeholder(tf.bool)
        (y, timbral, temporal, cnn1, cnn2, cnn3, mean_pool, max_pool,
         penultimate) = mn_models.define_model(x, is_training, MODEL, len(LABELS))
        normalized_y = tf.nn.sigmoid(y)
    t = dict(x=x, is_training=is_training, logits=y, taggram=normalized_y, timbral=timbral,
             temporal=temporal, cnn1=cnn1, cnn2=cnn2, cnn3=cnn3, mean_pool=mean_pool,
             max_pool=max_pool, penultimate=penultimate)
    return t


def upstream_vars(tensor):
    """Names of all variables the tensor depends on (walks op inputs)."""
    seen, stack, out = set(), [tensor.op], set()
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        if op.type in ("VariableV2", "VarHandleOp"):
            out.add(op.name)
        stack.extend(i.op for i in op.inputs)
        stack.extend(op.control_inputs)
    return out


def derive_mapping(t):
    """TF variable -> our name, from the graph structure (not creation order).

    Each layer's variables = the variables upstream of the layer's output minus those
    upstream of its input; within a layer, conv/dense vs BN is told by the variable's
    own name (kernel/bias vs gamma/beta/moving_*), and by which op consumes it.
    """
    g = tf.get_default_graph()
    front_concat = g.get_operation_by_name("model/concat")  # frontend_features
    f74, f77, s1, s2, s3 = list(front_concat.inputs)[:5]
    assert [int(i.shape[-1]) for i in (f74, f77, s1, s2, s3)] == [204, 204, 51, 51, 51]
    # the timbral/temporal handles returned by the model are concat(f74,f77) / concat(s1,s2,s3)
    assert list(t["timbral"].op.inputs)[:2] == [f74, f77]
    assert list(t["temporal"].op.inputs)[:3] == [s1, s2, s3]
    U = upstream_vars
    input_bn = U(f74) & U(f77) & U(s1) & U(s2) & U(s3)
    front_all = U(front_concat.outputs[0])
    mid_concat = t["cnn3"]  # res_conv3
    midend_all = U(mid_concat)
    dense_relu = g.get_tensor_by_name("model/dense/Relu:0")
    assert dense_relu in [i for op in dense_relu.consumers() for i in op.inputs]
    pool_dense = U(dense_relu) - midend_all
    # the BN on the flattened pool: the one whose variables feed dense_relu but not the mid-end
    layers = {
        "input_bn": input_bn,
        "timbral_74": U(f74) - input_bn,
        "timbral_77": U(f77) - input_bn,
        "temporal_128": U(s1) - input_bn,
        "temporal_64": U(s2) - input_bn,
        "temporal_32": U(s3) - input_bn,
        "midend_1": U(t["cnn1"]) - front_all,
        "midend_2": U(t["cnn2"]) - U(t["cnn1"]),
        "midend_3": U(t["cnn3"]) - U(t["cnn2"]),
        "backend.pool_and_dense": pool_dense,
        "backend.dense_bn": U(t["penultimate"]) - U(dense_relu),
        "backend.logits": U(t["logits"]) - U(t["penultimate"]),
    }
    assert midend_all == front_all | layers["midend_1"] | layers["midend_2"] | layers["midend_3"]
    # which op consumes each variable (through its /read identity)
    consumer = {}
    for op in g.get_operations():
        for i in op.inputs:
            if i.op.type == "Identity" and i.op.inputs[0].op.type == "VariableV2":
                consumer.setdefault(i.op.inputs[0].op.name, set()).add(op.type)
    mapping = {}
    bn_fields = ("gamma", "beta", "moving_mean", "moving_variance")
    for lname, vs in layers.items():
        for v in sorted(vs):
            field = v.split("/")[-1]
            if lname == "input_bn":
                ours = "input_bn." + field
            elif lname == "backend.dense_bn":
                ours = "backend.dense_bn." + field
            elif lname == "backend.logits":
                ours = "backend.logits." + field
            elif lname == "backend.pool_and_dense":
                ours = ("backend.pool_bn." if field in bn_fields else "backend.dense.") + field
            else:
                ours = "%s.%s.%s" % (lname, "bn" if field in bn_fields else "conv", field)
            assert field in bn_fields + ("kernel", "bias"), v
            mapping[v] = ours
    for lname, vs in layers.items():
        print("layer %-24s %s" % (lname, sorted(vs))) if os.environ.get("MUSICNN_DEBUG") else None
    assert len(mapping) == 64 == len(set(mapping.values())), (len(mapping), len(set(mapping.values())))
    # cross-check kinds: kernels go into Conv2D/MatMul, BN params into a BN op (or the cond Switch)
    for v, ours in mapping.items():
        kinds = consumer.get(v, set())
        if ours.endswith(".kernel"):
            assert kinds & {"Conv2D", "MatMul"}, (v, kinds)
        if ours.endswith(".bias"):
            assert "BiasAdd" in kinds, (v, kinds)
    return mapping


def bn_epsilons():
    """epsilon of every BN in the graph: FusedBatchNormV3 attr, or the const added in batchnorm/add."""
    g = tf.get_default_graph()
    eps = {}
    for op in g.get_operations():
        if op.type.startswith("FusedBatchNorm"):
            eps[op.name.split("/")[1]] = op.get_attr("epsilon")
        elif op.name.endswith("batchnorm/add") and op.type in ("AddV2", "Add"):
            c = op.inputs[1].op
            assert c.type == "Const"
            eps.setdefault(op.name.split("/")[1], float(tf.make_ndarray(c.get_attr("value"))))
    return eps


def graph_facts():
    """Assert the layout facts numpy_forward relies on, read from the graph."""
    g = tf.get_default_graph()
    const = lambda tn: tf.make_ndarray(tn.op.get_attr("value")).tolist()  # noqa: E731
    pads = {op.name: const(op.inputs[1]) for op in g.get_operations() if op.type == "Pad"}
    assert len(pads) == 4 and all(p == [[0, 0], [3, 3], [0, 0], [0, 0]] for p in pads.values()), pads
    convs = {op.name.split("/")[1]: (op.get_attr("padding").decode(), op.inputs[0].op.name,
                                     op.inputs[1].shape.as_list()) for op in g.get_operations()
             if op.type == "Conv2D"}
    for name, (pad, src, kshape) in convs.items():
        same = kshape[1] == 1  # the temporal convs
        assert pad == ("SAME" if same else "VALID"), (name, pad)
        assert src.startswith("model/Pad") != same, (name, src)
    c2 = g.get_operation_by_name("model/concat_2")  # concat([max_pool, mean_pool], 2)
    assert const(c2.inputs[2]) == 2
    assert [i.op.name for i in c2.inputs[:2]] == ["model/Max", "model/moments/Squeeze"]
    assert [i.shape.as_list() for i in c2.inputs[:2]] == [[None, 753, 1]] * 2
    assert g.get_operation_by_name("model/flatten/Reshape").outputs[0].shape.as_list() == [None, 1506]
    for name in ("model/concat", "model/concat_1"):
        assert const(g.get_operation_by_name(name).inputs[-1]) == 2
    print("graph: 4 Pad ops [[0,0],[3,3],[0,0],[0,0]]; temporal convs SAME, others VALID on padded input; "
          "backend concat([max [B,753,1], mean [B,753,1]], axis 2) -> flatten [B,1506] (interleaved)")


def tf_session(t, **cfg):
    sess = tf.Session(config=tf.ConfigProto(**cfg)) if cfg else tf.Session()
    sess.run(tf.global_variables_initializer())
    tf.train.Saver().restore(sess, CKPT)
    return sess


# ---------------------------------------------------------------- conversion

BN = ("gamma", "beta", "moving_mean", "moving_variance")


def write_safetensors(path, tensors, metadata, dtype="<f4"):
    """Minimal deterministic safetensors writer (sorted names, header padded to 8 bytes)."""
    header, blobs, off = {}, [], 0
    tag = {"<f4": "F32", "<f2": "F16"}[dtype]
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype=dtype)
        b = a.tobytes()
        header[name] = {"dtype": tag, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = metadata
    hb = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(len(hb).to_bytes(8, "little"))
        f.write(hb)
        for b in blobs:
            f.write(b)


def convert():
    t = build_graph()
    mapping = derive_mapping(t)
    graph_facts()
    eps = bn_epsilons()
    assert len(eps) == 11 and all(abs(e - 1e-3) < 1e-9 for e in eps.values()), eps
    reader = tf.train.NewCheckpointReader(CKPT)
    shapes = reader.get_variable_to_shape_map()
    non_adam = sorted(k for k in shapes if "Adam" not in k and k not in ("beta1_power", "beta2_power"))
    assert sorted(mapping) == non_adam, set(non_adam) ^ set(mapping)
    tensors = {}
    for v, ours in mapping.items():
        a = reader.get_tensor(v)
        assert a.dtype == np.float32
        tensors[ours] = a
    n_params = sum(a.size for a in tensors.values())
    metadata = {
        "tags": json.dumps(LABELS),
        "source": "musicnn 0.1.0 MSD_musicnn, Pons & Serra 2019",
        "licence": "ISC, see the .LICENSE file beside this one",
        "bn_epsilon": "0.001",
        "sample_rate": str(SR),
        "n_fft": str(config.FFT_SIZE),
        "hop": str(config.FFT_HOP),
        "n_mels": str(config.N_MELS),
        "patch_frames": str(N_FRAMES),
        "layout": "conv kernel [kh=time, kw=mel or channels, in, out]; dense kernel [in, out]; TF layouts kept",
        "converted_by": "tests/reference/gen_musicnn.py",
    }
    write_safetensors(MODEL_PATH, tensors, metadata)
    back = safetensors.numpy.load_file(MODEL_PATH)
    assert sorted(back) == sorted(tensors) and all(np.array_equal(back[k], tensors[k]) for k in back)
    with safetensors.safe_open(MODEL_PATH, "np") as f:
        assert f.metadata() == metadata
    write_licence(LICENSE_PATH, os.path.relpath(MODEL_PATH, REPO), "float32, as in the checkpoint")
    print("wrote %s: %d tensors, %d parameters, %d bytes" % (
        os.path.relpath(MODEL_PATH, REPO), len(tensors), n_params, os.path.getsize(MODEL_PATH)))
    print("BN epsilons:", sorted(set(eps.values())))
    print("\n| TF variable | ours | shape |\n| --- | --- | --- |")
    for v in sorted(mapping, key=lambda k: mapping[k]):
        print("| `%s` | `%s` | %s |" % (v, mapping[v], list(shapes[v])))
    return t, mapping


def write_licence(path, weights, storage):
    """The ISC notice of musicnn beside a weight file (verbatim from the installed package)."""
    lic = open(os.path.join(os.path.dirname(musicnn.__file__), "..", "musicnn-0.1.0.dist-info",
                            "LICENSE.md")).read()
    with open(path, "w") as f:
        f.write("%s holds the weights of musicnn 0.1.0's MSD_musicnn model (Pons & Serra 2019), "
                "converted from its TF1 checkpoint by tests/reference/gen_musicnn.py (%s); "
                "the musicnn licence (ISC, verbatim from musicnn-0.1.0.dist-info/LICENSE.md) follows.\n\n"
                % (weights, storage))
        f.write(lic)


def write_f16():
    """The shipped copy: the f32 file's tensors as float16 (numpy's astype: round to nearest
    even; every weight is far inside float16's range, checked), same metadata + storage."""
    tensors = safetensors.numpy.load_file(MODEL_PATH)
    with safetensors.safe_open(MODEL_PATH, "np") as f:
        metadata = dict(f.metadata())
    worst = 0.0
    for name, a in tensors.items():
        h = a.astype(np.float16)
        assert np.all(np.isfinite(h)), name
        worst = max(worst, float(np.max(np.abs(h.astype(np.float32) - a) / np.maximum(np.abs(a), 6.1e-5))))
    metadata["storage"] = "f16 (rounded from %s)" % os.path.relpath(MODEL_PATH, REPO)
    write_safetensors(SHIPPED_PATH, tensors, metadata, dtype="<f2")
    write_licence(SHIPPED_LICENSE_PATH, os.path.relpath(SHIPPED_PATH, REPO),
                  "rounded to float16 from the float32 checkpoint values")
    import gzip
    raw = open(SHIPPED_PATH, "rb").read()
    print("wrote %s: %d bytes, %d gzip -9; worst relative rounding %.2e" % (
        os.path.relpath(SHIPPED_PATH, REPO), len(raw), len(gzip.compress(raw, 9)), worst))


# ---------------------------------------------------------------- numpy forward (the spec)

def numpy_forward(w, patch, dtype=np.float64, layers=False):
    """musicnn MSD forward pass on one patch [187][96] of network input (log-mel).

    Written only against models/musicnn_msd.safetensors and our tensor names.
    Returns dict(taggram[50], logits[50], penultimate[200]) (+ intermediates if layers).
    """
    W = {k: np.asarray(v, dtype=dtype) for k, v in w.items()}
    eps = dtype(0.001)
    T = patch.shape[0]
    x = np.asarray(patch, dtype=dtype)  # [T, 96]

    def bn(v, p):  # inference batch norm over the last axis
        return (v - W[p + ".moving_mean"]) / np.sqrt(W[p + ".moving_variance"] + eps) * W[p + ".gamma"] + W[p + ".beta"]

    def relu(v):
        return np.maximum(v, 0)

    def conv_time_full(inp, k, b, pad_before, pad_after):
        """inp [T, F] (one input channel), kernel [kh, kw, 1, C]: valid along mel (kw), padded
        along time with zeros; returns [T, F - kw + 1, C]."""
        kh, kw, cin, C = k.shape
        assert cin == 1
        p = np.concatenate([np.zeros((pad_before, inp.shape[1]), dtype), inp,
                            np.zeros((pad_after, inp.shape[1]), dtype)], axis=0)
        Tout = p.shape[0] - kh + 1
        Fout = inp.shape[1] - kw + 1
        # im2col: [Tout, Fout, kh*kw]
        cols = np.empty((Tout, Fout, kh, kw), dtype)
        for i in range(kh):
            for j in range(kw):
                cols[:, :, i, j] = p[i:i + Tout, j:j + Fout]
        return cols.reshape(Tout, Fout, kh * kw) @ k.reshape(kh * kw, C) + b

    x = bn(x[:, :, None], "input_bn")[:, :, 0]  # [T, 96] (one channel)

    front = []
    for name in ("timbral_74", "timbral_77"):
        k = W[name + ".conv.kernel"]  # [7, 38|67, 1, 204]
        h = relu(conv_time_full(x, k, W[name + ".conv.bias"], 3, 3))  # explicit pad 3/3 then 'valid'
        h = bn(h, name + ".bn")  # BN after relu, before the pool
        front.append(h.max(axis=1))  # max over the whole mel axis -> [T, 204]
    for name in ("temporal_128", "temporal_64", "temporal_32"):
        k = W[name + ".conv.kernel"]  # [kh, 1, 1, 51]
        kh = k.shape[0]
        h = relu(conv_time_full(x, k, W[name + ".conv.bias"], (kh - 1) // 2, kh // 2))  # TF 'same'
        h = bn(h, name + ".bn")
        front.append(h.max(axis=1))  # [T, 51]
    frontend = np.concatenate(front, axis=1)  # [T, 561] = f74 | f77 | s128 | s64 | s32

    def midend_conv(inp, name):  # inp [T, C]: kernel [7, C, 1, 64] spans all channels
        h = relu(conv_time_full(inp, W[name + ".conv.kernel"], W[name + ".conv.bias"], 3, 3)[:, 0, :])
        return bn(h, name + ".bn")  # [T, 64]

    m1 = midend_conv(frontend, "midend_1")
    m2 = midend_conv(m1, "midend_2") + m1
    m3 = midend_conv(m2, "midend_3") + m2
    mid = np.concatenate([frontend, m1, m2, m3], axis=1)  # [T, 753]

    max_pool = mid.max(axis=0)  # [753]
    mean_pool = mid.mean(axis=0)  # [753]
    flat = np.stack([max_pool, mean_pool], axis=1).reshape(-1)  # [1506] = max0, mean0, max1, mean1, ...
    h = bn(flat, "backend.pool_bn")
    h = relu(h @ W["backend.dense.kernel"] + W["backend.dense.bias"])
    penultimate = bn(h, "backend.dense_bn")  # [200]
    logits = penultimate @ W["backend.logits.kernel"] + W["backend.logits.bias"]
    out = dict(taggram=1 / (1 + np.exp(-logits)), logits=logits, penultimate=penultimate)
    if layers:
        out.update(timbral=np.concatenate(front[:2], axis=1), temporal=np.concatenate(front[2:], axis=1),
                   cnn1=m1, cnn2=m2, cnn3=m3, mean_pool=mean_pool, max_pool=max_pool)
    return out


# ---------------------------------------------------------------- reference outputs

def batch_data_from_pcm(audio):
    """musicnn.extractor.batch_data after librosa.load (input_overlap=False: overlap = n_frames)."""
    melpower = librosa.feature.melspectrogram(y=audio, **MEL_KW).T
    audio_rep = melpower.astype(np.float16)
    audio_rep = np.log10(10000 * audio_rep + 1)
    assert audio_rep.dtype == np.float32  # see INPUT_RULE_DETAIL
    n_frames = overlap = N_FRAMES
    first = True
    last_frame = audio_rep.shape[0] - n_frames + 1
    for time_stamp in range(0, last_frame, overlap):
        patch = np.expand_dims(audio_rep[time_stamp: time_stamp + n_frames, :], axis=0)
        if first:
            batch = patch
            first = False
        else:
            batch = np.concatenate((batch, patch), axis=0)
    return batch, audio_rep, melpower


def mel_params():
    import inspect
    sig = {k: v.default for k, v in inspect.signature(librosa.feature.melspectrogram).parameters.items()
           if v.default is not inspect.Parameter.empty}
    fsig = {k: v.default for k, v in inspect.signature(librosa.filters.mel).parameters.items()
            if v.default is not inspect.Parameter.empty}
    p = dict(MEL_KW)
    p.update(win_length=sig["win_length"] or config.FFT_SIZE, window=sig["window"], center=sig["center"],
             pad_mode=sig["pad_mode"], power=sig["power"],
             mel_fmin=fsig["fmin"], mel_fmax=SR / 2 if fsig["fmax"] is None else fsig["fmax"],
             mel_htk=fsig["htk"], mel_norm=fsig["norm"], mel_dtype=np.dtype(fsig["dtype"]).name)
    return p


def reference():
    t = build_graph()
    sess = tf_session(t)
    W = safetensors.numpy.load_file(MODEL_PATH)
    os.makedirs(REF_DIR, exist_ok=True)
    fetch = [t[k] for k in ("taggram", "logits", "penultimate", "timbral", "temporal", "cnn1", "cnn2",
                            "cnn3", "mean_pool", "max_pool")]
    names = ["taggram", "logits", "penultimate", "timbral", "temporal", "cnn1", "cnn2", "cnn3",
             "mean_pool", "max_pool"]
    mp = mel_params()
    print("mel params:", mp)
    maxdiff = {}
    summary = []
    for key in KEYS:
        audio = np.fromfile(os.path.join(PCM_DIR, key + ".f32"), dtype="<f4")
        assert audio.shape == (N_SAMPLES,)
        batch, audio_rep, melpower = batch_data_from_pcm(audio)
        assert melpower.dtype == np.float32 and melpower.shape == (376, 96), melpower.shape
        assert batch.shape == (2, N_FRAMES, 96)
        n_inf = int(np.isinf(audio_rep).sum())
        melpower.astype("<f4").tofile(os.path.join(REF_DIR, key + "_melpower.f32"))
        # as extractor: batches of config.BATCH_SIZE (= 1), is_training False
        outs = []
        for i in range(0, batch.shape[0], config.BATCH_SIZE):
            r = sess.run(fetch, feed_dict={t["x"]: batch[i:i + config.BATCH_SIZE], t["is_training"]: False})
            outs.append(dict(zip(names, r)))
        tfo = {k: np.concatenate([o[k] for o in outs], axis=0) for k in names}
        for p in range(batch.shape[0]):
            for dt in (np.float64, np.float32):
                nf = numpy_forward(W, batch[p].astype(np.float32), dtype=dt, layers=True)
                for k in ("taggram", "penultimate", "logits", "timbral", "temporal", "cnn1", "cnn2", "cnn3",
                          "mean_pool", "max_pool"):
                    ref = np.squeeze(tfo[k][p])
                    d = float(np.max(np.abs(nf[k] - ref)))
                    kk = (np.dtype(dt).name, k)
                    maxdiff[kk] = max(maxdiff.get(kk, 0.0), d)
                    kr = kk + ("max|TF|",)
                    maxdiff[kr] = max(maxdiff.get(kr, 0.0), float(np.max(np.abs(ref))))
                    if k in ("taggram", "penultimate"):
                        assert d < TOL, (key, p, dt, k, d)
        doc = {
            "key": key,
            "samples": N_SAMPLES,
            "sample_rate": SR,
            "frames": int(melpower.shape[0]),
            "patches": int(batch.shape[0]),
            "patch_frames": N_FRAMES,
            "patch_starts": list(range(0, melpower.shape[0] - N_FRAMES + 1, N_FRAMES)),
            "input": INPUT_RULE,
            "input_detail": INPUT_RULE_DETAIL,
            "input_inf_count": n_inf,
            "melpower_file": key + "_melpower.f32",
            "mel_params": mp,
            "tags": LABELS,
            "taggram": r7list(tfo["taggram"]),
            "penultimate": r7list(tfo["penultimate"]),
            "logits": r7list(tfo["logits"]),
        }
        with open(os.path.join(REF_DIR, key + ".json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        mean = tfo["taggram"].mean(axis=0)
        top = np.argsort(-mean, kind="stable")[:3]
        summary.append((key, [(LABELS[i], float(mean[i])) for i in top]))
        if key == LAYERS_KEY:
            # big [frame][channel] maps go raw (float32 LE, exact, concatenated in this order) to
            # <key>_patch0_layers.f32; the JSON holds their index and the small vectors (7 digits)
            lay = {"key": key, "patch": 0, "frames": "0..186 of the 376", "input": INPUT_RULE,
                   "note": "TF activations of patch 0, squeezed as musicnn's extractor returns them; "
                           "maps are [frame][channel], row-major",
                   "f32_file": key + "_patch0_layers.f32", "f32_arrays": []}
            off, blobs = 0, []
            for k in ("timbral", "temporal", "cnn1", "cnn2", "cnn3"):
                a = np.ascontiguousarray(np.squeeze(tfo[k][0]), dtype="<f4")
                lay["f32_arrays"].append({"name": k, "shape": list(a.shape), "offset_floats": off})
                off += a.size
                blobs.append(a.tobytes())
            with open(os.path.join(REF_DIR, key + "_patch0_layers.f32"), "wb") as f:
                f.write(b"".join(blobs))
            for k in ("mean_pool", "max_pool", "penultimate", "logits"):
                lay[k] = r7list(np.squeeze(tfo[k][0]))
            lay["taggram"] = r7list(tfo["taggram"][0])
            with open(os.path.join(REF_DIR, key + "_patch0_layers.json"), "w") as f:
                json.dump(lay, f, indent=1)
                f.write("\n")
        print("ref %-10s inf inputs %d, top3 %s" % (key, n_inf, ", ".join("%s %.4f" % x for x in summary[-1][1])))
    sess.close()
    print("\nmax |numpy - TF| over all patches of all fixtures:")
    for (dt, k), d in sorted((k, v) for k, v in maxdiff.items() if len(k) == 2):
        print("  %-8s %-12s %.3g   (max |TF value| %.4g)" % (dt, k, d, maxdiff[(dt, k, "max|TF|")]))
    print("\n| key | top 1 | top 2 | top 3 |\n| --- | --- | --- | --- |")
    for key, top in summary:
        print("| %s | %s |" % (key, " | ".join("%s %.3f" % x for x in top)))
    return maxdiff


def check_extractor():
    """Run musicnn's own extractor() on one fixture (written as a 16 kHz float WAV) and compare."""
    import tempfile
    from musicnn import extractor as mx
    audio = np.fromfile(os.path.join(PCM_DIR, LAYERS_KEY + ".f32"), dtype="<f4")
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "x.wav")
        sf.write(p, audio, SR, subtype="FLOAT")
        taggram, labels, feats = mx.extractor(p, model=MODEL, input_length=3, input_overlap=False,
                                              extract_features=True)
    ref = json.load(open(os.path.join(REF_DIR, LAYERS_KEY + ".json")))
    assert labels == LABELS
    d1 = np.max(np.abs(taggram - np.array(ref["taggram"])))
    # patch 0 only: with BATCH_SIZE = 1 the installed extractor's loop over the later batches
    # unpacks into `backend_` / `midend*_` but concatenates the stale `penultimate_` / `cnn*_`
    # of batch 0, so its features (not its taggram) repeat patch 0 for every later patch.
    d2 = np.max(np.abs(feats["penultimate"][0] - np.array(ref["penultimate"][0])))
    dup = np.array_equal(feats["penultimate"][0], feats["penultimate"][1])
    print("musicnn.extractor.extractor on %s: taggram %s, max diff vs our JSON %.3g (taggram), %.3g (penultimate "
          "patch 0); extractor's penultimate patch 1 == patch 0: %s" % (LAYERS_KEY, taggram.shape, d1, d2, dup))
    assert d1 < 1e-6 and d2 < 1e-5


def bench():
    import statistics
    t = build_graph()
    xs = []
    for key in KEYS[:5]:
        audio = np.fromfile(os.path.join(PCM_DIR, key + ".f32"), dtype="<f4")
        xs.append(batch_data_from_pcm(audio)[0])
    x10 = np.concatenate(xs, axis=0).astype(np.float32)[:10]
    assert x10.shape == (10, N_FRAMES, 96)
    for label, cfg in (("1 thread (intra=1, inter=1)", dict(intra_op_parallelism_threads=1,
                                                             inter_op_parallelism_threads=1)),
                       ("TF defaults", {})):
        sess = tf_session(t, **cfg)
        fd = {t["x"]: x10, t["is_training"]: False}
        for _ in range(3):
            sess.run(t["taggram"], feed_dict=fd)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            sess.run(t["taggram"], feed_dict=fd)
            times.append(time.perf_counter() - t0)
        sess.close()
        print("TF forward, batch of 10 patches 187x96, %s: median %.1f ms (runs: %s)" % (
            label, 1000 * statistics.median(times), ", ".join("%.1f" % (1000 * v) for v in times)))
    print("uptime:", os.popen("uptime").read().strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", action="store_true", help="make tests/fixtures/pcm16k (needs --shared)")
    ap.add_argument("--shared", default=os.path.join(REPO, "..", "shared"))
    ap.add_argument("--bench", action="store_true", help="TF timings only")
    ap.add_argument("--f16", action="store_true", help="the shipped f16 copy of the f32 weights only")
    a = ap.parse_args()
    print("versions:", json.dumps(versions()))
    t0 = time.perf_counter()
    if a.fixtures:
        make_fixtures(a.shared)
    elif a.bench:
        bench()
    elif a.f16:
        write_f16()
    else:
        convert()
        write_f16()
        reference()
        check_extractor()
    print("runtime %.1f s" % (time.perf_counter() - t0))


if __name__ == "__main__":
    main()
