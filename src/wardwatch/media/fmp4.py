"""A small fragmented-MP4 writer for live H.264: one init segment, then one fragment per frame.

Live view hands the camera's own H.264 to the browser's Media Source Extensions without
transcoding. FFmpeg's MP4 muxer could do the boxing, but with one fragment per frame it
holds each frame back until the next one arrives (it needs the duration), and each viewer
needs fragments timed from the start of its own session. Writing the few boxes here costs
no latency and lets one fragment serve every viewer: the fragment is built once with its
``tfdt`` (decode time) left as an 8-byte hole, and each viewer's copy fills the hole in.

Boxes follow ISO/IEC 14496-12 (ftyp, moov with mvex/trex; moof with tfhd
default-base-is-moof, tfdt version 1, trun version 1) and 14496-15 (avc1, avcC).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

START_CODE = b"\x00\x00\x01"
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
_KEY_FLAGS = 0x02000000  # sample_depends_on = 2: an I picture, decodable alone
_DELTA_FLAGS = 0x01010000  # depends on others, and not a sync sample
TRACK_ID = 1


class BitstreamError(ValueError):
    """H.264 data that cannot be boxed (no parameter sets, a truncated SPS)."""


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def annexb_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream, without start codes or trailing zeros."""
    units = []
    at = data.find(START_CODE)
    while at >= 0:
        begin = at + 3
        nxt = data.find(START_CODE, begin)
        unit = data[begin : nxt if nxt >= 0 else len(data)].rstrip(b"\x00")
        if unit:
            units.append(unit)
        at = nxt
    return units


def length_prefixed_units(data: bytes, size: int = 4) -> list[bytes]:
    units = []
    at = 0
    while at + size <= len(data):
        length = int.from_bytes(data[at : at + size], "big")
        at += size
        if length:  # a zero-length unit carries nothing, and would trip every reader below
            units.append(data[at : at + length])
        at += length
    return units


def to_sample(units: list[bytes]) -> bytes:
    """NAL units as an MP4 sample (four-byte lengths); access unit delimiters are dropped."""
    return b"".join(struct.pack(">I", len(u)) + u for u in units if u[0] & 0x1F != NAL_AUD)


class _Bits:
    """Exp-Golomb reader over an RBSP (emulation prevention bytes already removed)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def bit(self) -> int:
        byte = self.pos >> 3
        if byte >= len(self.data):
            raise BitstreamError("truncated SPS")
        value = (self.data[byte] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return value

    def bits(self, count: int) -> int:
        value = 0
        for _ in range(count):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise BitstreamError("bad Exp-Golomb code in SPS")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        value = self.ue()
        return (value + 1) // 2 if value & 1 else -(value // 2)


def _rbsp(unit: bytes) -> bytes:
    return unit.replace(b"\x00\x00\x03", b"\x00\x00")


@dataclass(frozen=True)
class SpsInfo:
    profile: int
    compatibility: int
    level: int
    chroma_format: int
    bit_depth_luma: int
    bit_depth_chroma: int
    width: int
    height: int


def parse_sps(unit: bytes) -> SpsInfo:
    """Profile, level, chroma format, bit depths and the cropped picture size of an SPS."""
    if len(unit) < 4 or unit[0] & 0x1F != NAL_SPS:
        raise BitstreamError("not an SPS")
    profile, compatibility, level = unit[1], unit[2], unit[3]
    bits = _Bits(_rbsp(unit[4:]))
    bits.ue()  # seq_parameter_set_id
    chroma, depth_luma, depth_chroma, separate_planes = 1, 8, 8, 0
    if profile in _HIGH_PROFILES:
        chroma = bits.ue()
        if chroma == 3:
            separate_planes = bits.bit()
        depth_luma = bits.ue() + 8
        depth_chroma = bits.ue() + 8
        bits.bit()  # qpprime_y_zero_transform_bypass_flag
        if bits.bit():  # seq_scaling_matrix_present_flag
            for index in range(8 if chroma != 3 else 12):
                if bits.bit():
                    _skip_scaling_list(bits, 16 if index < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.bit()
        bits.se()
        bits.se()
        for _ in range(bits.ue()):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.bit()  # gaps_in_frame_num_value_allowed_flag
    width_mbs = bits.ue() + 1
    height_units = bits.ue() + 1
    frame_mbs_only = bits.bit()
    if not frame_mbs_only:
        bits.bit()
    bits.bit()  # direct_8x8_inference_flag
    crop = (bits.ue(), bits.ue(), bits.ue(), bits.ue()) if bits.bit() else (0, 0, 0, 0)
    chroma_type = 0 if separate_planes else chroma
    if chroma_type == 0:
        unit_x, unit_y = 1, 2 - frame_mbs_only
    else:
        unit_x = 2 if chroma_type in (1, 2) else 1
        unit_y = (2 if chroma_type == 1 else 1) * (2 - frame_mbs_only)
    width = width_mbs * 16 - unit_x * (crop[0] + crop[1])
    height = (2 - frame_mbs_only) * height_units * 16 - unit_y * (crop[2] + crop[3])
    return SpsInfo(profile, compatibility, level, chroma, depth_luma, depth_chroma, width, height)


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last, following = 8, 8
    for _ in range(size):
        if following:
            following = (last + bits.se() + 256) % 256
        last = following or last


@dataclass(frozen=True)
class AvcConfig:
    """The parameter sets of a stream: what the init segment and a decoder need."""

    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]

    @classmethod
    def from_units(cls, units: list[bytes]) -> AvcConfig | None:
        sps = tuple(u for u in units if u[0] & 0x1F == NAL_SPS)
        pps = tuple(u for u in units if u[0] & 0x1F == NAL_PPS)
        return cls(sps, pps) if sps and pps else None

    @classmethod
    def from_extradata(cls, extradata: bytes | None) -> AvcConfig | None:
        """From FFmpeg's extradata: an avcC record or Annex B parameter sets."""
        if not extradata:
            return None
        if extradata[0] != 1:
            return cls.from_units(annexb_units(extradata))
        units, at = [], 6
        count = extradata[5] & 0x1F
        for index in range(2):
            for _ in range(count):
                length = int.from_bytes(extradata[at : at + 2], "big")
                units.append(extradata[at + 2 : at + 2 + length])
                at += 2 + length
            if index == 0 and at < len(extradata):
                count = extradata[at]
                at += 1
        return cls.from_units(units)

    @property
    def info(self) -> SpsInfo:
        return parse_sps(self.sps[0])

    @property
    def codec(self) -> str:
        """The RFC 6381 codec string, e.g. ``avc1.64000D``."""
        sps = self.sps[0]
        return f"avc1.{sps[1]:02X}{sps[2]:02X}{sps[3]:02X}"

    def avcc(self) -> bytes:
        """The AVCDecoderConfigurationRecord (ISO/IEC 14496-15, 5.3.3.1)."""
        info = self.info
        out = bytearray([1, info.profile, info.compatibility, info.level, 0xFF, 0xE0 | len(self.sps)])
        for unit in self.sps:
            out += struct.pack(">H", len(unit)) + unit
        out.append(len(self.pps))
        for unit in self.pps:
            out += struct.pack(">H", len(unit)) + unit
        if info.profile in (100, 110, 122, 144):
            out += bytes(
                [
                    0xFC | info.chroma_format,
                    0xF8 | (info.bit_depth_luma - 8),
                    0xF8 | (info.bit_depth_chroma - 8),
                    0,
                ]
            )
        return bytes(out)


