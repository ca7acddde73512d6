"""Local HTTP receivers for the webhook tests: a thread serving 127.0.0.1 on a free port."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Records every request (path, headers, body); answers with `codes` in turn (then the last one).

    `hang` seconds of silence before answering simulate a receiver that never answers in time.
    `keep_alive` answers in HTTP/1.1, keeping connections open; `connections` counts them.
    """

    def __init__(self, codes=(200,), hang: float = 0, keep_alive: bool = False):
        self.codes, self.hang, self.requests, self.connections = list(codes), hang, [], 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def setup(self):
                super().setup()
                with receiver.lock:
                    receiver.connections += 1

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    n = len(receiver.requests)
                if receiver.hang:
                    time.sleep(receiver.hang)
                code = receiver.codes[min(n, len(receiver.codes)) - 1]
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, n: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.requests) < n:
            time.sleep(0.05)
        return self.requests
