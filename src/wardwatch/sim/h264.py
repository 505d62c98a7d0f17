"""Burn a wall clock into pre-encoded H.264 loops by splicing in a fresh top slice.

Why this module exists: the simulated 1080p cameras are served from pre-encoded H.264 loops,
because encoding 50 live cameras would cost too much, yet every picture must show a running
wall clock. The loops are encoded with x264 so that the top two macroblock rows (32 px) of
every picture are a slice of their own (``slice-max-mbs`` = width in MBs x 2) and with the
deblocking filter off (``no-deblock=1``). Once a second a small "strip" picture (same width,
32 px tall: camera name and time) is encoded as an IDR with the same settings, and at serving
time :class:`TopSliceSplicer` replaces the first slice of every host access unit with the
strip's intra slice. Only the slice header is rewritten (frame_num, IDR or not, picture order
count, reference marking, QP); the slice data is copied byte for byte. That is sound because:

* with CABAC, ``slice_data()`` starts byte aligned (``cabac_alignment_one_bit``), so a new
  header of any length can be put in front of it;
* an I slice's data depends only on SliceQPY (which we keep by recomputing
  ``slice_qp_delta`` against the host PPS) and on the SPS/PPS coding tools, which
  :meth:`TopSliceSplicer.prepare` checks are the same;
* intra prediction and CABAC neighbour contexts never cross slice boundaries, and with the
  host's deblocking off nothing below the strip depends on the strip's pixels.

What remains is drift where the host's inter prediction reads reference pixels from the top
rows (motion vectors that point into the strip); it ends at the next IDR.

Notes for encoding the loops (see tests/test_sim_h264.py, which checks them with libx264 and
FFmpeg):

* Paint the top 32 rows of the source loop in the strip's background colour before encoding.
  References into the band then see the same pixels in both streams; with motion through an
  unpainted band the pictures below drifted to about 22 dB PSNR before the next IDR.
* Use ``ref=2`` or more (x264 superfast defaults to 1). FFmpeg's H.264 parser takes a picture
  whose first slice is I for a key frame when the SPS allows only one reference frame, so every
  spliced P picture would be flagged as a key frame by FFmpeg-based muxers and servers.
* x264 writes slice_type 5 (P, "all slices of the picture are P") in P pictures. The spliced
  picture then has one I slice among slices that claim otherwise. FFmpeg decodes such pictures
  (the tests show it) but a strict conformance checker would flag them. Keeping every other
  slice unchanged is what makes splicing cheap.
* The splicer checks that the host's first slice is exactly the strip's MB rows and raises
  :class:`SpliceError` otherwise; x264 adds further slice boundaries of its own (thread
  slices), which do no harm.

Besides the splicer the module has the small pieces of H.264 syntax it needs: Annex B
framing, emulation prevention, Exp-Golomb bit I/O, SPS, PPS and slice header parsing, and
slice header writing. Section numbers refer to ITU-T H.264.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "NAL_AUD",
    "NAL_IDR_SLICE",
    "NAL_PPS",
    "NAL_SEI",
    "NAL_SLICE",
    "NAL_SPS",
    "SLICE_B",
    "SLICE_I",
    "SLICE_P",
    "SLICE_SI",
    "SLICE_SP",
    "BitReader",
    "BitWriter",
    "BitstreamError",
    "Pps",
    "PredWeight",
    "PredWeightTable",
    "PreparedStrip",
    "SliceHeader",
    "SpliceError",
    "Sps",
    "TopSliceSplicer",
    "escape",
    "join_annexb",
    "parse_pps",
    "parse_slice_header",
    "parse_sps",
    "split_annexb",
    "unescape",
    "write_slice_header",
]

NAL_SLICE = 1
NAL_IDR_SLICE = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9
_NAL_PARTITION_TYPES = (2, 3, 4)
_NAL_EXTENSION_SLICE_TYPES = (20, 21)

SLICE_P = 0
SLICE_B = 1
SLICE_I = 2
SLICE_SP = 3
SLICE_SI = 4

# Profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices (7.3.2.1.1).
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})

_START_CODE = b"\x00\x00\x00\x01"
_START_CODE_3 = b"\x00\x00\x01"
_EMULATED = re.compile(rb"\x00\x00(?=[\x00-\x03]|\Z)")
_ESCAPED = b"\x00\x00\x03"
# Escaped bytes of a slice NAL unit read before trying to parse its header; doubled on demand.
_HEADER_PREFIX = 64


class BitstreamError(ValueError):
    """The bytes do not follow the H.264 syntax (truncated, out of range or unsupported)."""


class _OutOfBits(BitstreamError):
    """Raised by BitReader when a read runs past the end of its data."""


class SpliceError(ValueError):
    """The strip or host stream cannot be spliced; the message says what differs."""


# --- Annex B framing and emulation prevention --------------------------------------------------


def _nal_spans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every NAL unit in an Annex B byte stream, start codes excluded."""
    pos = data.find(_START_CODE_3)
    if pos < 0:
        if data.strip(b"\x00"):
            raise BitstreamError("not an Annex B byte stream: no start code")
        return []
    if data[:pos].strip(b"\x00"):
        raise BitstreamError("not an Annex B byte stream: data before the first start code")
    spans: list[tuple[int, int]] = []
    start = pos + 3
    size = len(data)
    while True:
        nxt = data.find(_START_CODE_3, start)
        end = size if nxt < 0 else nxt
        # Zero bytes before a start code are its zero_byte or trailing_zero_8bits; a NAL unit
        # never ends in 0x00.
        while end > start and data[end - 1] == 0:
            end -= 1
        if end > start:
            spans.append((start, end))
        if nxt < 0:
            return spans
        start = nxt + 3


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units (each starting with its NAL header byte) of an Annex B byte stream."""
    return [data[start:end] for start, end in _nal_spans(data)]


def join_annexb(nals: Iterable[bytes]) -> bytes:
    """An Annex B byte stream of ``nals``, each behind a 4-byte start code."""
    parts: list[bytes] = []
    for nal in nals:
        parts.append(_START_CODE)
        parts.append(nal)
    return b"".join(parts)


def unescape(payload: bytes) -> bytes:
    """RBSP of an escaped NAL payload: every emulation_prevention_three_byte removed."""
    if _ESCAPED not in payload:
        return payload
    return payload.replace(_ESCAPED, b"\x00\x00")


def escape(rbsp: bytes) -> bytes:
    """Escaped NAL payload of an RBSP: 0x03 after every 00 00 followed by 00..03 or the end."""
    if b"\x00\x00" not in rbsp:
        return rbsp
    return _EMULATED.sub(_ESCAPED, rbsp)


# --- bit I/O -------------------------------------------------------------------------------------


class BitReader:
    """Reads H.264 syntax elements (u(n), ue(v), se(v)) from RBSP bytes, MSB first."""

    __slots__ = ("_data", "_pos", "_size", "_stop_bit")

    def __init__(self, data: bytes, position: int = 0) -> None:
        self._data = data
        self._size = len(data) * 8
        if not 0 <= position <= self._size:
            raise ValueError(f"bit position {position} outside 0..{self._size}")
        self._pos = position
        self._stop_bit: int | None = None

    @property
    def position(self) -> int:
        """Bits read so far."""
        return self._pos

    @property
    def bits_left(self) -> int:
        return self._size - self._pos

    def byte_aligned(self) -> bool:
        return self._pos & 7 == 0

    def u(self, n: int) -> int:
        """An n-bit unsigned integer."""
        if n == 0:
            return 0
        pos = self._pos
        end = pos + n
        if end > self._size:
            raise _OutOfBits(f"read of {n} bits at bit {pos} runs past the end ({self._size} bits)")
        last = (end + 7) >> 3
        chunk = int.from_bytes(self._data[pos >> 3 : last], "big")
        self._pos = end
        return (chunk >> ((last << 3) - end)) & ((1 << n) - 1)

    def flag(self) -> bool:
        return self.u(1) == 1

    def ue(self) -> int:
        """An unsigned Exp-Golomb code, ue(v)."""
        data = self._data
        pos = self._pos
        zeros = 0
        while True:
            index = pos >> 3
            if index >= len(data):
                raise _OutOfBits(f"ue(v) at bit {self._pos} runs past the end")
            shift = pos & 7
            byte = (data[index] << shift) & 0xFF
            if byte:
                lead = 8 - byte.bit_length()
                zeros += lead
                pos += lead + 1
                break
            zeros += 8 - shift
            pos += 8 - shift
            if zeros > 31:
                raise BitstreamError(f"ue(v) at bit {self._pos} has more than 31 leading zeros")
        if zeros > 31:
            raise BitstreamError(f"ue(v) at bit {self._pos} has more than 31 leading zeros")
        self._pos = pos
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        """A signed Exp-Golomb code, se(v)."""
        code = self.ue()
        return (code + 1) >> 1 if code & 1 else -(code >> 1)

    def more_rbsp_data(self) -> bool:
        """True while syntax remains before the rbsp_stop_one_bit (7.2)."""
        if self._stop_bit is None:
            data = self._data
            index = len(data) - 1
            while index >= 0 and data[index] == 0:
                index -= 1
            if index < 0:
                raise BitstreamError("RBSP has no rbsp_stop_one_bit")
            byte = data[index]
            self._stop_bit = index * 8 + 7 - ((byte & -byte).bit_length() - 1)
        return self._pos < self._stop_bit


class BitWriter:
    """Writes H.264 syntax elements MSB first into an integer accumulator."""

    __slots__ = ("_bits", "_value")

    def __init__(self) -> None:
        self._value = 0
        self._bits = 0

    @property
    def position(self) -> int:
        """Bits written so far."""
        return self._bits

    def byte_aligned(self) -> bool:
        return self._bits & 7 == 0

    def u(self, n: int, value: int) -> None:
        """``value`` as an n-bit unsigned integer."""
        if value < 0 or value >> n:
            raise ValueError(f"{value} does not fit in u({n})")
        self._value = (self._value << n) | value
        self._bits += n

    def flag(self, value: bool) -> None:
        self._value = (self._value << 1) | value
        self._bits += 1

    def ue(self, value: int) -> None:
        """``value`` as ue(v)."""
        if value < 0:
            raise ValueError(f"ue(v) cannot code {value}")
        code = value + 1
        n = code.bit_length()
        self._value = (self._value << (2 * n - 1)) | code
        self._bits += 2 * n - 1

    def se(self, value: int) -> None:
        """``value`` as se(v)."""
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def bits(self, value: int, n: int) -> None:
        """Append ``n`` raw bits (as returned by :meth:`getbits` of another writer)."""
        self.u(n, value)

    def getbits(self) -> tuple[int, int]:
        """(value, bit count) of everything written so far."""
        return self._value, self._bits

    def align(self, bit: int) -> None:
        """Pad with ``bit`` (0 or 1) up to the next byte boundary."""
        pad = -self._bits & 7
        self._value = (self._value << pad) | (((1 << pad) - 1) if bit else 0)
        self._bits += pad

    def rbsp_trailing_bits(self) -> None:
        self.flag(True)
        self.align(0)

    def to_bytes(self) -> bytes:
        """The bytes written; the writer must be byte aligned."""
        if self._bits & 7:
            raise ValueError(f"{self._bits} bits written: not byte aligned")
        return self._value.to_bytes(self._bits >> 3, "big")


# --- parameter sets ------------------------------------------------------------------------------

ScalingLists = tuple[tuple[int, ...] | None, ...]
"""One entry per scaling list: None when not sent, () for "use the default", else the values."""


def _scaling_list(reader: BitReader, size: int) -> tuple[int, ...]:
    last = 8
    following = 8
    values: list[int] = []
    for index in range(size):
        if following:
            delta = reader.se()
            if not -128 <= delta <= 127:
                raise BitstreamError(f"delta_scale {delta} out of range")
            following = (last + delta + 256) % 256
            if index == 0 and following == 0:
                return ()
        value = following or last
        values.append(value)
        last = value
    return tuple(values)


def _scaling_lists(reader: BitReader, count: int) -> ScalingLists:
    return tuple(
        (_scaling_list(reader, 16 if index < 6 else 64) if reader.flag() else None) for index in range(count)
    )


def _rbsp_of(nal: bytes, expected_type: int, what: str) -> bytes:
    if not nal:
        raise BitstreamError(f"empty NAL unit where an {what} was expected")
    if nal[0] & 0x80:
        raise BitstreamError("forbidden_zero_bit is set")
    if nal[0] & 0x1F != expected_type:
        raise BitstreamError(f"NAL unit type {nal[0] & 0x1F} is not an {what} ({expected_type})")
    return unescape(nal[1:])


@dataclass(frozen=True, slots=True)
class Sps:
    """The fields of a sequence parameter set (7.3.2.1.1) up to, not including, the VUI."""

    profile_idc: int
    constraint_flags: int
    level_idc: int
    sps_id: int
    chroma_format_idc: int
    separate_colour_plane: bool
    bit_depth_luma: int
    bit_depth_chroma: int
    qpprime_y_zero_transform_bypass: bool
    scaling_lists: ScalingLists | None
    log2_max_frame_num: int
    pic_order_cnt_type: int
    log2_max_pic_order_cnt_lsb: int
    delta_pic_order_always_zero: bool
    offset_for_non_ref_pic: int
    offset_for_top_to_bottom_field: int
    offsets_for_ref_frame: tuple[int, ...]
    max_num_ref_frames: int
    gaps_in_frame_num_allowed: bool
    width_in_mbs: int
    height_in_map_units: int
    frame_mbs_only: bool
    mb_adaptive_frame_field: bool
    direct_8x8_inference: bool
    frame_cropping: tuple[int, int, int, int] | None
    vui_parameters_present: bool

    @property
    def height_in_mbs(self) -> int:
        """Frame height in macroblocks."""
        return (2 - self.frame_mbs_only) * self.height_in_map_units

    @property
    def chroma_array_type(self) -> int:
        return 0 if self.separate_colour_plane else self.chroma_format_idc


def parse_sps(nal: bytes) -> Sps:  # noqa: PLR0915 - follows the syntax table of 7.3.2.1.1 in order
    """Parse a sequence parameter set NAL unit (NAL header byte included)."""
    reader = BitReader(_rbsp_of(nal, NAL_SPS, "SPS"))
    try:
        profile_idc = reader.u(8)
        constraint_flags = reader.u(8)
        level_idc = reader.u(8)
        sps_id = reader.ue()
        if sps_id > 31:
            raise BitstreamError(f"seq_parameter_set_id {sps_id} out of range")
        chroma_format_idc = 1
        separate_colour_plane = False
        bit_depth_luma = bit_depth_chroma = 8
        bypass = False
        scaling: ScalingLists | None = None
        if profile_idc in _HIGH_PROFILES:
            chroma_format_idc = reader.ue()
            if chroma_format_idc > 3:
                raise BitstreamError(f"chroma_format_idc {chroma_format_idc} out of range")
            if chroma_format_idc == 3:
                separate_colour_plane = reader.flag()
            bit_depth_luma = reader.ue() + 8
            bit_depth_chroma = reader.ue() + 8
            bypass = reader.flag()
            if reader.flag():
                scaling = _scaling_lists(reader, 8 if chroma_format_idc != 3 else 12)
        log2_max_frame_num = reader.ue() + 4
        if log2_max_frame_num > 16:
            raise BitstreamError(f"log2_max_frame_num {log2_max_frame_num} out of range")
        poc_type = reader.ue()
        log2_max_poc_lsb = 0
        always_zero = False
        offset_non_ref = offset_top_bottom = 0
        offsets: tuple[int, ...] = ()
        if poc_type == 0:
            log2_max_poc_lsb = reader.ue() + 4
            if log2_max_poc_lsb > 16:
                raise BitstreamError(f"log2_max_pic_order_cnt_lsb {log2_max_poc_lsb} out of range")
        elif poc_type == 1:
            always_zero = reader.flag()
            offset_non_ref = reader.se()
            offset_top_bottom = reader.se()
            cycle = reader.ue()
            if cycle > 255:
                raise BitstreamError(f"num_ref_frames_in_pic_order_cnt_cycle {cycle} out of range")
            offsets = tuple(reader.se() for _ in range(cycle))
        elif poc_type != 2:
            raise BitstreamError(f"pic_order_cnt_type {poc_type} out of range")
        max_num_ref_frames = reader.ue()
        gaps = reader.flag()
        width_in_mbs = reader.ue() + 1
        height_in_map_units = reader.ue() + 1
        frame_mbs_only = reader.flag()
        mbaff = False if frame_mbs_only else reader.flag()
        direct_8x8 = reader.flag()
        cropping = (reader.ue(), reader.ue(), reader.ue(), reader.ue()) if reader.flag() else None
        vui = reader.flag()
    except _OutOfBits as exc:
        raise BitstreamError(f"truncated SPS: {exc}") from exc
    return Sps(
        profile_idc=profile_idc,
        constraint_flags=constraint_flags,
        level_idc=level_idc,
        sps_id=sps_id,
        chroma_format_idc=chroma_format_idc,
        separate_colour_plane=separate_colour_plane,
        bit_depth_luma=bit_depth_luma,
        bit_depth_chroma=bit_depth_chroma,
        qpprime_y_zero_transform_bypass=bypass,
        scaling_lists=scaling,
        log2_max_frame_num=log2_max_frame_num,
        pic_order_cnt_type=poc_type,
        log2_max_pic_order_cnt_lsb=log2_max_poc_lsb,
        delta_pic_order_always_zero=always_zero,
        offset_for_non_ref_pic=offset_non_ref,
        offset_for_top_to_bottom_field=offset_top_bottom,
        offsets_for_ref_frame=offsets,
        max_num_ref_frames=max_num_ref_frames,
        gaps_in_frame_num_allowed=gaps,
        width_in_mbs=width_in_mbs,
        height_in_map_units=height_in_map_units,
        frame_mbs_only=frame_mbs_only,
        mb_adaptive_frame_field=mbaff,
        direct_8x8_inference=direct_8x8,
        frame_cropping=cropping,
        vui_parameters_present=vui,
    )


@dataclass(frozen=True, slots=True)
class Pps:
    """A picture parameter set (7.3.2.2), with the High-profile extension when present."""

    pps_id: int
    sps_id: int
    entropy_coding_mode: bool
    """True for CABAC, False for CAVLC."""
    bottom_field_pic_order_in_frame_present: bool
    num_slice_groups: int
    slice_group_map_type: int
    slice_group_change_rate: int
    num_ref_idx_l0_default_active: int
    num_ref_idx_l1_default_active: int
    weighted_pred: bool
    weighted_bipred_idc: int
    pic_init_qp: int
    pic_init_qs: int
    chroma_qp_index_offset: int
    deblocking_filter_control_present: bool
    constrained_intra_pred: bool
    redundant_pic_cnt_present: bool
    transform_8x8_mode: bool
    scaling_lists: ScalingLists | None
    second_chroma_qp_index_offset: int


def parse_pps(nal: bytes, sps_by_id: Mapping[int, Sps]) -> Pps:  # noqa: PLR0915 - follows 7.3.2.2 in order
    """Parse a picture parameter set NAL unit; ``sps_by_id`` must hold the SPS it refers to."""
    reader = BitReader(_rbsp_of(nal, NAL_PPS, "PPS"))
    try:
        pps_id = reader.ue()
        sps_id = reader.ue()
        if pps_id > 255 or sps_id > 31:
            raise BitstreamError(f"PPS id {pps_id} or SPS id {sps_id} out of range")
        sps = sps_by_id.get(sps_id)
        if sps is None:
            raise BitstreamError(f"PPS {pps_id} refers to unknown SPS {sps_id}")
        entropy = reader.flag()
        bottom_present = reader.flag()
        num_slice_groups = reader.ue() + 1
        map_type = 0
        change_rate = 1
        if num_slice_groups > 8:
            raise BitstreamError(f"num_slice_groups {num_slice_groups} out of range")
        if num_slice_groups > 1:
            map_type = reader.ue()
            if map_type == 0:
                for _ in range(num_slice_groups):
                    reader.ue()  # run_length_minus1
            elif map_type == 2:
                for _ in range(num_slice_groups - 1):
                    reader.ue()  # top_left
                    reader.ue()  # bottom_right
            elif map_type in (3, 4, 5):
                reader.flag()  # slice_group_change_direction_flag
                change_rate = reader.ue() + 1
            elif map_type == 6:
                id_bits = (num_slice_groups - 1).bit_length()
                for _ in range(reader.ue() + 1):
                    reader.u(id_bits)  # slice_group_id
            elif map_type != 1:
                raise BitstreamError(f"slice_group_map_type {map_type} out of range")
        l0_default = reader.ue() + 1
        l1_default = reader.ue() + 1
        weighted_pred = reader.flag()
        weighted_bipred_idc = reader.u(2)
        pic_init_qp = 26 + reader.se()
        pic_init_qs = 26 + reader.se()
        chroma_qp_offset = reader.se()
        deblocking_control = reader.flag()
        constrained_intra = reader.flag()
        redundant_present = reader.flag()
        transform_8x8 = False
        scaling: ScalingLists | None = None
        second_chroma_qp_offset = chroma_qp_offset
        if reader.more_rbsp_data():
            transform_8x8 = reader.flag()
            if reader.flag():
                count = 6 + (2 if sps.chroma_format_idc != 3 else 6) * transform_8x8
                scaling = _scaling_lists(reader, count)
            second_chroma_qp_offset = reader.se()
    except _OutOfBits as exc:
        raise BitstreamError(f"truncated PPS: {exc}") from exc
    return Pps(
        pps_id=pps_id,
        sps_id=sps_id,
        entropy_coding_mode=entropy,
        bottom_field_pic_order_in_frame_present=bottom_present,
        num_slice_groups=num_slice_groups,
        slice_group_map_type=map_type,
        slice_group_change_rate=change_rate,
        num_ref_idx_l0_default_active=l0_default,
        num_ref_idx_l1_default_active=l1_default,
        weighted_pred=weighted_pred,
        weighted_bipred_idc=weighted_bipred_idc,
        pic_init_qp=pic_init_qp,
        pic_init_qs=pic_init_qs,
        chroma_qp_index_offset=chroma_qp_offset,
        deblocking_filter_control_present=deblocking_control,
        constrained_intra_pred=constrained_intra,
        redundant_pic_cnt_present=redundant_present,
        transform_8x8_mode=transform_8x8,
        scaling_lists=scaling,
        second_chroma_qp_index_offset=second_chroma_qp_offset,
    )


# --- slice header --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PredWeight:
    """Explicit weights of one reference index: (weight, offset) for luma and for Cb, Cr."""

    luma: tuple[int, int] | None
    chroma: tuple[tuple[int, int], tuple[int, int]] | None


@dataclass(frozen=True, slots=True)
class PredWeightTable:
    """pred_weight_table() (7.3.3.2)."""

    luma_log2_weight_denom: int
    chroma_log2_weight_denom: int | None
    l0: tuple[PredWeight, ...]
    l1: tuple[PredWeight, ...]


@dataclass(frozen=True, slots=True)
class SliceHeader:
    """A slice header (7.3.3) of a coded frame without slice groups changing over time.

    Optional elements that the syntax leaves out are None (or () / False where noted).
    ``ref_pic_list_modification_l0/l1`` hold (modification_of_pic_nums_idc, value) pairs,
    None when the flag is 0; ``memory_management_operations`` hold
    (memory_management_control_operation, *its arguments in syntax order*), without the
    terminating 0. ``slice_data_bit_offset`` is where slice_data() starts in the RBSP: after
    the cabac_alignment_one_bits with CABAC, so a multiple of 8 then.
    """

    nal_ref_idc: int
    nal_unit_type: int
    first_mb_in_slice: int
    slice_type: int
    pps_id: int
    colour_plane_id: int | None
    frame_num: int
    field_pic: bool
    bottom_field: bool
    idr_pic_id: int | None
    pic_order_cnt_lsb: int | None
    delta_pic_order_cnt_bottom: int | None
    delta_pic_order_cnt: tuple[int, ...]
    redundant_pic_cnt: int | None
    direct_spatial_mv_pred: bool | None
    num_ref_idx_active_override: bool | None
    num_ref_idx_l0_active: int
    num_ref_idx_l1_active: int
    ref_pic_list_modification_l0: tuple[tuple[int, int], ...] | None
    ref_pic_list_modification_l1: tuple[tuple[int, int], ...] | None
    pred_weight_table: PredWeightTable | None
    no_output_of_prior_pics: bool | None
    long_term_reference: bool | None
    adaptive_ref_pic_marking_mode: bool | None
    memory_management_operations: tuple[tuple[int, ...], ...]
    cabac_init_idc: int | None
    slice_qp_delta: int
    sp_for_switch: bool | None
    slice_qs_delta: int | None
    disable_deblocking_filter_idc: int | None
    slice_alpha_c0_offset_div2: int | None
    slice_beta_offset_div2: int | None
    slice_group_change_cycle: int | None
    slice_qp: int
    """SliceQPY = 26 + pic_init_qp_minus26 + slice_qp_delta."""
    header_bit_length: int
    """RBSP bits of the header syntax, before any cabac_alignment_one_bit."""
    slice_data_bit_offset: int

    @property
    def slice_type_base(self) -> int:
        """slice_type % 5: SLICE_P, SLICE_B, SLICE_I, SLICE_SP or SLICE_SI."""
        return self.slice_type % 5

    @property
    def idr(self) -> bool:
        return self.nal_unit_type == NAL_IDR_SLICE


def _slice_group_change_cycle_bits(sps: Sps, pps: Pps) -> int:
    # Ceil(Log2(PicSizeInMapUnits / SliceGroupChangeRate + 1)), in exact arithmetic.
    size = sps.width_in_mbs * sps.height_in_map_units
    rate = pps.slice_group_change_rate
    bits = 0
    while (rate << bits) < size + rate:
        bits += 1
    return bits


def _ref_pic_list_modification(reader: BitReader) -> tuple[tuple[int, int], ...] | None:
    if not reader.flag():
        return None
    ops: list[tuple[int, int]] = []
    while True:
        idc = reader.ue()
        if idc == 3:
            return tuple(ops)
        if idc > 5:
            raise BitstreamError(f"modification_of_pic_nums_idc {idc} out of range")
        ops.append((idc, reader.ue()))
        if len(ops) > 64:
            raise BitstreamError("too many reference picture list modifications")


def _pred_weights(reader: BitReader, count: int, chroma: bool) -> tuple[PredWeight, ...]:
    weights: list[PredWeight] = []
    for _ in range(count):
        luma = (reader.se(), reader.se()) if reader.flag() else None
        chroma_weights = None
        if chroma and reader.flag():
            chroma_weights = ((reader.se(), reader.se()), (reader.se(), reader.se()))
        weights.append(PredWeight(luma, chroma_weights))
    return tuple(weights)


def _parse_slice_header_rbsp(  # noqa: PLR0915 - follows the syntax table of 7.3.3 in order
    nal_header: int, rbsp: bytes, sps_by_id: Mapping[int, Sps], pps_by_id: Mapping[int, Pps]
) -> SliceHeader:
    nal_ref_idc = (nal_header >> 5) & 3
    nal_unit_type = nal_header & 0x1F
    idr = nal_unit_type == NAL_IDR_SLICE
    reader = BitReader(rbsp)
    first_mb = reader.ue()
    slice_type = reader.ue()
    if slice_type > 9:
        raise BitstreamError(f"slice_type {slice_type} out of range")
    base = slice_type % 5
    pps_id = reader.ue()
    pps = pps_by_id.get(pps_id)
    if pps is None:
        raise BitstreamError(f"slice refers to unknown PPS {pps_id}")
    sps = sps_by_id.get(pps.sps_id)
    if sps is None:
        raise BitstreamError(f"PPS {pps_id} refers to unknown SPS {pps.sps_id}")
    if idr and base not in (SLICE_I, SLICE_SI):
        raise BitstreamError(f"IDR NAL unit carries slice_type {slice_type}")
    colour_plane_id = reader.u(2) if sps.separate_colour_plane else None
    frame_num = reader.u(sps.log2_max_frame_num)
    field_pic = bottom_field = False
    if not sps.frame_mbs_only:
        field_pic = reader.flag()
        if field_pic:
            bottom_field = reader.flag()
    idr_pic_id = reader.ue() if idr else None
    poc_lsb = delta_bottom = None
    delta_poc: tuple[int, ...] = ()
    if sps.pic_order_cnt_type == 0:
        poc_lsb = reader.u(sps.log2_max_pic_order_cnt_lsb)
        if pps.bottom_field_pic_order_in_frame_present and not field_pic:
            delta_bottom = reader.se()
    elif sps.pic_order_cnt_type == 1 and not sps.delta_pic_order_always_zero:
        if pps.bottom_field_pic_order_in_frame_present and not field_pic:
            delta_poc = (reader.se(), reader.se())
        else:
            delta_poc = (reader.se(),)
    redundant_pic_cnt = reader.ue() if pps.redundant_pic_cnt_present else None
    direct_spatial = reader.flag() if base == SLICE_B else None
    override = None
    l0_active = l1_active = 0
    if base in (SLICE_P, SLICE_SP, SLICE_B):
        l0_active = pps.num_ref_idx_l0_default_active
        l1_active = pps.num_ref_idx_l1_default_active if base == SLICE_B else 0
        override = reader.flag()
        if override:
            l0_active = reader.ue() + 1
            if base == SLICE_B:
                l1_active = reader.ue() + 1
        if l0_active > 32 or l1_active > 32:
            raise BitstreamError("num_ref_idx_active out of range")
    mod_l0 = mod_l1 = None
    if base not in (SLICE_I, SLICE_SI):
        mod_l0 = _ref_pic_list_modification(reader)
        if base == SLICE_B:
            mod_l1 = _ref_pic_list_modification(reader)
    weights = None
    if (pps.weighted_pred and base in (SLICE_P, SLICE_SP)) or (
        pps.weighted_bipred_idc == 1 and base == SLICE_B
    ):
        chroma = sps.chroma_array_type != 0
        luma_denom = reader.ue()
        chroma_denom = reader.ue() if chroma else None
        l0 = _pred_weights(reader, l0_active, chroma)
        l1 = _pred_weights(reader, l1_active, chroma) if base == SLICE_B else ()
        weights = PredWeightTable(luma_denom, chroma_denom, l0, l1)
    no_output = long_term = adaptive = None
    mmcos: tuple[tuple[int, ...], ...] = ()
    if nal_ref_idc:
        if idr:
            no_output = reader.flag()
            long_term = reader.flag()
        else:
            adaptive = reader.flag()
            if adaptive:
                mmcos = _mmco_operations(reader)
    cabac_init_idc = None
    if pps.entropy_coding_mode and base not in (SLICE_I, SLICE_SI):
        cabac_init_idc = reader.ue()
        if cabac_init_idc > 2:
            raise BitstreamError(f"cabac_init_idc {cabac_init_idc} out of range")
    slice_qp_delta = reader.se()
    sp_for_switch = slice_qs_delta = None
    if base in (SLICE_SP, SLICE_SI):
        if base == SLICE_SP:
            sp_for_switch = reader.flag()
        slice_qs_delta = reader.se()
    deblock_idc = alpha = beta = None
    if pps.deblocking_filter_control_present:
        deblock_idc = reader.ue()
        if deblock_idc > 2:
            raise BitstreamError(f"disable_deblocking_filter_idc {deblock_idc} out of range")
        if deblock_idc != 1:
            alpha = reader.se()
            beta = reader.se()
    change_cycle = None
    if pps.num_slice_groups > 1 and pps.slice_group_map_type in (3, 4, 5):
        change_cycle = reader.u(_slice_group_change_cycle_bits(sps, pps))
    header_bits = reader.position
    if pps.entropy_coding_mode:
        while not reader.byte_aligned():
            if not reader.u(1):
                raise BitstreamError("cabac_alignment_one_bit is 0")
    slice_qp = pps.pic_init_qp + slice_qp_delta
    if not -6 * (sps.bit_depth_luma - 8) <= slice_qp <= 51:
        raise BitstreamError(f"SliceQPY {slice_qp} out of range")
    return SliceHeader(
        nal_ref_idc=nal_ref_idc,
        nal_unit_type=nal_unit_type,
        first_mb_in_slice=first_mb,
        slice_type=slice_type,
        pps_id=pps_id,
        colour_plane_id=colour_plane_id,
        frame_num=frame_num,
        field_pic=field_pic,
        bottom_field=bottom_field,
        idr_pic_id=idr_pic_id,
        pic_order_cnt_lsb=poc_lsb,
        delta_pic_order_cnt_bottom=delta_bottom,
        delta_pic_order_cnt=delta_poc,
        redundant_pic_cnt=redundant_pic_cnt,
        direct_spatial_mv_pred=direct_spatial,
        num_ref_idx_active_override=override,
        num_ref_idx_l0_active=l0_active,
        num_ref_idx_l1_active=l1_active,
        ref_pic_list_modification_l0=mod_l0,
        ref_pic_list_modification_l1=mod_l1,
        pred_weight_table=weights,
        no_output_of_prior_pics=no_output,
        long_term_reference=long_term,
        adaptive_ref_pic_marking_mode=adaptive,
        memory_management_operations=mmcos,
        cabac_init_idc=cabac_init_idc,
        slice_qp_delta=slice_qp_delta,
        sp_for_switch=sp_for_switch,
        slice_qs_delta=slice_qs_delta,
        disable_deblocking_filter_idc=deblock_idc,
        slice_alpha_c0_offset_div2=alpha,
        slice_beta_offset_div2=beta,
        slice_group_change_cycle=change_cycle,
        slice_qp=slice_qp,
        header_bit_length=header_bits,
        slice_data_bit_offset=reader.position,
    )


def _mmco_operations(reader: BitReader) -> tuple[tuple[int, ...], ...]:
    ops: list[tuple[int, ...]] = []
    while True:
        op = reader.ue()
        if op == 0:
            return tuple(ops)
        if op in (1, 2, 4, 6):
            ops.append((op, reader.ue()))
        elif op == 3:
            ops.append((op, reader.ue(), reader.ue()))
        elif op == 5:
            ops.append((op,))
        else:
            raise BitstreamError(f"memory_management_control_operation {op} out of range")
        if len(ops) > 66:
            raise BitstreamError("too many memory management control operations")


def parse_slice_header(nal: bytes, sps_by_id: Mapping[int, Sps], pps_by_id: Mapping[int, Pps]) -> SliceHeader:
    """Parse the header of a coded slice NAL unit (type 1 or 5, NAL header byte included).

    Only the start of the NAL unit is unescaped, so this costs the same for a big slice as for
    a small one.
    """
    if not nal:
        raise BitstreamError("empty NAL unit")
    nal_header = nal[0]
    if nal_header & 0x80:
        raise BitstreamError("forbidden_zero_bit is set")
    nal_type = nal_header & 0x1F
    if nal_type not in (NAL_SLICE, NAL_IDR_SLICE):
        raise BitstreamError(f"NAL unit type {nal_type} is not a coded slice (1 or 5)")
    return _parse_slice_header_in(nal, 0, len(nal), sps_by_id, pps_by_id)


def _parse_slice_header_in(
    buffer: bytes, start: int, end: int, sps_by_id: Mapping[int, Sps], pps_by_id: Mapping[int, Pps]
) -> SliceHeader:
    """Parse the header of the slice NAL unit ``buffer[start:end]`` without copying all of it."""
    prefix = _HEADER_PREFIX
    while True:
        whole = start + 1 + prefix >= end
        rbsp = unescape(buffer[start + 1 : end if whole else start + 1 + prefix])
        try:
            return _parse_slice_header_rbsp(buffer[start], rbsp, sps_by_id, pps_by_id)
        except _OutOfBits as exc:
            if whole:
                raise BitstreamError(f"truncated slice header: {exc}") from exc
            prefix *= 4


def _write_dec_ref_pic_marking(writer: BitWriter, header: SliceHeader) -> None:
    if header.idr:
        writer.flag(bool(header.no_output_of_prior_pics))
        writer.flag(bool(header.long_term_reference))
        return
    writer.flag(bool(header.adaptive_ref_pic_marking_mode))
    if header.adaptive_ref_pic_marking_mode:
        for op in header.memory_management_operations:
            for value in op:
                writer.ue(value)
        writer.ue(0)


def _write_ref_pic_list_modification(writer: BitWriter, ops: tuple[tuple[int, int], ...] | None) -> None:
    writer.flag(ops is not None)
    if ops is not None:
        for idc, value in ops:
            writer.ue(idc)
            writer.ue(value)
        writer.ue(3)


def _write_pred_weights(writer: BitWriter, weights: tuple[PredWeight, ...], chroma: bool) -> None:
    for weight in weights:
        writer.flag(weight.luma is not None)
        if weight.luma is not None:
            writer.se(weight.luma[0])
            writer.se(weight.luma[1])
        if chroma:
            writer.flag(weight.chroma is not None)
            if weight.chroma is not None:
                for chroma_weight, chroma_offset in weight.chroma:
                    writer.se(chroma_weight)
                    writer.se(chroma_offset)


def write_slice_header(  # noqa: PLR0915 - follows the syntax table of 7.3.3 in order
    writer: BitWriter, header: SliceHeader, sps_by_id: Mapping[int, Sps], pps_by_id: Mapping[int, Pps]
) -> None:
    """Write the slice header syntax of ``header`` (without cabac_alignment_one_bits).

    ``slice_qp`` and the bit offsets are derived values and are not written; the parameter
    sets decide which elements are present, as when parsing.
    """
    pps = pps_by_id[header.pps_id]
    sps = sps_by_id[pps.sps_id]
    base = header.slice_type_base
    writer.ue(header.first_mb_in_slice)
    writer.ue(header.slice_type)
    writer.ue(header.pps_id)
    if sps.separate_colour_plane:
        writer.u(2, header.colour_plane_id or 0)
    writer.u(sps.log2_max_frame_num, header.frame_num)
    if not sps.frame_mbs_only:
        writer.flag(header.field_pic)
        if header.field_pic:
            writer.flag(header.bottom_field)
    if header.idr:
        writer.ue(header.idr_pic_id or 0)
    if sps.pic_order_cnt_type == 0:
        writer.u(sps.log2_max_pic_order_cnt_lsb, header.pic_order_cnt_lsb or 0)
        if pps.bottom_field_pic_order_in_frame_present and not header.field_pic:
            writer.se(header.delta_pic_order_cnt_bottom or 0)
    elif sps.pic_order_cnt_type == 1 and not sps.delta_pic_order_always_zero:
        count = 2 if pps.bottom_field_pic_order_in_frame_present and not header.field_pic else 1
        for index in range(count):
            writer.se(header.delta_pic_order_cnt[index] if index < len(header.delta_pic_order_cnt) else 0)
    if pps.redundant_pic_cnt_present:
        writer.ue(header.redundant_pic_cnt or 0)
    if base == SLICE_B:
        writer.flag(bool(header.direct_spatial_mv_pred))
    if base in (SLICE_P, SLICE_SP, SLICE_B):
        writer.flag(bool(header.num_ref_idx_active_override))
        if header.num_ref_idx_active_override:
            writer.ue(header.num_ref_idx_l0_active - 1)
            if base == SLICE_B:
                writer.ue(header.num_ref_idx_l1_active - 1)
    if base not in (SLICE_I, SLICE_SI):
        _write_ref_pic_list_modification(writer, header.ref_pic_list_modification_l0)
        if base == SLICE_B:
            _write_ref_pic_list_modification(writer, header.ref_pic_list_modification_l1)
    if (pps.weighted_pred and base in (SLICE_P, SLICE_SP)) or (
        pps.weighted_bipred_idc == 1 and base == SLICE_B
    ):
        table = header.pred_weight_table
        if table is None:
            raise ValueError("the PPS requires a pred_weight_table for this slice")
        chroma = sps.chroma_array_type != 0
        writer.ue(table.luma_log2_weight_denom)
        if chroma:
            writer.ue(table.chroma_log2_weight_denom or 0)
        _write_pred_weights(writer, table.l0, chroma)
        if base == SLICE_B:
            _write_pred_weights(writer, table.l1, chroma)
    if header.nal_ref_idc:
        _write_dec_ref_pic_marking(writer, header)
    if pps.entropy_coding_mode and base not in (SLICE_I, SLICE_SI):
        writer.ue(header.cabac_init_idc or 0)
    writer.se(header.slice_qp_delta)
    if base in (SLICE_SP, SLICE_SI):
        if base == SLICE_SP:
            writer.flag(bool(header.sp_for_switch))
        writer.se(header.slice_qs_delta or 0)
    if pps.deblocking_filter_control_present:
        idc = header.disable_deblocking_filter_idc or 0
        writer.ue(idc)
        if idc != 1:
            writer.se(header.slice_alpha_c0_offset_div2 or 0)
            writer.se(header.slice_beta_offset_div2 or 0)
    if pps.num_slice_groups > 1 and pps.slice_group_map_type in (3, 4, 5):
        writer.u(_slice_group_change_cycle_bits(sps, pps), header.slice_group_change_cycle or 0)


# --- splicing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreparedStrip:
    """A strip slice made ready for one :class:`TopSliceSplicer`; reuse it for every host AU.

    ``tail_value``/``tail_bits`` are the header bits after dec_ref_pic_marking (slice_qp_delta
    under the host PPS and the deblocking elements). ``slice_data`` is the strip slice's RBSP
    from the byte-aligned start of slice_data() through its trailing bits; ``escaped_slice_data``
    is the same escaped on its own, which is what it becomes behind a header whose last byte
    is not zero.
    """

    host_parameter_sets: tuple[bytes, bytes]
    mb_count: int
    slice_qp: int
    slice_qp_delta: int
    disable_deblocking_filter_idc: int | None
    tail_value: int
    tail_bits: int
    slice_data: bytes
    escaped_slice_data: bytes


def _nal_type_name(nal_type: int) -> str:
    return {NAL_SLICE: "non-IDR slice", NAL_IDR_SLICE: "IDR slice", NAL_SPS: "SPS", NAL_PPS: "PPS"}.get(
        nal_type, f"type {nal_type}"
    )


def _coding_tool_differences(strip_sps: Sps, strip_pps: Pps, host_sps: Sps, host_pps: Pps) -> list[str]:
    """Parameter-set fields that change how an I slice's data parses or reconstructs."""
    checks: list[tuple[str, object, object]] = [
        ("SPS chroma_format_idc", strip_sps.chroma_format_idc, host_sps.chroma_format_idc),
        ("SPS separate_colour_plane_flag", strip_sps.separate_colour_plane, host_sps.separate_colour_plane),
        ("SPS bit_depth_luma", strip_sps.bit_depth_luma, host_sps.bit_depth_luma),
        ("SPS bit_depth_chroma", strip_sps.bit_depth_chroma, host_sps.bit_depth_chroma),
        (
            "SPS qpprime_y_zero_transform_bypass_flag",
            strip_sps.qpprime_y_zero_transform_bypass,
            host_sps.qpprime_y_zero_transform_bypass,
        ),
        ("SPS scaling matrices", strip_sps.scaling_lists, host_sps.scaling_lists),
        ("SPS frame_mbs_only_flag", strip_sps.frame_mbs_only, host_sps.frame_mbs_only),
        ("PPS entropy_coding_mode_flag", strip_pps.entropy_coding_mode, host_pps.entropy_coding_mode),
        ("PPS transform_8x8_mode_flag", strip_pps.transform_8x8_mode, host_pps.transform_8x8_mode),
        (
            "PPS constrained_intra_pred_flag",
            strip_pps.constrained_intra_pred,
            host_pps.constrained_intra_pred,
        ),
        ("PPS scaling matrices", strip_pps.scaling_lists, host_pps.scaling_lists),
        ("PPS chroma_qp_index_offset", strip_pps.chroma_qp_index_offset, host_pps.chroma_qp_index_offset),
        (
            "PPS second_chroma_qp_index_offset",
            strip_pps.second_chroma_qp_index_offset,
            host_pps.second_chroma_qp_index_offset,
        ),
    ]
    return [f"{name}: strip {mine!r}, host {theirs!r}" for name, mine, theirs in checks if mine != theirs]


