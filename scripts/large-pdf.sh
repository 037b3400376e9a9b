#!/usr/bin/env bash
# Build a large PDF from the corpus for `daa bench pdf-fleet`: four manuals joined with
# pdfunite (poppler-utils, installed by scripts/deps.sh) into one 887-page document.
# pdfunite writes no object streams; when Python's pikepdf is importable, a second copy
# with object streams (as pdfTeX, Word and most current writers produce) is written too.
#   scripts/large-pdf.sh [OUT_DIR]   (default: target/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${DAA_CORPUS:-../shared/corpus/pdf}
out=${1:-target/bench}
mkdir -p "$out"
pdfunite "$corpus/doxygen_manual.pdf" "$corpus/debian-reference.en.pdf" \
  "$corpus/glpk.pdf" "$corpus/R-intro.pdf" "$out/large.pdf"
echo "$out/large.pdf: $(pdfinfo "$out/large.pdf" | awk '/^Pages:/ {print $2}') pages, no object streams"
if python3 -c 'import pikepdf' 2>/dev/null; then
  python3 - "$out/large.pdf" "$out/large-objstm.pdf" <<'PY'
import sys, pikepdf
with pikepdf.open(sys.argv[1]) as pdf:
    pdf.save(sys.argv[2], object_stream_mode=pikepdf.ObjectStreamMode.generate)
PY
  echo "$out/large-objstm.pdf: the same with object streams"
else
  echo "(pip install pikepdf for a copy with object streams)"
fi
