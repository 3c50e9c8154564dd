"""A fault-injecting HTTP proxy in front of a real server (Request Tracker).

Each request takes the next scripted fault for its method, if any:
- "500": answer 500 at once; the server never sees the request;
- "timeout": hold the request past the client's timeout; the server never sees it;
- "lost": forward it (the server does the work), then drop the connection unanswered —
  the case where a client that simply retries would create a second ticket.
Anything else is forwarded untouched.

It listens on the first free port of MANDATE_TEST_PROXY_PORTS (default 8090-8099).
"""

import http.client
import os
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def proxy_ports():
    first, _, last = os.environ.get("MANDATE_TEST_PROXY_PORTS", "8090-8099").partition("-")
    return range(int(first), int(last or first) + 1)


class FaultProxy:
    def __init__(self, upstream, ports=None, hold_seconds=2.0):
        ports = ports or proxy_ports()
        self.upstream = urlsplit(upstream)
        self.faults = []
        self.seen = []
        self.hold_seconds = hold_seconds
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy.take(self.command, self.path)
                proxy.seen.append((self.command, self.path, fault))
                if fault == "500":
                    payload = b'{"message":"injected failure"}'
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if fault == "timeout":
                    time.sleep(proxy.hold_seconds)
                    self.close_connection = True
                    return
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                if fault == "lost":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        for port in ports:
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no free port for the fault proxy")
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def take(self, method, path):
        if self.faults:
            wanted_method, pattern, fault = self.faults[0]
            if wanted_method in (method, "*") and (pattern is None or re.search(pattern, path)):
                self.faults.pop(0)
                return fault
        return None

    def inject(self, *faults, method="*", path=None):
        self.faults.extend((method, path, fault) for fault in faults)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
