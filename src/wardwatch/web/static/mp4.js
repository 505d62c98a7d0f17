// Just enough ISO BMFF reading to name a recorded segment's codec for Media Source
// Extensions (the playback API lists segments, and each segment carries its own moov).

const CONTAINERS = new Set(["moov", "trak", "mdia", "minf", "stbl"]);
const VISUAL_ENTRY_HEADER = 78; // VisualSampleEntry fields before its child boxes

function* boxes(view, start, end) {
  let at = start;
  while (at + 8 <= end) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(
      view.getUint8(at + 4), view.getUint8(at + 5), view.getUint8(at + 6), view.getUint8(at + 7),
    );
    let header = 8;
    if (size === 1) {
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header || at + size > end) return;
    yield { type, start: at + header, end: at + size };
    at += size;
  }
}

function hex(byte) {
  return byte.toString(16).padStart(2, "0");
}

function find(view, start, end, type) {
  for (const box of boxes(view, start, end)) {
    if (box.type === type) return box;
    if (CONTAINERS.has(box.type)) {
      const inner = find(view, box.start, box.end, type);
      if (inner) return inner;
    }
  }
  return null;
}

/** The RFC 6381 codec string of the first video track, e.g. "avc1.64002a", or null. */
export function codecOf(buffer) {
  const view = new DataView(buffer);
  const stsd = find(view, 0, view.byteLength, "stsd");
  if (!stsd) return null;
  for (const entry of boxes(view, stsd.start + 8, stsd.end)) {
    if (entry.type === "avc1" || entry.type === "avc3") {
      for (const child of boxes(view, entry.start + VISUAL_ENTRY_HEADER, entry.end)) {
        if (child.type === "avcC") {
          const b = (i) => view.getUint8(child.start + i);
          return `${entry.type}.${hex(b(1))}${hex(b(2))}${hex(b(3))}`;
        }
      }
    }
    if (entry.type === "hvc1" || entry.type === "hev1") return `${entry.type}.1.6.L93.B0`;
  }
  return null;
}

export function mimeFor(codec) {
  return `video/mp4; codecs="${codec}"`;
}
