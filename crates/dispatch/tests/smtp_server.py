"""A real SMTP server for the email tests (aiosmtpd).

usage: smtp_server.py --port PORT --dir DIR [--user U --password P] [--fail-first N]

Writes each accepted message's raw bytes to DIR/<n>.eml (n from 1). With --user, AUTH
(PLAIN or LOGIN, allowed without TLS) is required before MAIL. --fail-first N answers the
first N messages' DATA with 451. Recipients starting with "nobody@" are refused with 550.
Prints "ready" once listening, then serves until killed.
"""

import argparse
import os
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, directory, fail_first):
        self.directory = directory
        self.fail_left = fail_first
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_left > 0:
            self.fail_left -= 1
            return "451 4.3.0 try again later"
        self.count += 1
        path = os.path.join(self.directory, f"{self.count}.eml")
        with open(path + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 OK queued"


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user
            and auth_data.password == self.password
        )
        # handled=False: aiosmtpd answers 535 itself (the default, True, answers nothing).
        return AuthResult(success=ok, handled=False)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()

    kwargs = {}
    if args.user is not None:
        kwargs.update(
            authenticator=Authenticator(args.user, args.password or ""),
            auth_required=True,
            auth_require_tls=False,
        )
    controller = Controller(
        Handler(args.dir, args.fail_first), hostname="127.0.0.1", port=args.port, **kwargs
    )
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
