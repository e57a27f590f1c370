#!/usr/bin/env python3
"""A tiny HTTP server for cwfilter's sink tests (standard library only).

Listens on 127.0.0.1 (port 0 = ephemeral), prints "PORT <n>" on stdout once listening, answers
every request with the next status of --statuses (the last one repeats) and appends one JSON line
per request to --record: {"method", "path", "version", "headers": [[name, value], ...] in the
order received, "body"}. The line is written before the response is sent, so a client that got
its response can read the record. Exits after --lifetime seconds or --max-requests requests. With --tls-cert and --tls-key it
speaks HTTPS.
"""
import argparse
import http.server
import json
import ssl
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--statuses", default="200")
    ap.add_argument("--record", required=True)
    ap.add_argument("--lifetime", type=float, default=20.0)
    ap.add_argument("--max-requests", type=int, default=0)
    ap.add_argument("--tls-cert", default="")
    ap.add_argument("--tls-key", default="")
    args = ap.parse_args()
    statuses = [int(s) for s in args.statuses.split(",") if s]
    served = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, fmt, *a):  # keep the test output quiet
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            record = {
                "method": self.command,
                "path": self.path,
                "version": self.request_version,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": body.decode("utf-8", errors="replace"),
            }
            with open(args.record, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            status = statuses[min(served[0], len(statuses) - 1)]
            served[0] += 1
            reply = ("status %d\n" % status).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_POST = do_GET = do_PUT = handle_any

    server = http.server.HTTPServer(("127.0.0.1", args.port), Handler)
    server.timeout = 0.1
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("PORT %d" % server.server_address[1], flush=True)
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        if args.max_requests and served[0] >= args.max_requests:
            break
        server.handle_request()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
