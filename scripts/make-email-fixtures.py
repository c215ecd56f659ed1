#!/usr/bin/env python3
"""Writes the email fixtures in tests/fixtures/emails/ with Python's own `email` package, an independent
mail library: each department's sample returns as the email it would send, and messages that test the
edges (a forwarded return, a PDF only).

Usage: scripts/make-email-fixtures.py      (from the repository; reads inbox/, writes tests/fixtures/emails/)
The outputs are committed; CI only reads them.
"""
import mimetypes
import pathlib
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr

ROOT = pathlib.Path(__file__).resolve().parent.parent
INBOX = ROOT / "inbox"
OUT = ROOT / "tests" / "fixtures" / "emails"

# Each department's returns and updates, by a word of the sample file names, with who sends them.
SENDERS = [
    ("Corporate Communications", "Corporate Comms Team", "corporate.comms@example.police.uk"),
    ("Finance", "Finance Business Partner", "finance@example.police.uk"),
    ("HR", "HR Analyst", "hr.analysis@example.police.uk"),
    ("L&D", "L&D Coordinator", "learning@example.police.uk"),
    ("PIU", "PIU Manager", "piu@example.police.uk"),
    ("PSD", "PSD Performance Analyst", "psd.performance@example.police.uk"),
    ("Strategic Development", "Strategic Development", "strategy@example.police.uk"),
    ("Historical", "Performance Team", "performance@example.police.uk"),
]
OWNER = formataddr(("Integrity Dashboard", "integrity.dashboard@example.police.uk"))
MIME = {
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".xls": ("application", "vnd.ms-excel"),
    ".ods": ("application", "vnd.oasis.opendocument.spreadsheet"),
}


def message(sender, subject, body, number):
    mail = EmailMessage(policy=SMTP)
    mail["From"] = formataddr(sender)
    mail["To"] = OWNER
    mail["Subject"] = subject
    mail["Date"] = f"Thu, 15 Oct 2020 {9 + number % 8:02d}:{number % 60:02d}:00 +0100"
    mail["Message-ID"] = f"<sample-{number}@example.police.uk>"
    mail.set_content(body)
    return mail


def attach(mail, path):
    maintype, subtype = MIME[path.suffix.lower()]
    mail.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)


def department_emails():
    sample = OUT / "sample"
    sample.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in INBOX.iterdir() if p.suffix.lower() in MIME)
    for number, (word, name, address) in enumerate(SENDERS):
        mine = [p for p in files if f" {word} " in f" {p.stem} " or p.stem.startswith(word)]
        if not mine:
            continue
        mail = message((name, address), f"{word} integrity returns", "Please find our returns attached.\n", number)
        for path in mine:
            attach(mail, path)
        (sample / f"{word} returns.eml").write_bytes(bytes(mail))


def edge_emails():
    psd = INBOX / "2020-21 Q2 PSD return.xlsx"
    original = message(("PSD Performance Analyst", "psd.performance@example.police.uk"),
                       "PSD Q2 return", "Our Q2 return.\n", 20)
    attach(original, psd)
    forwarded = message(("Deputy Owner", "deputy@example.police.uk"), "Fw: PSD Q2 return",
                        "Forwarding PSD's return, which came to me.\n", 21)
    forwarded.add_attachment(original)
    (OUT / "forwarded PSD return.eml").write_bytes(bytes(forwarded))
    pdf = message(("PIU Manager", "piu@example.police.uk"), "PIU minutes",
                  "The minutes, as promised.\n", 22)
    pdf.add_attachment(b"%PDF-1.4\n% minutes\n", maintype="application", subtype="pdf", filename="minutes.pdf")
    (OUT / "PDF only.eml").write_bytes(bytes(pdf))


if __name__ == "__main__":
    department_emails()
    edge_emails()
    for path in sorted(OUT.rglob("*.eml")):
        print(path.relative_to(ROOT))
