#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd): each message it accepts is saved into FOLDER as a file;
with --refuse it refuses every recipient, as a server that will not relay does.

Usage: smtp_server.py FOLDER [--refuse] [--starttls | --tls]
With --starttls or --tls it makes a certificate authority of its own (trustme), writes its certificate
to FOLDER/ca.pem, and serves with a certificate for 127.0.0.1 that authority issued: STARTTLS required,
or TLS from the first byte.
Prints the port it listens on (on 127.0.0.1), then serves until it is killed.
"""
import pathlib
import socket
import sys
import time

from aiosmtpd.controller import Controller


class Save:
    def __init__(self, folder, refuse):
        self.folder = folder
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.7.1 Relaying denied"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        number = len(list(self.folder.glob("*.eml")))
        (self.folder / f"{number:03d}.eml").write_bytes(envelope.original_content or envelope.content)
        (self.folder / f"{number:03d}.rcpt").write_text("\n".join(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    folder = pathlib.Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    handler = Save(folder, "--refuse" in sys.argv)
    options = {}
    if "--starttls" in sys.argv or "--tls" in sys.argv:
        import ssl
        import trustme

        authority = trustme.CA()
        authority.cert_pem.write_to_path(str(folder / "ca.pem"))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        if "--tls" in sys.argv:
            options = {"ssl_context": context}
        else:
            options = {"tls_context": context, "require_starttls": True}
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    print(port, flush=True)
    while True:
        time.sleep(3600)
