#!/usr/bin/env bash
# Prints the outputs of the sample installation to PDF with a real office suite, as the owner and the
# board would print them, and says how many pages each sheet took and at what scale.
# Needs LibreOffice (Debian: libreoffice-calc-nogui) and poppler-utils. CI does not run this.
#   scripts/print-outputs.sh [OUT]   (default OUT: target/printed)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-target/printed}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build -q --bin collate
collate=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/collate
mkdir -p "$work/install/inbox" "$out"
cp -r schemas "$work/install/"
cp -p inbox/*.xlsx inbox/*.xls inbox/*.ods "$work/install/inbox/"
(cd "$work/install" && "$collate" -q run) || true

report="$work/install/outbox/returns/2020-21 Q2 PSD return.xlsx.exceptions.xlsx"
for file in "$work/install/outbox/dashboard.xlsx" "$work/install/outbox/exceptions.xlsx" "$report"; do
  soffice --headless --convert-to pdf --outdir "$out" "$file" >/dev/null 2>&1
done
for pdf in "$out"/*.pdf; do
  echo "$(basename "$pdf"): $(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}') pages, $(pdfinfo "$pdf" | awk '/^Page size:/ {print $3 "x" $5 " pt"}')"
done
# The scale each page printed at, from the height of its words: 11-point text in LibreOffice's stand-in
# for Calibri stands about 10.4 points tall at 100 %. The board's pages should not go below about 60 %.
for pdf in "$out"/*.pdf; do
  pdftotext -bbox "$pdf" "$work/words.html"
  python3 - "$pdf" "$work/words.html" <<'PY'
import re, statistics, sys, os
pages = open(sys.argv[2]).read().split("<page ")[1:]
for number, page in enumerate(pages, 1):
    heights = [float(b) - float(a) for a, b in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', page)]
    words = re.findall(r'>([^<]+)</word>', page)
    scale = statistics.median(heights) / 10.4 * 100 if heights else 0
    first = " ".join(words[:8])
    mark = "  <-- small" if heights and scale < 60 else ""
    print(f"{os.path.basename(sys.argv[1])} page {number}: about {scale:.0f} %: {first[:70]}{mark}")
PY
done
echo "PDFs in $out"
