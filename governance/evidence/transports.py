"""Where evidence leaves the database: a syslog receiver (TCP or TLS) or an HTTP collector.

Small on purpose, so any consumer (the OCSF stream, a checkpoint copier) can use it: a
transport takes a list of text messages and either delivers all of them or raises
`DeliveryError`, whose `permanent` says whether a retry can help. A caller moves its own
position forward only after `send` returned, which makes delivery at least once.

- `syslog+tcp://host:port` and `syslog+tls://host:port`: RFC 5424 messages, framed by
  octet counting (RFC 6587 / RFC 5425). Each batch uses its own connection, half-closed
  after the last byte; the receiver's close (or a quiet timeout) ends it, and a reset
  means the receiver lost data, so the batch fails and is sent again.
- `http://…` and `https://…`: one POST a batch, the messages as JSON Lines
  (`application/x-ndjson`), an optional bearer token; any 2xx is delivered, 408/429/5xx
  and network errors are worth a retry, other answers are permanent.
"""

import socket
import ssl
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

SYSLOG_SCHEMES = {"syslog+tcp": False, "syslog+tls": True}
HTTP_SCHEMES = {"http", "https"}
# RFC 5424 PRI: facility 13 (log audit); severity 6 (informational) or 4 (warning).
FACILITY_LOG_AUDIT = 13
RETRYABLE_HTTP = {408, 429}


class DeliveryError(Exception):
    def __init__(self, message, *, permanent=False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def syslog_message(text, *, app_name="mandate", msg_id="ocsf", warning=False, hostname=None, now=None):
    """One RFC 5424 message carrying `text` (no structured data)."""
    pri = FACILITY_LOG_AUDIT * 8 + (4 if warning else 6)
    stamp = (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = (hostname or socket.gethostname() or "-")[:255]
    return f"<{pri}>1 {stamp} {host} {app_name} - {msg_id} - {text}"


def octet_frame(message):
    data = message.encode("utf-8")
    return str(len(data)).encode() + b" " + data


class SyslogTransport:
    def __init__(self, host, port, *, tls=False, ca_file="", timeout=10):
        self.host, self.port, self.tls, self.timeout = host, port, tls, timeout
        self.context = None
        if tls:
            self.context = ssl.create_default_context(cafile=ca_file or None)

    def __repr__(self):
        return f"syslog+{'tls' if self.tls else 'tcp'}://{self.host}:{self.port}"

    def send(self, messages):
        if not messages:
            return
        payload = b"".join(octet_frame(syslog_message(text)) for text in messages)
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as raw:
                conn = self.context.wrap_socket(raw, server_hostname=self.host) if self.tls else raw
                conn.sendall(payload)
                self._finish(conn)
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"{self!r}: the receiver's certificate is not trusted: {exc.verify_message}") from exc
        except OSError as exc:
            raise DeliveryError(f"{self!r}: {exc}") from exc

    def _finish(self, conn):
        """Half-close and wait for the receiver to close: a reset here means it lost data.
        (On a TLS socket `shutdown` ends TLS first; receivers treat that as end of stream.)"""
        conn.shutdown(socket.SHUT_WR)
        try:
            while conn.recv(4096):
                pass
        except TimeoutError:
            pass  # a receiver that keeps the connection open has still read what was sent


class HttpCollectorTransport:
    def __init__(self, url, *, token="", ca_file="", timeout=10):
        self.url, self.timeout = url, timeout
        self.headers = {"Content-Type": "application/x-ndjson; charset=utf-8"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.verify = ca_file or True

    def __repr__(self):
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"

    def send(self, messages):
        if not messages:
            return
        body = "".join(text + "\n" for text in messages).encode("utf-8")
        try:
            response = requests.post(
                self.url, data=body, headers=self.headers, timeout=self.timeout, verify=self.verify
            )
        except requests.RequestException as exc:
            raise DeliveryError(f"{self!r}: {exc.__class__.__name__}: {exc}") from exc
        if 200 <= response.status_code < 300:
            return
        retry = response.status_code in RETRYABLE_HTTP or response.status_code >= 500
        raise DeliveryError(f"{self!r} answered {response.status_code}.", permanent=not retry)


def open_transport(url, *, ca_file="", token="", timeout=10):
    """The transport for `url` (see the module's docstring for the schemes)."""
    parts = urlsplit(url)
    if parts.scheme in SYSLOG_SCHEMES:
        if not parts.hostname or not parts.port:
            raise DeliveryError(f"{parts.scheme} needs a host and a port: {parts.scheme}://host:port", permanent=True)
        return SyslogTransport(
            parts.hostname, parts.port, tls=SYSLOG_SCHEMES[parts.scheme], ca_file=ca_file, timeout=timeout
        )
    if parts.scheme in HTTP_SCHEMES and parts.hostname:
        return HttpCollectorTransport(url, token=token, ca_file=ca_file, timeout=timeout)
    raise DeliveryError("Use syslog+tcp://host:port, syslog+tls://host:port or an http(s):// URL.", permanent=True)