def _first_ue(buffer: bytes, start: int) -> int:
    """The first ue(v) of the RBSP of the NAL unit at ``buffer[start]`` (after its header byte)."""
    return BitReader(unescape(buffer[start + 1 : start + 9])).ue()


class TopSliceSplicer:
    """Replaces the top slice of every picture of one host stream with a strip's I slice.

    Built once per host loop from its SPS and PPS NAL units; :meth:`prepare` turns a strip
    access unit into a :class:`PreparedStrip` (once per clock tick) and :meth:`splice` puts it
    into a host access unit (once per frame).
    """

    def __init__(self, host_sps: bytes, host_pps: bytes, strip_mb_rows: int = 2) -> None:
        host_sps = host_sps.rstrip(b"\x00")
        host_pps = host_pps.rstrip(b"\x00")
        try:
            sps = parse_sps(host_sps)
            pps = parse_pps(host_pps, {sps.sps_id: sps})
        except BitstreamError as exc:
            raise SpliceError(f"host parameter sets: {exc}") from exc
        if not pps.entropy_coding_mode:
            raise SpliceError("host PPS uses CAVLC; splicing needs CABAC (byte-aligned slice data)")
        if pps.num_slice_groups != 1:
            raise SpliceError(f"host PPS has {pps.num_slice_groups} slice groups; FMO is not supported")
        if not sps.frame_mbs_only:
            raise SpliceError("host SPS allows field coding or MBAFF; only frame coding is supported")
        if sps.separate_colour_plane:
            raise SpliceError("host SPS codes colour planes separately; not supported")
        if not 0 < strip_mb_rows < sps.height_in_mbs:
            raise SpliceError(
                f"strip of {strip_mb_rows} MB rows does not fit a host {sps.height_in_mbs} MB rows tall"
            )
        self.sps = sps
        self.pps = pps
        self.strip_mb_rows = strip_mb_rows
        self.strip_mb_count = strip_mb_rows * sps.width_in_mbs
        self._parameter_sets = (host_sps, host_pps)
        self._sps_by_id = {sps.sps_id: sps}
        self._pps_by_id = {pps.pps_id: pps}
        # first_mb_in_slice = 0, slice_type = 2 (I), pic_parameter_set_id: fixed for this host.
        head = BitWriter()
        head.ue(0)
        head.ue(SLICE_I)
        head.ue(pps.pps_id)
        self._head_value, self._head_bits = head.getbits()

    @classmethod
    def from_access_unit(cls, host_access_unit: bytes, strip_mb_rows: int = 2) -> TopSliceSplicer:
        """A splicer for the stream whose (IDR) access unit carries the SPS and PPS in band."""
        nals = split_annexb(host_access_unit)
        sps = [nal for nal in nals if nal[0] & 0x1F == NAL_SPS]
        pps = [nal for nal in nals if nal[0] & 0x1F == NAL_PPS]
        if len(sps) != 1 or len(pps) != 1:
            raise SpliceError(
                f"expected one SPS and one PPS in the access unit, found {len(sps)} and {len(pps)}"
            )
        return cls(sps[0], pps[0], strip_mb_rows)

    def prepare(self, strip_access_unit: bytes) -> PreparedStrip:
        """Check a strip access unit against the host and precompute its spliceable slice."""
        try:
            nals = split_annexb(strip_access_unit)
            sps_by_id: dict[int, Sps] = {}
            pps_nals: list[bytes] = []
            slices: list[bytes] = []
            for nal in nals:
                nal_type = nal[0] & 0x1F
                if nal_type == NAL_SPS:
                    sps = parse_sps(nal)
                    sps_by_id[sps.sps_id] = sps
                elif nal_type == NAL_PPS:
                    pps_nals.append(nal)
                elif nal_type in (NAL_SLICE, NAL_IDR_SLICE):
                    slices.append(nal)
                elif nal_type in _NAL_PARTITION_TYPES or nal_type in _NAL_EXTENSION_SLICE_TYPES:
                    raise SpliceError(f"strip access unit has a {_nal_type_name(nal_type)} NAL unit")
            pps_by_id = {pps.pps_id: pps for pps in (parse_pps(nal, sps_by_id) for nal in pps_nals)}
            if len(slices) != 1:
                raise SpliceError(f"strip access unit must hold exactly one slice, found {len(slices)}")
            if not sps_by_id or not pps_by_id:
                raise SpliceError("strip access unit must carry its SPS and PPS (x264: repeat-headers=1)")
            header = parse_slice_header(slices[0], sps_by_id, pps_by_id)
        except BitstreamError as exc:
            raise SpliceError(f"strip access unit: {exc}") from exc
        strip_pps = pps_by_id[header.pps_id]
        strip_sps = sps_by_id[strip_pps.sps_id]
        self._check_strip(header, strip_sps, strip_pps)
        return self._prepared(slices[0], header, strip_pps)

    def _check_strip(self, header: SliceHeader, strip_sps: Sps, strip_pps: Pps) -> None:
        host_sps, host_pps = self.sps, self.pps
        if not strip_pps.entropy_coding_mode:
            raise SpliceError(
                "strip is CAVLC-coded (entropy_coding_mode_flag = 0); splicing needs CABAC so that "
                "slice data starts byte aligned. Encode the strip with the host's settings "
                "(x264 preset ultrafast turns CABAC off)"
            )
        if strip_sps.width_in_mbs != host_sps.width_in_mbs:
            raise SpliceError(
                f"strip is {strip_sps.width_in_mbs} MBs ({strip_sps.width_in_mbs * 16} px) wide, "
                f"host is {host_sps.width_in_mbs} MBs ({host_sps.width_in_mbs * 16} px)"
            )
        if strip_pps.num_slice_groups != 1:
            raise SpliceError(
                f"strip PPS has {strip_pps.num_slice_groups} slice groups; FMO is not supported"
            )
        if not strip_sps.frame_mbs_only or strip_sps.height_in_mbs != self.strip_mb_rows:
            raise SpliceError(
                f"strip must be a progressive picture {self.strip_mb_rows} MB rows "
                f"({self.strip_mb_rows * 16} px) tall, it is {strip_sps.height_in_mbs} MB rows"
            )
        if header.slice_type_base != SLICE_I:
            raise SpliceError(f"strip slice has slice_type {header.slice_type}; an I slice is needed")
        if header.first_mb_in_slice != 0:
            raise SpliceError(f"strip slice starts at MB {header.first_mb_in_slice}, not 0")
        if header.redundant_pic_cnt:
            raise SpliceError("strip slice is a redundant coded slice")
        differences = _coding_tool_differences(strip_sps, strip_pps, host_sps, host_pps)
        if differences:
            raise SpliceError(
                "strip and host were encoded with different coding tools ("
                + "; ".join(differences)
                + "); encode both with the same settings"
            )

    def _prepared(self, nal: bytes, header: SliceHeader, strip_pps: Pps) -> PreparedStrip:
        host_pps = self.pps
        qp_delta = header.slice_qp - host_pps.pic_init_qp
        tail = BitWriter()
        tail.se(qp_delta)
        deblock_idc: int | None = None
        if host_pps.deblocking_filter_control_present:
            if (
                strip_pps.deblocking_filter_control_present
                and header.disable_deblocking_filter_idc is not None
            ):
                deblock_idc = header.disable_deblocking_filter_idc
                tail.ue(deblock_idc)
                if deblock_idc != 1:
                    tail.se(header.slice_alpha_c0_offset_div2 or 0)
                    tail.se(header.slice_beta_offset_div2 or 0)
            else:
                deblock_idc = 1
                tail.ue(1)
        if header.slice_data_bit_offset & 7:
            raise SpliceError("strip slice data does not start byte aligned")
        rbsp = unescape(nal[1:])
        data = rbsp[header.slice_data_bit_offset >> 3 :]
        if not data.rstrip(b"\x00"):
            raise SpliceError("strip slice has no slice data")
        tail_value, tail_bits = tail.getbits()
        return PreparedStrip(
            host_parameter_sets=self._parameter_sets,
            mb_count=self.strip_mb_count,
            slice_qp=header.slice_qp,
            slice_qp_delta=qp_delta,
            disable_deblocking_filter_idc=deblock_idc,
            tail_value=tail_value,
            tail_bits=tail_bits,
            slice_data=data,
            escaped_slice_data=escape(data),
        )

    def splice(self, host_access_unit: bytes, strip: PreparedStrip) -> bytes:
        """``host_access_unit`` (Annex B) with its first slice replaced by the strip's slice.

        Every other NAL unit is kept byte for byte and in order, start codes included.
        """
        if strip.host_parameter_sets is not self._parameter_sets and (
            strip.host_parameter_sets != self._parameter_sets or strip.mb_count != self.strip_mb_count
        ):
            raise SpliceError("strip was prepared by a splicer for another host stream")
        au = host_access_unit
        first_slice = self._first_slice(au)
        if first_slice is None:
            raise SpliceError("host access unit holds no coded slice")
        start, end, following = first_slice
        try:
            header = _parse_slice_header_in(au, start, end, self._sps_by_id, self._pps_by_id)
            second_mb = self._next_slice_first_mb(au, following)
        except BitstreamError as exc:
            raise SpliceError(f"host access unit: {exc}") from exc
        if header.first_mb_in_slice != 0:
            raise SpliceError(
                f"host access unit's first slice starts at MB {header.first_mb_in_slice}, not 0"
            )
        if second_mb != strip.mb_count:
            found = "it is the only slice" if second_mb < 0 else f"the next slice starts at MB {second_mb}"
            raise SpliceError(
                f"host's first slice must cover exactly the strip's {strip.mb_count} MBs "
                f"({self.strip_mb_rows} rows), but {found} "
                "(encode the host with slice-max-mbs = width in MBs x rows)"
            )
        sps = self.sps
        pps = self.pps
        writer = BitWriter()
        writer.bits(self._head_value, self._head_bits)
        writer.u(sps.log2_max_frame_num, header.frame_num)
        if header.idr_pic_id is not None:
            writer.ue(header.idr_pic_id)
        if header.pic_order_cnt_lsb is not None:
            writer.u(sps.log2_max_pic_order_cnt_lsb, header.pic_order_cnt_lsb)
            if header.delta_pic_order_cnt_bottom is not None:
                writer.se(header.delta_pic_order_cnt_bottom)
        for delta in header.delta_pic_order_cnt:
            writer.se(delta)
        if pps.redundant_pic_cnt_present:
            writer.ue(header.redundant_pic_cnt or 0)
        if header.nal_ref_idc:
            _write_dec_ref_pic_marking(writer, header)
        writer.bits(strip.tail_value, strip.tail_bits)
        writer.align(1)  # cabac_alignment_one_bit
        slice_header = writer.to_bytes()
        if slice_header[-1]:
            # The junction cannot form 00 00 0x, so the escaped strip data is valid as it is. This
            # is always the case: the last byte holds alignment one bits or the end of an
            # Exp-Golomb code shorter than 8 bits (slice_qp_delta or a deblocking element).
            payload = [escape(slice_header), strip.escaped_slice_data]
        else:
            payload = [escape(slice_header + strip.slice_data)]
        view = memoryview(au)  # one copy of the host bytes, into the result
        return b"".join([view[: start + 1], *payload, view[end:]])

    def _first_slice(self, au: bytes) -> tuple[int, int, int] | None:
        """(start, end, next start code or -1) of the first coded slice NAL unit in ``au``.

        Parameter sets met before it must match the splicer's.
        """
        pos = au.find(_START_CODE_3)
        if pos < 0 or au[:pos].strip(b"\x00"):
            raise SpliceError("host access unit is not an Annex B byte stream")
        size = len(au)
        start = pos + 3
        while True:
            nxt = au.find(_START_CODE_3, start)
            end = size if nxt < 0 else nxt
            while end > start and au[end - 1] == 0:
                end -= 1
            if end > start:
                nal_type = au[start] & 0x1F
                if nal_type in (NAL_SLICE, NAL_IDR_SLICE):
                    return start, end, nxt
                if nal_type in (NAL_SPS, NAL_PPS):
                    self._check_parameter_set(au[start:end])
                elif nal_type in _NAL_PARTITION_TYPES or nal_type in _NAL_EXTENSION_SLICE_TYPES:
                    raise SpliceError(f"host access unit has a {_nal_type_name(nal_type)} NAL unit")
            if nxt < 0:
                return None
            start = nxt + 3

    def _next_slice_first_mb(self, au: bytes, pos: int) -> int:
        """first_mb_in_slice of the next coded slice from start code ``pos`` on; -1 if none."""
        while pos >= 0:
            start = pos + 3
            if start < len(au) and au[start]:
                nal_type = au[start] & 0x1F
                if nal_type in (NAL_SLICE, NAL_IDR_SLICE):
                    return _first_ue(au, start)
                if nal_type in _NAL_PARTITION_TYPES or nal_type in _NAL_EXTENSION_SLICE_TYPES:
                    raise SpliceError(f"host access unit has a {_nal_type_name(nal_type)} NAL unit")
            pos = au.find(_START_CODE_3, start)
        return -1

    def _check_parameter_set(self, nal: bytes) -> None:
        """Accept an in-band SPS/PPS only if it cannot change how the host slices parse."""
        sps_nal, pps_nal = self._parameter_sets
        if nal in (sps_nal, pps_nal):
            return
        try:
            if nal[0] & 0x1F == NAL_SPS:
                sps = parse_sps(nal)
                if sps.sps_id == self.sps.sps_id and sps != self.sps:
                    raise SpliceError(
                        f"host access unit redefines SPS {sps.sps_id}; "
                        "build the splicer from this stream's SPS"
                    )
            else:
                pps_id = BitReader(unescape(nal[1:9])).ue()
                if pps_id == self.pps.pps_id and parse_pps(nal, self._sps_by_id) != self.pps:
                    raise SpliceError(
                        f"host access unit redefines PPS {pps_id}; build the splicer from this stream's PPS"
                    )
        except BitstreamError as exc:
            raise SpliceError(f"host access unit parameter set: {exc}") from exc
