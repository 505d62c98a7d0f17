"""A test-pattern camera with a codec of choice, live-encoded by GStreamer.

It stands in for real cameras the recorder must cope with, such as one that streams VP8,
which MP4 cannot take by stream copy. Live encoding is fine here: there is only ever one.
"""

from __future__ import annotations

import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

ENCODERS = {
    "vp8": "vp8enc deadline=1 cpu-used=8 ! rtpvp8pay name=pay0 pt=96",
    "h264": "x264enc tune=zerolatency speed-preset=ultrafast ! rtph264pay name=pay0 pt=96",
}


class PatternCamera:
    def __init__(self, port: int, codec: str = "vp8", size: tuple[int, int] = (320, 240)) -> None:
        Gst.init(None)
        self.port = port
        self._context = GLib.MainContext.new()
        self._loop = GLib.MainLoop.new(self._context, False)
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address("127.0.0.1")
        self.server.set_service(str(port))
        factory = GstRtspServer.RTSPMediaFactory()
        width, height = size
        factory.set_launch(
            f"( videotestsrc is-live=true ! video/x-raw,width={width},height={height},framerate=15/1 "
            f"! {ENCODERS[codec]} )"
        )
        factory.set_shared(True)
        self.server.get_mount_points().add_factory("/main", factory)
        self._thread = threading.Thread(target=self._run, name=f"pattern-{port}", daemon=True)

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/main"

    def _run(self) -> None:
        self._context.push_thread_default()
        self.server.attach(self._context)
        self._loop.run()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._loop.quit()
        self._thread.join(timeout=5)
