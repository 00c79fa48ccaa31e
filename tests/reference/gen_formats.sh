#!/usr/bin/env bash
# Make tests/fixtures/formats/: one short excerpt of tests/fixtures/clips/fishin.ogg in six
# container/codec combinations plus three bad files, and a README.md recording the ffmpeg version
# and what ffprobe says about each file.
#
# Needs ffmpeg + ffprobe (Debian: apt-get install -y ffmpeg) and python3 (plain, no venv needed).
# Only a developer regenerating fixtures needs this; tests and CI only read the committed files.
#
#   bash tests/reference/gen_formats.sh
#
# Why 1.0 s and not ~6 s: d.wav must be 44.1 kHz stereo 16-bit (so that resampling and mixdown
# are exercised) and every file must stay <= 200 KB; 44100 Hz * 2 ch * 2 B = 176,400 B per second.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
src="$repo/tests/fixtures/clips/fishin.ogg"
out="$repo/tests/fixtures/formats"
START=30.0        # seconds into fishin.ogg
DUR=1.0           # seconds
mkdir -p "$out"
cd "$out"
rm -f a.mp3 b.ogg c.flac d.wav e.m4a f.opus broken.mp3 empty.wav notaudio.mp3

FF=(ffmpeg -hide_banner -loglevel error -nostdin -y)
TITLE="Let's Go Fishin' (1 s excerpt)"
ARTIST="Karissa Hobbs"
# Tags on the compressed files (exercise tag reading); -bitexact keeps encoder version strings out.
TAGS=(-map_metadata -1 -metadata "title=$TITLE" -metadata "artist=$ARTIST"
      -metadata "comment=CC BY 3.0, tests/fixtures/clips/CREDITS.md")
BITEXACT=(-fflags +bitexact -flags:a +bitexact)

# d.wav: the master. 22050 Hz mono Vorbis -> 44100 Hz (ffmpeg swresample default) ->
# stereo with L = x, R = 0.5*x (so channel averaging is observable: (L+R)/2 = 0.75*x) -> s16.
"${FF[@]}" -ss "$START" -t "$DUR" -i "$src" -map 0:a:0 \
  -af "aresample=44100,pan=stereo|c0=c0|c1=0.5*c0" \
  -c:a pcm_s16le -ar 44100 -ac 2 -map_metadata -1 "${BITEXACT[@]}" d.wav

# Everything else is encoded from d.wav, so all formats hold the same audio.
"${FF[@]}" -i d.wav -c:a libmp3lame -b:a 128k -id3v2_version 3 "${TAGS[@]}" "${BITEXACT[@]}" a.mp3
"${FF[@]}" -i d.wav -c:a libvorbis -q:a 4 "${TAGS[@]}" "${BITEXACT[@]}" b.ogg
"${FF[@]}" -i d.wav -c:a flac -compression_level 8 "${TAGS[@]}" "${BITEXACT[@]}" c.flac
"${FF[@]}" -i d.wav -c:a aac -profile:a aac_low -b:a 128k "${TAGS[@]}" "${BITEXACT[@]}" \
  -movflags +faststart e.m4a
"${FF[@]}" -i d.wav -c:a libopus -b:a 96k "${TAGS[@]}" "${BITEXACT[@]}" f.opus

# Bad files.
# broken.mp3: the first choice was head -c 3000 a.mp3 + 3000 zero bytes, but a 3000-byte MP3 prefix
# still holds several whole MPEG frames, so decoders get audio from it (checked below). Instead:
# 4000 bytes from a seeded generator with every byte in 0x00..0xFE. With no 0xFF byte there can be
# no MPEG frame sync (11 set bits), no ID3 tag ("ID3") is at the start, so no decoder can find a frame.
python3 - <<'EOF'
import random
rng = random.Random(20240601)
data = bytes(rng.randrange(0, 255) for _ in range(4000))   # 0..254, never 0xFF
assert b"\xff" not in data and not data.startswith(b"ID3")
open("broken.mp3", "wb").write(data)
EOF
: > empty.wav
printf 'This is not an audio file.\nIt is plain UTF-8 text named notaudio.mp3, used to test that\nthe decoder rejects it with a clear error instead of panicking.\n' > notaudio.mp3

# Check the rejected alternative really decodes (to justify the choice above).
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
{ head -c 3000 a.mp3; head -c 3000 /dev/zero; } > "$tmp/trunc.mp3"
trunc_samples="$(ffmpeg -hide_banner -loglevel quiet -nostdin -i "$tmp/trunc.mp3" -f s16le -ac 1 - 2>/dev/null | wc -c)"
trunc_samples=$((trunc_samples / 2))
broken_rc=0; broken_err="$(ffmpeg -hide_banner -nostdin -i broken.mp3 -f null - 2>&1 | tail -1)" || broken_rc=$?
notaudio_err="$(ffmpeg -hide_banner -nostdin -i notaudio.mp3 -f null - 2>&1 | tail -1)" || true
empty_err="$(ffmpeg -hide_banner -nostdin -i empty.wav -f null - 2>&1 | tail -1)" || true

