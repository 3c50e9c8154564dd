"""Real receivers the stream tests start: a syslog server (TCP, or TLS with a certificate
made here) reading RFC 6587 octet-counted frames, and an HTTP collector."""

import contextlib
import datetime
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_certificate(directory, host="127.0.0.1"):
    """A key and a self-signed certificate for `host` (an IP SAN), as PEM files."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "syslog test receiver")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "receiver.pem", directory / "receiver.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def read_frames(data):
    """Split octet-counted syslog frames; return (messages, rest)."""
    messages = []
    while b" " in data:
        length, _, rest = data.partition(b" ")
        size = int(length)
        if len(rest) < size:
            break
        messages.append(rest[:size].decode())
        data = rest[size:]
    return messages, data


class SyslogReceiver:
    """A syslog server on 127.0.0.1 (a free port). `fail_next` connections are cut after
    reading a little, with a reset, as a receiver that crashes mid-batch."""

    def __init__(self, tls_files=None):
        self.messages, self.fail_next, self.connections = [], 0, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.context = None
        if tls_files:
            self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.context.load_cert_chain(*map(str, tls_files))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            with contextlib.suppress(OSError, ssl.SSLError):
                self._handle(conn)

    def _handle(self, conn):
        if self.context:
            conn = self.context.wrap_socket(conn, server_side=True)
        if self.fail_next:
            self.fail_next -= 1
            conn.recv(10)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.close()  # RST: what was sent is lost
            return
        data = b""
        with conn:
            while chunk := conn.recv(65536):
                data += chunk
        messages, _ = read_frames(data)
        self.messages += messages

    def events(self):
        return [json.loads(message.split(" - ocsf - ", 1)[1]) for message in self.messages]

    def close(self):
        # shutdown wakes the thread blocked in accept(); close alone would leave it listening.
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        self.thread.join(timeout=5)


class HttpCollector:
    """An HTTP collector on 127.0.0.1 that stores JSON Lines bodies; `answers` scripts codes."""

    def __init__(self):
        self.bodies, self.answers, self.headers = [], [], []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                code = collector.answers.pop(0) if collector.answers else 200
                if code == 200:
                    collector.bodies.append(body.decode())
                    collector.headers.append(dict(self.headers))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ingest"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self):
        return [json.loads(line) for body in self.bodies for line in body.splitlines()]

    def close(self):
        self.server.shutdown()
