"""A real HTTP server on 127.0.0.1 for fakes that client libraries must reach over the
network (slack_sdk speaks urllib, not `requests`, so `responses` cannot stand in).

`LocalServer(app)` serves `app(method, path, query, headers, body) -> (status, headers,
body bytes)` from a thread, on the first free port of 8600-8649 (or any free port).
"""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PORTS = range(8600, 8650)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        status, headers, payload = self.server.app(self.command, parts.path, query, dict(self.headers), body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, *args):  # quiet
        pass


def _free_port():
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return 0


class LocalServer:
    def __init__(self, app):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", _free_port()), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.app = app
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
