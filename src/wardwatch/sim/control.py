"""A small HTTP control API for the simulator, so tests, benchmarks and people can inject faults.

    GET  /cameras                       every camera, its URLs and its current fault
    POST /cameras/<index>/fault         body {"fault": "black"}; "healthy" undoes any fault
    POST /faults/reset                  every camera back to healthy

It listens on localhost only: it is a test instrument, not part of the product's surface.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wardwatch.sim.faults import Fault
from wardwatch.sim.server import CameraFarm

log = logging.getLogger(__name__)
_FAULT_PATH = re.compile(r"^/cameras/(\d+)/fault$")


class ControlServer:
    def __init__(self, farm: CameraFarm, port: int) -> None:
        self.farm = farm
        handler = _handler_for(farm)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="sim-control", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler_for(farm: CameraFarm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.debug("sim control: " + format, *args)

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/cameras":
                self._send(200, farm.status())
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            if self.path == "/faults/reset":
                for camera in farm.cameras:
                    farm.set_fault(camera.config.index, Fault.HEALTHY)
                self._send(200, farm.status())
                return
            match = _FAULT_PATH.match(self.path)
            if match is None:
                self._send(404, {"error": "not found"})
                return
            length = int(self.headers.get("content-length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                fault = Fault(body.get("fault"))
            except (ValueError, AttributeError):
                self._send(422, {"error": f"fault must be one of {[f.value for f in Fault]}"})
                return
            try:
                farm.set_fault(int(match.group(1)), fault)
            except KeyError:
                self._send(404, {"error": "no such camera"})
                return
            self._send(200, farm.status()[int(match.group(1))])

    return Handler
