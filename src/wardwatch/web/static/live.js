// Live player: fragmented MP4 over a WebSocket into Media Source Extensions.
//
// Protocol (GET /api/v1/cameras/{id}/live?variant=sub|main, upgraded to a WebSocket):
//   text   {"type":"init", "mime": ..., "codec": ..., "width", "height", "session_id", ...}
//   binary 1 byte kind (0 init segment, 1 media fragment)
//          + 8 bytes capture time, µs since the epoch (uint64 big-endian)
//          + 8 bytes decode time of the fragment, µs since this session began (uint64 BE)
//          + fMP4 bytes (ftyp+moov, then one moof+mdat per frame from a keyframe on)
//   text   {"type":"status", "status": "offline"|"auth_failed"|"unsupported"|"ended", ...}
//          then the server closes.
//
// Latency stays low by chasing the live edge: the player plays slightly faster when it falls
// behind and jumps when it is far behind, and drops what it has already shown. Every
// presented frame is matched (through its media time, which is the decode time above) with
// its capture time, so capture-to-screen latency is measured per frame and kept on
// window.__wardwatchLive for the benchmark and the tests.

const HEADER_BYTES = 17;
const KIND_MEDIA = 1;
const TARGET_LAG_S = 0.12; // where the chase aims, behind the newest frame
const CATCH_UP_LAG_S = 0.3; // behind more than this: play faster
const JUMP_LAG_S = 1.0; // behind more than this: jump to the edge
const KEEP_BEHIND_S = 4; // buffer kept behind the play position
const TRIM_EVERY_S = 8;
const MATCH_TOLERANCE_S = 0.02;
const MAX_SAMPLES = 20000;
const MAX_BACKOFF_S = 30;
const FINAL_CLOSE_CODES = new Set([1008, 4401, 4403, 4404]); // refused: retrying will not help

const registry = (window.__wardwatchLive ??= { samples: [], players: {}, maxSamples: MAX_SAMPLES });

let nextId = 0;

