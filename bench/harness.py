"""Shared benchmark plumbing (not a benchmark): the server subprocess, a keep-alive HTTP client, percentiles."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    """`insidesales serve` on 127.0.0.1:`port`, its output in `log_path`; returns once it accepts connections."""
    log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the process
    command = [sys.executable, "-m", "insidesales.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"the server did not start within 60 s; see {log_path}")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def process_cpu_ms(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far, in ms; None where /proc is missing.

    Wall-clock latency grows when other programs share the CPUs; CPU time per request does not, so the
    two together tell a slow server from a busy machine.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


class Client:
    """One keep-alive HTTP/1.1 connection with a cookie jar, like a browser tab; `api_key` for /api/ calls."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        self.api_key = ""
        self.conn = http.client.HTTPConnection(host, port, timeout=60)

    def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                started = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                elapsed = (time.perf_counter() - started) * 1000
                break
            except (http.client.HTTPException, ConnectionError):
                # The server closed an idle keep-alive connection; open a new one and try again.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return elapsed, response, payload

    def get(self, path: str, *, api: bool = False) -> tuple[float, int, str]:
        """(milliseconds, status, body text)."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if api else {}
        elapsed, response, payload = self.request("GET", path, headers=headers)
        return elapsed, response.status, payload.decode("utf-8", "replace")

    def login(self, email: str, password: str) -> str:
        """Sign in through /login/ (the product's page); Django's /admin/login/ if that page is missing."""
        for path, email_field in (("/login/", "email"), ("/admin/login/", "username")):
            _, response, page = self.request("GET", path)
            if response.status != 200:
                continue
            token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            form = {
                "csrfmiddlewaretoken": token.group(1).decode() if token else "",
                email_field: email,
                "password": password,
            }
            _, response, _ = self.request(
                "POST",
                path,
                body=urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://{self.host}{path}"},
            )
            if response.status in (302, 303) and "sessionid" in self.cookies:
                return path
        raise SystemExit("could not sign in through /login/ or /admin/login/")

    def deep_cursors(self, first_pages: list[str], *, pages: int) -> DeepCursors:
        """Follow `next_cursor` from each first page `pages` times; returns the cursor reached per page."""
        found = DeepCursors()
        for path in first_pages:
            cursor, depth = None, 0
            for _ in range(pages):
                separator = "&" if "?" in path else "?"
                url = path + (f"{separator}{urlencode({'cursor': cursor})}" if cursor else "")
                _, status, body = self.get(url, api=True)
                next_cursor = json.loads(body).get("next_cursor") if status == 200 else None
                if not next_cursor:
                    break
                cursor, depth = next_cursor, depth + 1
            found.cursors.append(cursor)
            found.depths.append(depth)
        return found


@dataclass
class DeepCursors:
    cursors: list[str | None] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)

    @property
    def depth(self) -> int:
        return min((d for d, c in zip(self.depths, self.cursors, strict=True) if c), default=0)


@dataclass
class Timer:
    """Latencies of one kind of request, with how many failed or missed what they should have found."""

    times: list[float] = field(default_factory=list)
    errors: int = 0
    checked: int = 0
    found: int = 0
    server_cpu_ms: float | None = None  # server CPU time per request

    def add(self, elapsed_ms: float, *, ok: bool, found: bool | None = None) -> None:
        self.times.append(elapsed_ms)
        self.errors += not ok
        if found is not None:
            self.checked += 1
            self.found += found

    def percentile(self, p: int) -> float:
        if len(self.times) < 2:
            return self.times[0] if self.times else 0.0
        return statistics.quantiles(self.times, n=100, method="inclusive")[p - 1]

    def summary(self, kind: str) -> dict:
        out = {
            f"{kind}_p50_ms": round(self.percentile(50), 2),
            f"{kind}_p95_ms": round(self.percentile(95), 2),
        }
        if self.errors:
            out[f"{kind}_errors"] = self.errors
        if self.checked:
            out[f"{kind}_found_ratio"] = round(self.found / self.checked, 3)
        if self.server_cpu_ms is not None:
            out[f"{kind}_server_cpu_ms"] = round(self.server_cpu_ms, 2)
        return out

    def line(self, kind: str) -> str:
        extra = f", found {self.found}/{self.checked}" if self.checked else ""
        if self.server_cpu_ms is not None:
            extra += f", server CPU {self.server_cpu_ms:.1f} ms/request"
        return (
            f"{kind}: p50 {self.percentile(50):.1f} ms, p95 {self.percentile(95):.1f} ms, "
            f"max {max(self.times):.1f} ms, n={len(self.times)}, errors {self.errors}{extra}"
        )