def init_segment(config: AvcConfig, timescale: int) -> bytes:
    """``ftyp`` + ``moov`` for one H.264 video track with no samples (they come in fragments)."""
    info = config.info
    width, height = info.width, info.height
    ftyp = box(b"ftyp", b"iso5", struct.pack(">I", 512), b"iso5iso6mp41avc1")
    mvhd = full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, 1000, 0),
        struct.pack(">IH10x", 0x10000, 0x100),
        _MATRIX,
        bytes(24),
        struct.pack(">I", TRACK_ID + 1),
    )
    tkhd = full_box(
        b"tkhd",
        0,
        3,  # enabled, in the movie
        struct.pack(">IIIII", 0, 0, TRACK_ID, 0, 0),
        bytes(8),
        struct.pack(">HHHH", 0, 0, 0, 0),
        _MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, 0, 0x55C4, 0))
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I4s12x", 0, b"vide"), b"WardWatch live\x00")
    avc1 = box(
        b"avc1",
        bytes(6),
        struct.pack(">H", 1),  # data_reference_index
        bytes(16),
        struct.pack(">HHIIIH", width, height, 0x480000, 0x480000, 0, 1),
        bytes(32),  # compressorname
        struct.pack(">Hh", 0x18, -1),
        box(b"avcC", config.avcc()),
    )
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
        full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    minf = box(
        b"minf",
        full_box(b"vmhd", 0, 1, bytes(8)),
        box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1))),
        stbl,
    )
    trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf))
    mvex = box(b"mvex", full_box(b"trex", 0, 0, struct.pack(">IIIII", TRACK_ID, 1, 0, 0, 0)))
    return ftyp + box(b"moov", mvhd, trak, mvex)


TFDT_OFFSET = 8 + 16 + 8 + 16 + 12
"""Where the 8-byte ``baseMediaDecodeTime`` sits in the fragments made here:
moof header, mfhd, traf header, tfhd, then the tfdt box's own header."""


@dataclass(frozen=True)
class Fragment:
    """One frame as ``moof`` + ``mdat``, with its decode time still to be filled in."""

    head: bytes
    tail: bytes

    def render(self, decode_time: int) -> bytes:
        return self.head + struct.pack(">Q", decode_time) + self.tail

    def parts(self, decode_time: int) -> tuple[bytes, bytes, bytes]:
        """The pieces of :meth:`render`, for joining with a header without another copy."""
        return self.head, struct.pack(">Q", decode_time), self.tail


def fragment(
    sequence: int, sample: bytes, duration: int, composition_offset: int, keyframe: bool
) -> Fragment:
    """A fragment holding one sample; times in the track's timescale."""
    tfhd = full_box(b"tfhd", 0, 0x020000, struct.pack(">I", TRACK_ID))  # default-base-is-moof
    trun_flags = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800
    trun_size = 12 + 8 + 16
    moof_size = 8 + 16 + 8 + len(tfhd) + 20 + trun_size
    trun = full_box(
        b"trun",
        1,
        trun_flags,
        struct.pack(">Ii", 1, moof_size + 8),  # sample count, data offset from the moof to the sample
        struct.pack(
            ">IIIi", duration, len(sample), _KEY_FLAGS if keyframe else _DELTA_FLAGS, composition_offset
        ),
    )
    mfhd = full_box(b"mfhd", 0, 0, struct.pack(">I", sequence & 0xFFFFFFFF))
    traf_size = 8 + len(tfhd) + 20 + len(trun)
    head = (
        struct.pack(">I4s", moof_size, b"moof")
        + mfhd
        + struct.pack(">I4s", traf_size, b"traf")
        + tfhd
        + struct.pack(">I4sI", 20, b"tfdt", 1 << 24)
    )
    assert len(head) == TFDT_OFFSET
    tail = trun + struct.pack(">I4s", 8 + len(sample), b"mdat") + sample
    return Fragment(head, tail)
