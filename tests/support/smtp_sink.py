"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, a free port.

Usage: python3 smtp_sink.py OUT_DIR MODE
  ok     accept every message
  flaky  answer the first message with 451 (try again later), then accept
  hang   keep the message, then never answer DATA (a lost reply)
  auth   require AUTH (user `steward`, password `s3cret`)
Each message received is written to OUT_DIR/NNNN.eml (also when refused with
451 or left hanging, so a test sees every attempt). Prints the port on the
first line, then serves until stdin closes.
"""
import asyncio
import os
import socket
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

out_dir, mode = sys.argv[1], sys.argv[2]
count = 0


def save(envelope):
    global count
    count += 1
    path = os.path.join(out_dir, f"{count:04d}.eml")
    with open(path + ".tmp", "wb") as f:
        f.write(envelope.original_content or envelope.content)
    os.rename(path + ".tmp", path)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        save(envelope)
        if mode == "flaky" and count == 1:
            return "451 4.3.0 try again later"
        if mode == "hang":
            await asyncio.sleep(3600)
        return f"250 2.0.0 queued as sink-{count}"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"steward" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = free_port()
controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=port,
    authenticator=authenticator,
    auth_required=(mode == "auth"),
    auth_require_tls=False,
)
controller.start()
print(port, flush=True)
sys.stdin.read()
controller.stop()
