#!/usr/bin/env bash
# Compares what two builds of collate write from the same inboxes: the bundled sample installation and
# 1,000 generated returns (the pipeline benchmark's inbox). A redesign must keep every output the same:
# the dashboard and exceptions workbooks, every per-return report (JSON and workbook) and the inbox status.
#
# Usage: scripts/compare-outputs.sh BASE_REVISION [COUNT]
#   BASE_REVISION  the commit to compare against (e.g. the last one before a redesign)
#   COUNT          how many returns to generate (default 1000)
# Exit status 0 when every output is the same, 1 when any differs (each difference is listed; for
# workbooks, python3 with openpyxl, when present, shows the cells that differ). A workbook is the same
# when its bytes are, or when every part inside it is byte-identical and only the packing differs (a
# change of compression level): such workbooks are listed as "repacked".

set -euo pipefail
cd "$(dirname "$0")/.."
base="${1:?usage: scripts/compare-outputs.sh BASE_REVISION [COUNT]}"
count="${2:-1000}"
repo="$(pwd)"
work="$(mktemp -d)"
cleanup() {
  git -C "$repo" worktree remove --force "$work/base-source" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Each build in a target folder of its own: the two trees share file names, and cargo would take one
# build's output for the other's.
target="${CARGO_TARGET_DIR:-$HOME/.cache/collate-target}"
echo "building this tree and $base (a first build of $base takes a few minutes)"
CARGO_TARGET_DIR="$target" cargo build -q --bin collate
CARGO_TARGET_DIR="$target" cargo build -q --example generate_returns
git worktree add --detach -q "$work/base-source" "$base"
(cd "$work/base-source" && CARGO_TARGET_DIR="$target-compare-base" cargo build -q --bin collate)
current_bin="$target/debug/collate"
base_bin="$target-compare-base/debug/collate"

# The inputs, made once and copied with their file times (which decide the order returns arrive in).
mkdir -p "$work/inputs/sample" "$work/inputs/generated"
cp -a schemas inbox "$work/inputs/sample/"
rm -f "$work/inputs/sample/inbox/collate-status.txt"
rm -rf "$work/inputs/sample/inbox/set aside"
cp -a schemas "$work/inputs/generated/"
"$target/debug/examples/generate_returns" "$work/inputs/generated/inbox" "$count" >/dev/null

# Whether two workbooks hold the same parts, byte for byte, whatever their packing.
same_parts() {
  python3 - "$1" "$2" <<'PY'
import sys, zipfile
base, current = (zipfile.ZipFile(path) for path in sys.argv[1:3])
names = sorted(base.namelist())
same = names == sorted(current.namelist()) and all(base.read(n) == current.read(n) for n in names)
sys.exit(0 if same else 1)
PY
}

different=0
repacked=0
for case in sample generated; do
  for build in base current; do
    cp -a "$work/inputs/$case" "$work/$case-$build"
    bin_var="${build}_bin"
    # Exit status 1 means some returns were rejected: part of the comparison, not a failure.
    (cd "$work/$case-$build" && "${!bin_var}" run >/dev/null 2>&1) || [ $? -eq 1 ]
  done
  echo "== $case: outputs of $base against this tree"
  (cd "$work/$case-base" && find outbox inbox/collate-status.txt -type f | sort) >"$work/$case-base.files"
  (cd "$work/$case-current" && find outbox inbox/collate-status.txt -type f | sort) >"$work/$case-current.files"
  if ! diff -u "$work/$case-base.files" "$work/$case-current.files"; then
    echo "   the lists of files written differ"
    different=1
  fi
  files=0
  while IFS= read -r file; do
    files=$((files + 1))
    [ -f "$work/$case-current/$file" ] || continue
    if ! cmp -s "$work/$case-base/$file" "$work/$case-current/$file"; then
      if [[ "$file" == *.xlsx ]] && same_parts "$work/$case-base/$file" "$work/$case-current/$file"; then
        echo "   repacked: $file (every part the same)"
        repacked=$((repacked + 1))
        continue
      fi
      echo "   differs: $file"
      different=1
      case "$file" in
        *.xlsx) python3 scripts/compare-workbooks.py "$work/$case-base/$file" "$work/$case-current/$file" || true ;;
        *) diff -u "$work/$case-base/$file" "$work/$case-current/$file" | head -40 || true ;;
      esac
    fi
  done <"$work/$case-base.files"
  echo "   $files files compared"
done

if [ "$different" -eq 0 ] && [ "$repacked" -eq 0 ]; then
  echo "every output is byte-identical"
elif [ "$different" -eq 0 ]; then
  echo "every output is the same: byte-identical, or ($repacked workbooks) every part inside byte-identical"
else
  echo "outputs differ (listed above)"
fi
exit "$different"
