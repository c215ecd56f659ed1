#!/usr/bin/env python3
"""Shows the cells that differ between two workbooks (sheet, cell, both values): what
scripts/compare-outputs.sh prints when two builds wrote workbooks that are not byte-identical.
An independent reader (openpyxl) so that the comparison does not trust collate's own."""
import sys

try:
    import openpyxl
except ImportError:
    print("   (install openpyxl to see which cells differ)")
    sys.exit(0)

SHOWN = 20


def cells(path):
    book = openpyxl.load_workbook(path, read_only=True)
    return {
        sheet.title: {
            (row_number, column_number): value
            for row_number, row in enumerate(sheet.iter_rows(values_only=True), 1)
            for column_number, value in enumerate(row, 1)
            if value is not None
        }
        for sheet in book.worksheets
    }


def main(before, after):
    old, new = cells(before), cells(after)
    if list(old) != list(new):
        print(f"   sheets: {list(old)} -> {list(new)}")
    shown = 0
    for sheet in old.keys() & new.keys():
        for key in sorted(old[sheet].keys() | new[sheet].keys()):
            if old[sheet].get(key) != new[sheet].get(key) and shown < SHOWN:
                cell = openpyxl.utils.get_column_letter(key[1]) + str(key[0])
                print(f"   {sheet}!{cell}: {old[sheet].get(key)!r} -> {new[sheet].get(key)!r}")
                shown += 1
    if shown == 0:
        print("   same sheets and cell values (the difference is in formatting or layout)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
