#!/usr/bin/env bash
# Build large PDFs from the corpus for `daa bench pdf-fleet`: four manuals joined with
# pdfunite (poppler-utils, installed by scripts/deps.sh) into one 887-page document, and
# the same four manuals three times over into a 2,661-page one (each copy with objects
# of its own: as much work as a 2,661-page book). pdfunite writes no object streams; when
# Python's pikepdf is importable, a copy of each with object streams (as pdfTeX, Word and
# most current writers produce) is written too.
#   scripts/large-pdf.sh [OUT_DIR]   (default: target/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${DAA_CORPUS:-../shared/corpus/pdf}
out=${1:-target/bench}
mkdir -p "$out"
manuals=("$corpus/doxygen_manual.pdf" "$corpus/debian-reference.en.pdf"
  "$corpus/glpk.pdf" "$corpus/R-intro.pdf")
pdfunite "${manuals[@]}" "$out/large.pdf"
pdfunite "${manuals[@]}" "${manuals[@]}" "${manuals[@]}" "$out/larger.pdf"
for f in large larger; do
  echo "$out/$f.pdf: $(pdfinfo "$out/$f.pdf" | awk '/^Pages:/ {print $2}') pages, no object streams"
done
if python3 -c 'import pikepdf' 2>/dev/null; then
  for f in large larger; do
    python3 - "$out/$f.pdf" "$out/$f-objstm.pdf" <<'PY'
import sys, pikepdf
with pikepdf.open(sys.argv[1]) as pdf:
    pdf.save(sys.argv[2], object_stream_mode=pikepdf.ObjectStreamMode.generate)
PY
    echo "$out/$f-objstm.pdf: the same with object streams"
  done
else
  echo "(pip install pikepdf for copies with object streams)"
fi
