#!/usr/bin/env bash
# Writes the bundled sample inbox (the seed dashboard's returns) and the test fixtures that a real office
# suite must make. Needs LibreOffice (Debian: libreoffice-calc-nogui) and, for the password-protected
# fixture, msoffcrypto-tool (pip), which encrypts a workbook the way Excel does.
# The outputs are committed; CI does not run this.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo run -q --example write_sample_inbox -- "$work/made"
convert() { # format, source file, destination
  soffice --headless --convert-to "$1" --outdir "$work/lo" "$work/made/$2" >/dev/null
  mv "$work/lo/${2%.*}.${1%%:*}" "$3"
}

# The inbox: most returns as this project writes them; four as LibreOffice saves them.
rm -f inbox/*.xlsx inbox/*.xls inbox/*.ods
cp "$work"/made/*.xlsx inbox/
rm "inbox/2020-21 Q2 L&D return.xlsx" "inbox/2020-21 Q1 HR return.xlsx"
convert ods "2020-21 Q2 L&D return.xlsx" "inbox/2020-21 Q2 L&D return.ods"
convert xls "2020-21 Q1 HR return.xlsx" "inbox/2020-21 Q1 HR return.xls"
convert "xlsx:Calc MS Excel 2007 XML" "2020-21 Q2 Finance return.xlsx" "inbox/2020-21 Q2 Finance return.xlsx"
convert "xlsx:Calc MS Excel 2007 XML" "2020-21 Q2 Strategic Development return.xlsx" \
  "inbox/2020-21 Q2 Strategic Development return.xlsx"

# Fixtures named after what they show.
convert ods "2020-21 Q2 PSD return.xlsx" tests/fixtures/libreoffice_psd_return.ods
convert xls "2020-21 Q2 PSD return.xlsx" tests/fixtures/libreoffice_psd_return.xls
convert "xlsx:Calc MS Excel 2007 XML" "2020-21 Q2 PSD return.xlsx" tests/fixtures/libreoffice_psd_return.xlsx
msoffcrypto-tool -e -p secret "$work/made/2020-21 Q2 PSD return.xlsx" tests/fixtures/password_protected_return.xlsx
ls -l inbox tests/fixtures