probe() {
  ffprobe -v error -select_streams a:0 \
    -show_entries stream=codec_name,profile,sample_rate,channels,sample_fmt,duration,duration_ts,time_base \
    -show_entries format=format_name,duration -of compact=nk=0 "$1" 2>&1 | tr '\n' ' '
}
decoded_frames() {  # samples per channel ffmpeg decodes (at the file's own rate)
  local b; b="$(ffmpeg -hide_banner -loglevel quiet -nostdin -i "$1" -f s16le -ac 1 - | wc -c)"; echo $((b / 2))
}

{
  echo "# Format fixtures"
  echo
  echo "Made by \`tests/reference/gen_formats.sh\` with:"
  echo
  echo '```'
  ffmpeg -version | head -1
  ffmpeg -version | grep -E '^lib(avcodec|avformat|swresample) '
  echo '```'
  echo
  echo "All six audio files hold the **same 1.0 s excerpt** of \`../clips/fishin.ogg\` (\"Let's Go Fishin'\""
  echo "by Karissa Hobbs, CC BY 3.0, see \`../clips/CREDITS.md\`), taken from ${START} s to $(python3 -c "print($START+$DUR)") s"
  echo "(\`ffmpeg -ss $START -t $DUR\` on the 22050 Hz mono Vorbis), resampled to 44100 Hz by ffmpeg's"
  echo "default swresample, turned into **stereo with L = x, R = 0.5·x** (a mixdown by channel average"
  echo "gives 0.75·x; taking the left channel gives x), stored as 16-bit PCM in \`d.wav\`. Every other"
  echo "file is encoded from \`d.wav\`. Compressed files carry tags title=\"$TITLE\","
  echo "artist=\"$ARTIST\", comment=\"CC BY 3.0, tests/fixtures/clips/CREDITS.md\"; \`d.wav\` has no tags."
  echo
  echo "Why 1.0 s: \`d.wav\` at 44.1 kHz stereo 16-bit costs 176,400 B/s and each file must stay ≤ 200 KB."
  echo
  echo "| file | size (B) | what | ffprobe | samples/ch decoded by ffmpeg |"
  echo "| --- | --- | --- | --- | --- |"
  for f in a.mp3 b.ogg c.flac d.wav e.m4a f.opus; do
    case $f in
      a.mp3) what="MPEG-1 Layer III, LAME CBR 128 kb/s, ID3v2.3 tag (expect encoder delay/padding; a Xing/LAME header frame)";;
      b.ogg) what="Ogg Vorbis, libvorbis -q:a 4";;
      c.flac) what="FLAC, 16-bit, compression level 8, Vorbis comments";;
      d.wav) what="RIFF WAVE, PCM s16le, 44100 Hz, 2 ch (the master)";;
      e.m4a) what="MP4/M4A, AAC-LC (ffmpeg native encoder) 128 kb/s, faststart (moov first)";;
      f.opus) what="Ogg Opus (libopus 96 kb/s, 48 kHz internal). Our decoder is expected to REJECT it with a clear 'unsupported codec' error";;
    esac
    echo "| \`$f\` | $(stat -c %s "$f") | $what | \`$(probe "$f")\` | $(decoded_frames "$f") |"
  done
  echo "| \`broken.mp3\` | $(stat -c %s broken.mp3) | 4000 pseudo-random bytes (Python \`random.Random(20240601)\`, each byte \`randrange(0, 255)\`, so never 0xFF: no MPEG sync word can occur). Must fail to decode. ffmpeg says: \`$broken_err\` | - | - |"
  echo "| \`empty.wav\` | 0 | empty file. ffmpeg says: \`$empty_err\` | - | - |"
  echo "| \`notaudio.mp3\` | $(stat -c %s notaudio.mp3) | plain text with an .mp3 name. ffmpeg says: \`$notaudio_err\` | - | - |"
  echo
  echo "Rejected alternative for \`broken.mp3\`: the first 3000 bytes of \`a.mp3\` + 3000 zero bytes still"
  echo "decodes (ffmpeg got ${trunc_samples} samples out of it), so it is not genuinely undecodable."
  echo
  echo "Note on lengths: d.wav and c.flac hold exactly 44100 frames per channel. Lossy codecs add"
  echo "encoder delay and padding; the last column shows what ffmpeg outputs after the trimming it"
  echo "does from container/LAME-tag information (MP3: LAME gapless info; Vorbis: granule positions;"
  echo "Opus: pre-skip and end granule; AAC in MP4: ffmpeg 5.1 outputs whole 1024-sample frames here)."
  echo "A decoder test should allow a few thousand samples of slack for the lossy files and compare"
  echo "content after alignment (e.g. cross-correlation), not sample-for-sample."
} > README.md

ls -l "$out"
