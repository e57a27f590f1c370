#!/usr/bin/env python3
"""A minimal SMTP server for cwfilter's sink tests (standard library only; smtpd is gone in 3.12).

Listens on 127.0.0.1 (port 0 = ephemeral), prints "PORT <n>" on stdout once listening and
appends one JSON line per accepted message to --record:
  {"helo", "auth": [user, password] or null, "mail_from", "rcpt_to": [...],
   "data": the DATA as received (dot-stuffing undone, CRLF kept),
   "headers": [[name, decoded value], ...], "body": decoded text body with "\n" line ends}
Headers and body are decoded by Python's email package: an implementation independent of the
one under test. --auth USER:PASS advertises AUTH PLAIN and requires it; --reject-rcpt CODE answers
RCPT TO with that code. Exits after --lifetime seconds or --max-messages messages.
"""
import argparse
import base64
import email
import email.policy
import json
import socketserver
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--record", required=True)
    ap.add_argument("--lifetime", type=float, default=20.0)
    ap.add_argument("--max-messages", type=int, default=0)
    ap.add_argument("--auth", default="")
    ap.add_argument("--reject-rcpt", type=int, default=0)
    args = ap.parse_args()
    accepted = [0]

    class Handler(socketserver.StreamRequestHandler):
        timeout = 10  # a stuck client cannot hold the server

        def reply(self, line):
            self.wfile.write((line + "\r\n").encode())
            self.wfile.flush()

        def readline(self):
            raw = self.rfile.readline(100000)
            if not raw:
                raise EOFError
            return raw.decode("utf-8", errors="replace").rstrip("\r\n")

        def handle(self):
            try:
                self.session()
            except (EOFError, OSError):
                pass

        def session(self):
            state = {"helo": None, "auth": None, "mail_from": None, "rcpt_to": []}
            self.reply("220 localhost cwfilter test SMTP")
            while True:
                line = self.readline()
                verb = line.split(" ", 1)[0].upper()
                arg = line[len(verb):].strip()
                if verb == "EHLO":
                    state["helo"] = arg
                    self.reply("250-localhost")
                    if args.auth:
                        self.reply("250-AUTH PLAIN")
                    self.reply("250 8BITMIME")
                elif verb == "HELO":
                    state["helo"] = arg
                    self.reply("250 localhost")
                elif verb == "AUTH":
                    parts = arg.split(" ", 1)
                    if parts[0].upper() != "PLAIN":
                        self.reply("504 only PLAIN")
                        continue
                    if len(parts) == 2:
                        token = parts[1]
                    else:
                        self.reply("334 ")
                        token = self.readline()
                    fields = base64.b64decode(token).decode("utf-8").split("\0")
                    user, password = fields[1], fields[2]
                    if args.auth == user + ":" + password:
                        state["auth"] = [user, password]
                        self.reply("235 2.7.0 authenticated")
                    else:
                        self.reply("535 5.7.8 bad credentials")
                elif verb == "MAIL":
                    if args.auth and not state["auth"]:
                        self.reply("530 5.7.0 authentication required")
                        continue
                    state["mail_from"] = arg.split(":", 1)[1].strip().split(" ")[0].strip("<>")
                    state["rcpt_to"] = []
                    self.reply("250 OK")
                elif verb == "RCPT":
                    if args.reject_rcpt:
                        self.reply("%d mailbox unavailable" % args.reject_rcpt)
                        continue
                    state["rcpt_to"].append(arg.split(":", 1)[1].strip().strip("<>"))
                    self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 end with <CRLF>.<CRLF>")
                    chunks = []
                    while True:
                        raw = self.rfile.readline(1000000)
                        if not raw:
                            raise EOFError
                        if raw in (b".\r\n", b".\n"):
                            break
                        if raw.startswith(b".."):
                            raw = raw[1:]
                        chunks.append(raw)
                    data = b"".join(chunks)
                    msg = email.message_from_bytes(data, policy=email.policy.default)
                    body = msg.get_content() if not msg.is_multipart() else None
                    record = dict(state)
                    record["data"] = data.decode("utf-8", errors="replace")
                    record["headers"] = [[k, str(v)] for k, v in msg.items()]
                    record["body"] = body.replace("\r\n", "\n") if body is not None else None
                    with open(args.record, "a", encoding="utf-8") as f:
                        f.write(json.dumps(record) + "\n")
                    accepted[0] += 1
                    self.reply("250 OK queued")
                elif verb in ("RSET", "NOOP"):
                    self.reply("250 OK")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 command not implemented")

    socketserver.TCPServer.allow_reuse_address = True
    server = socketserver.TCPServer(("127.0.0.1", args.port), Handler)
    server.timeout = 0.1
    print("PORT %d" % server.server_address[1], flush=True)
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        if args.max_messages and accepted[0] >= args.max_messages:
            break
        server.handle_request()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