function concat(chunks) {
  if (chunks.length === 1) return chunks[0];
  const total = chunks.reduce((sum, c) => sum + c.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export class LivePlayer {
  /**
   * @param {HTMLVideoElement} video
   * @param {{cameraId: string, variant?: string, onStatus?: (status: string, info: object) => void}} options
   *   onStatus receives connecting | buffering | playing | reconnecting | offline | auth_failed |
   *   unsupported | ended | denied, with {reason, retryInS}.
   */
  constructor(video, { cameraId, variant = "sub", onStatus = () => {} }) {
    this.video = video;
    this.cameraId = cameraId;
    this.variant = variant;
    this.onStatus = onStatus;
    this.id = `${cameraId}/${variant}/${++nextId}`;
    this.stats = {
      cameraId,
      variant,
      status: "idle",
      frames: 0,
      matched: 0,
      unmatched: 0,
      reconnects: 0,
      lagMs: null,
      latencyMs: null,
      width: null,
      height: null,
    };
    this.attempt = 0;
    this.stopped = true;
    video.muted = true;
    video.playsInline = true;
    video.autoplay = true;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    registry.players[this.id] = this.stats;
    this._connect();
    this._watchFrames();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000);
      this.ws = null;
    }
    if (this.frameHandle !== undefined && this.video.cancelVideoFrameCallback) {
      this.video.cancelVideoFrameCallback(this.frameHandle);
    }
    this._teardownMedia();
    delete registry.players[this.id];
  }

  _status(status, info = {}) {
    this.stats.status = status;
    this.onStatus(status, info);
  }

  _connect() {
    this._status(this.attempt ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const path = `/api/v1/cameras/${encodeURIComponent(this.cameraId)}/live`;
    const ws = new WebSocket(`${scheme}//${location.host}${path}?variant=${encodeURIComponent(this.variant)}`);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.serverStatus = null;
    this.receiving = false;
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      if (typeof event.data === "string") this._onText(event.data);
      else this._onBinary(event.data);
    };
    ws.onclose = (event) => {
      if (this.ws === ws) this._onClose(event);
    };
  }

  _onText(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === "init") this._onInit(message);
    else if (message.type === "status") {
      this.serverStatus = message.status;
      this._status(message.status, { reason: message.reason || "" });
    }
  }

  _onInit(init) {
    this._teardownMedia();
    this.stats.width = init.width;
    this.stats.height = init.height;
    this.stats.sessionId = init.session_id;
    if (!window.MediaSource || !MediaSource.isTypeSupported(init.mime)) {
      this.serverStatus = "unsupported";
      this._status("unsupported", { reason: init.codec || init.mime });
      this.ws.close(1000);
      return;
    }
    this._status("buffering");
    this.queue = [];
    this.frameTimes = []; // flat pairs: decode time (s), capture time (µs)
    this.lastTrim = 0;
    const source = new MediaSource();
    this.source = source;
    this.objectUrl = URL.createObjectURL(source);
    source.addEventListener(
      "sourceopen",
      () => {
        if (this.source !== source) return;
        const buffer = source.addSourceBuffer(init.mime);
        buffer.mode = "segments";
        buffer.addEventListener("updateend", () => this.buffer === buffer && this._afterAppend());
        buffer.addEventListener("error", () => this.buffer === buffer && this._restart("append_error"));
        this.buffer = buffer;
        this._pump();
      },
      { once: true },
    );
    this.video.src = this.objectUrl;
  }

  _onBinary(data) {
    if (!this.source || data.byteLength < HEADER_BYTES) return;
    const view = new DataView(data);
    const kind = view.getUint8(0);
    if (kind === KIND_MEDIA) {
      const captureUs = Number(view.getBigUint64(1));
      const decodeS = Number(view.getBigUint64(9)) / 1e6;
      this.frameTimes.push(decodeS, captureUs);
      if (this.frameTimes.length > 3000) this.frameTimes.splice(0, 1500);
      if (!this.receiving) {
        this.receiving = true;
        this.attempt = 0;
      }
    }
    this.queue.push(new Uint8Array(data, HEADER_BYTES));
    this._pump();
  }

  _pump() {
    const buffer = this.buffer;
    if (!buffer || buffer.updating || !this.queue.length || this.source.readyState !== "open") return;
    const chunks = this.queue;
    this.queue = [];
    const data = concat(chunks);
    try {
      buffer.appendBuffer(data);
    } catch (error) {
      if (error.name === "QuotaExceededError") {
        this.queue.unshift(data);
        this._trim(true);
      } else {
        this._restart("append_error");
      }
    }
  }

  _afterAppend() {
    this._chase();
    if (!this._trim(false)) this._pump();
  }

  /** Keep the play position just behind the newest frame. */
  _chase() {
    const video = this.video;
    const ranges = video.buffered;
    if (!ranges.length) return;
    const last = ranges.length - 1;
    const end = ranges.end(last);
    const now = video.currentTime;
    const inside = now >= ranges.start(last) - 0.001 && now <= end;
    const lag = end - now;
    this.stats.lagMs = Math.round(lag * 1000);
    if (!inside || lag > JUMP_LAG_S) {
      video.currentTime = Math.max(ranges.start(last), end - TARGET_LAG_S);
      video.playbackRate = 1;
    } else if (lag > CATCH_UP_LAG_S) {
      video.playbackRate = Math.min(1.5, 1 + (lag - TARGET_LAG_S));
    } else if (lag <= TARGET_LAG_S * 1.5) {
      video.playbackRate = 1;
    }
    if (video.paused) video.play().catch(() => {});
  }

  /** Drop footage already shown; true when a removal started (updateend follows). */
  _trim(force) {
    const buffer = this.buffer;
    const ranges = this.video.buffered;
    if (!buffer || buffer.updating || !ranges.length) return false;
    const now = this.video.currentTime;
    const start = ranges.start(0);
    if (!force && (now - start < TRIM_EVERY_S + KEEP_BEHIND_S)) return false;
    const until = now - (force ? 1 : KEEP_BEHIND_S);
    if (until <= start) return false;
    try {
      buffer.remove(start, until);
      return true;
    } catch {
      return false;
    }
  }

  _restart(reason) {
    if (this.ws) this.ws.close(4000, reason);
  }

  _onClose(event) {
    this.ws = null;
    this._teardownMedia();
    if (this.stopped) return;
    if (FINAL_CLOSE_CODES.has(event.code)) {
      this._status("denied", { reason: event.reason || "" });
      return;
    }
    this.attempt += 1;
    this.stats.reconnects += 1;
    const base = Math.min(MAX_BACKOFF_S, 0.5 * 2 ** (this.attempt - 1));
    const delay = base * (0.75 + Math.random() * 0.5);
    const retryInS = Math.max(1, Math.round(delay));
    this._status(this.serverStatus || "reconnecting", { retryInS });
    this.retryTimer = setTimeout(() => {
      if (!this.stopped) this._connect();
    }, delay * 1000);
  }

  _teardownMedia() {
    this.buffer = null;
    this.queue = [];
    if (this.source) {
      this.source = null;
      this.video.removeAttribute("src");
      this.video.load();
    }
    if (this.objectUrl) {
      URL.revokeObjectURL(this.objectUrl);
      this.objectUrl = null;
    }
  }

  /** Capture time (µs) of the frame with this media time, or null if unknown. */
  _captureFor(mediaTime) {
    const times = this.frameTimes;
    if (!times || !times.length) return null;
    let lo = 0;
    let hi = times.length / 2 - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid * 2] < mediaTime) lo = mid + 1;
      else hi = mid;
    }
    let best = lo;
    if (lo > 0 && Math.abs(times[(lo - 1) * 2] - mediaTime) < Math.abs(times[lo * 2] - mediaTime)) best = lo - 1;
    return Math.abs(times[best * 2] - mediaTime) <= MATCH_TOLERANCE_S ? times[best * 2 + 1] : null;
  }

  _watchFrames() {
    const video = this.video;
    if (!("requestVideoFrameCallback" in video)) {
      video.addEventListener("timeupdate", () => {
        this.stats.frames += 1;
      });
      return;
    }
    const onFrame = (now, metadata) => {
      if (this.stopped) return;
      this.stats.frames += 1;
      if (this.stats.status !== "playing" && this.source) this._status("playing");
      const captureUs = this._captureFor(metadata.mediaTime);
      if (captureUs === null) {
        this.stats.unmatched += 1;
      } else {
        this.stats.matched += 1;
        // Both clocks are wall clocks: performance.timeOrigin is the epoch time at which
        // performance.now() was 0, and expectedDisplayTime is on that timeline.
        const shown = performance.timeOrigin + (metadata.expectedDisplayTime || now);
        const latency = shown - captureUs / 1000;
        this.stats.latencyMs = Math.round(latency);
        const samples = registry.samples;
        samples.push({
          camera: this.cameraId,
          variant: this.variant,
          latency_ms: latency,
          capture_us: captureUs,
          presented_ms: performance.timeOrigin + (metadata.presentationTime || now),
          expected_display_ms: shown,
          media_time: metadata.mediaTime,
          presented_frames: metadata.presentedFrames,
        });
        if (samples.length > registry.maxSamples) samples.splice(0, samples.length - registry.maxSamples);
      }
      this.frameHandle = video.requestVideoFrameCallback(onFrame);
    };
    this.frameHandle = video.requestVideoFrameCallback(onFrame);
  }
}
