#!/usr/bin/env python3
"""What a template holds, as a tool that is not collate's reads it back.

Usage: template_readback.py FILE.xlsx   (openpyxl)
       template_readback.py FILE.ods    (LibreOffice's own file, from its content.xml)
Prints JSON: sheets and their visibility, whether sheets and the workbook's structure are protected, every
data validation (cell, type, formula, alert style, input message), the defined names, and which cells are
unlocked for input.
"""
import json
import sys
import zipfile
import xml.etree.ElementTree as ET


def xlsx_summary(path):
    import openpyxl

    workbook = openpyxl.load_workbook(path)
    sheets = []
    for sheet in workbook.worksheets:
        validations = []
        for validation in sheet.data_validations.dataValidation:
            validations.append({
                "cells": str(validation.sqref),
                "type": validation.type or "any",
                "formula": validation.formula1,
                "alert": validation.errorStyle or "stop",
                "input_title": validation.promptTitle,
                "input_message": validation.prompt,
            })
        unlocked = sorted(
            cell.coordinate
            for row in sheet.iter_rows()
            for cell in row
            if cell.protection is not None and cell.protection.locked is False
        )
        sheets.append({
            "name": sheet.title,
            "state": sheet.sheet_state,
            "protected": bool(sheet.protection.sheet),
            "validations": validations,
            "conditional_formats": sum(len(cf.rules) for cf in sheet.conditional_formatting),
            "unlocked_cells": unlocked,
        })
    return {
        "read_by": "openpyxl " + openpyxl.__version__,
        "structure_locked": bool(workbook.security and workbook.security.lockStructure),
        "defined_names": {name: dn.attr_text for name, dn in sorted(workbook.defined_names.items())},
        "sheets": sheets,
    }


TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"


def ods_summary(path):
    with zipfile.ZipFile(path) as archive:
        content = ET.fromstring(archive.read("content.xml"))
    t = lambda name: "{%s}%s" % (TABLE, name)
    validations = content.findall(".//" + t("content-validation"))
    names = content.findall(".//" + t("named-range"))
    body = content.find(".//{urn:oasis:names:tc:opendocument:xmlns:office:1.0}spreadsheet")
    sheets = []
    for table in content.findall(".//" + t("table")):
        sheets.append({
            "name": table.get(t("name")),
            "protected": table.get(t("protected")) == "true",
        })
    return {
        "read_by": "LibreOffice's content.xml",
        "structure_locked": body is not None and body.get(t("structure-protected")) == "true",
        "validations": len(validations),
        "validation_kinds": sorted({v.get(t("condition"), "").split("(")[0] for v in validations}),
        "defined_names": sorted(n.get(t("name")) for n in names),
        "sheets": sheets,
    }


def main():
    path = sys.argv[1]
    summary = ods_summary(path) if path.endswith(".ods") else xlsx_summary(path)
    json.dump(summary, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
