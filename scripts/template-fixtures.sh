#!/usr/bin/env bash
# Regenerates the fixtures that prove the templates `collate template` writes keep their guards when a
# tool that is not ours reads them, and that a template filled in by another program is accepted:
#   tests/fixtures/templates/psd-quarterly.xlsx                   the template as collate writes it
#   …/psd-quarterly.openpyxl.json                                 its validations, protection, names (openpyxl)
#   …/psd-quarterly.libreoffice.ods, ….libreoffice.json           re-saved by LibreOffice, read from content.xml
#   …/delivery-plan-2018-19.openpyxl.json                         a plan update template, read by openpyxl
#   …/psd-2020-21-q2-values.json                                  the sample PSD Q2 figures, by defined name
#   …/psd-q2-filled-by-openpyxl.xlsx                              the template filled in by openpyxl
#   …/psd-q2-filled-by-openpyxl-saved-by-libreoffice.xlsx         that file opened and saved by LibreOffice
#   …/psd-q2-typed-past-validation-by-openpyxl.xlsx               -3 complaints, which Excel would refuse
# Needs LibreOffice (Debian: libreoffice-calc-nogui) and openpyxl (pip). The outputs are committed; CI
# checks that today's template is byte for byte the one they prove.
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/fixtures/templates
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

cargo build -q --bin collate
collate="${CARGO_TARGET_DIR:-target}/debug/collate"
"$collate" --schemas schemas template psd-quarterly --out "$out/psd-quarterly.xlsx" >/dev/null
"$collate" --schemas schemas --store "$work/store" template delivery-plan-2018-19 --department SD --period "Aug 18" \
  --out "$work/delivery-plan-2018-19.xlsx" >/dev/null

python3 scripts/template_readback.py "$out/psd-quarterly.xlsx" >"$out/psd-quarterly.openpyxl.json"
python3 scripts/template_readback.py "$work/delivery-plan-2018-19.xlsx" \
  >"$out/delivery-plan-2018-19.openpyxl.json"
soffice --headless --convert-to ods --outdir "$work" "$out/psd-quarterly.xlsx" >/dev/null
cp "$work/psd-quarterly.ods" "$out/psd-quarterly.libreoffice.ods"
python3 scripts/template_readback.py "$out/psd-quarterly.libreoffice.ods" >"$out/psd-quarterly.libreoffice.json"

# The sample PSD return's figures, read through its names, with the period a department would type.
python3 scripts/fill_template.py --read "inbox/2020-21 Q2 PSD return.xlsx" \
  | python3 -c 'import json,sys; v=json.load(sys.stdin); v.update(collate_financial_year="2020/21", collate_quarter="QTR 2"); json.dump(v, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False); print()' \
  >"$out/psd-2020-21-q2-values.json"
python3 scripts/fill_template.py "$out/psd-quarterly.xlsx" "$out/psd-q2-filled-by-openpyxl.xlsx" \
  "$out/psd-2020-21-q2-values.json"
cp "$out/psd-q2-filled-by-openpyxl.xlsx" "$work/psd-q2-filled-by-openpyxl-saved-by-libreoffice.xlsx"
mkdir -p "$work/lo"
soffice --headless --convert-to "xlsx:Calc MS Excel 2007 XML" --outdir "$work/lo" \
  "$work/psd-q2-filled-by-openpyxl-saved-by-libreoffice.xlsx" >/dev/null
cp "$work/lo/psd-q2-filled-by-openpyxl-saved-by-libreoffice.xlsx" "$out/"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); v["PSD1_complaints_QTR2"]=-3; json.dump(v, open(sys.argv[2],"w"))' \
  "$out/psd-2020-21-q2-values.json" "$work/past.json"
python3 scripts/fill_template.py "$out/psd-quarterly.xlsx" "$out/psd-q2-typed-past-validation-by-openpyxl.xlsx" \
  "$work/past.json"
ls -l "$out"
