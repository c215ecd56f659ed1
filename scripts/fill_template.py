#!/usr/bin/env python3
"""Fills a template in the way another program would: by openpyxl, through the template's defined names.

Usage: fill_template.py TEMPLATE.xlsx OUT.xlsx VALUES.json
       fill_template.py --read RETURN.xlsx            (prints the named cells' values as VALUES.json)
VALUES.json maps a defined name (PSD1_complaints_QTR2) to the value to type there. openpyxl writes what
it is given, past any validation, and saves formulas without calculating them, as such programs do.
"""
import datetime
import json
import sys

import openpyxl


def named_cells(workbook):
    for name, defined in sorted(workbook.defined_names.items()):
        for sheet, coordinate in defined.destinations:
            yield name, workbook[sheet][coordinate.replace("$", "")]


def read(path):
    workbook = openpyxl.load_workbook(path)
    values = {}
    for name, cell in named_cells(workbook):
        value = cell.value
        if isinstance(value, (datetime.date, datetime.datetime)):
            value = {"date": value.strftime("%Y-%m-%d")}
        if value is not None and not (isinstance(value, str) and value.startswith("=")):
            values[name] = value
    json.dump(values, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")


def fill(template, out, values_path):
    with open(values_path, encoding="utf-8") as file:
        values = json.load(file)
    workbook = openpyxl.load_workbook(template)
    for name, cell in named_cells(workbook):
        if name in values:
            value = values[name]
            if isinstance(value, dict) and "date" in value:
                value = datetime.datetime.strptime(value["date"], "%Y-%m-%d")
            cell.value = value
    workbook.save(out)


if __name__ == "__main__":
    if sys.argv[1] == "--read":
        read(sys.argv[2])
    else:
        fill(sys.argv[1], sys.argv[2], sys.argv[3])
