"""Top-slice splicing of H.264 (wardwatch.sim.h264), checked with real libx264 and FFmpeg.

Host loops and clock strips are encoded with libx264 through PyAV the way the simulated cameras
are meant to encode them (top two MB rows as a slice of their own, deblocking off, CABAC), the
spliced access units are decoded with FFmpeg's H.264 decoder, and the pictures are compared
with decodes of the untouched host and strip streams. Nothing is mocked.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from fractions import Fraction

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from wardwatch.sim.h264 import (
    NAL_IDR_SLICE,
    NAL_PPS,
    NAL_SLICE,
    NAL_SPS,
    SLICE_I,
    BitReader,
    BitWriter,
    PreparedStrip,
    SliceHeader,
    SpliceError,
    TopSliceSplicer,
    escape,
    join_annexb,
    parse_pps,
    parse_slice_header,
    parse_sps,
    split_annexb,
    unescape,
    write_slice_header,
)

Picture = NDArray[np.uint8]  # a yuv420p picture as PyAV lays it out: (height * 3 / 2, width)

WIDTH, HEIGHT = 640, 352
STRIP_HEIGHT = 32
GOP = 12
FRAMES = 2 * GOP
FRAMES_PER_TICK = 3  # the clock strip changes every few frames, like a ticking clock
BLACK = 16  # video-range black, the strip's background


# --- encoding and decoding -----------------------------------------------------------------------


def x264_params(width: int, keyint: int, extra: str = "") -> str:
    params = (
        f"slice-max-mbs={width // 16 * 2}:no-deblock=1:keyint={keyint}:min-keyint={keyint}:"
        "scenecut=0:bframes=0:repeat-headers=1:annexb=1"
    )
    return f"{params}:{extra}" if extra else params


def encode(
    pictures: Iterable[Picture],
    width: int,
    height: int,
    *,
    keyint: int,
    bit_rate: int = 0,
    preset: str = "superfast",
    extra: str = "",
) -> list[bytes]:
    """One Annex B access unit per picture, in decoding order."""
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width = width
    encoder.height = height
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = Fraction(1, 25)
    encoder.framerate = Fraction(25, 1)
    encoder.bit_rate = bit_rate  # 0: no rate control from FFmpeg, x264-params decide
    encoder.options = {"preset": preset, "x264-params": x264_params(width, keyint, extra)}
    access_units: list[bytes] = []
    for index, picture in enumerate(pictures):
        frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
        frame.pts = index
        access_units.extend(bytes(packet) for packet in encoder.encode(frame))
    access_units.extend(bytes(packet) for packet in encoder.encode(None))
    return access_units


def decode_in_order(access_units: Sequence[bytes]) -> list[tuple[int, Picture]]:
    """Decode with FFmpeg's h264 decoder, which must not report any error.

    Pictures come in output order, each with the index of the access unit it was coded in.
    """
    decoder = av.CodecContext.create("h264", "r")
    decoder.options = {"err_detect": "explode"}
    frames: list[av.VideoFrame] = []
    for index, access_unit in enumerate(access_units):
        packet = av.Packet(access_unit)
        packet.pts = packet.dts = index
        frames.extend(decoder.decode(packet))
    frames.extend(decoder.decode(None))
    return [(-1 if frame.pts is None else frame.pts, frame.to_ndarray()) for frame in frames]


def decode(access_units: Sequence[bytes]) -> list[Picture]:
    return [picture for _, picture in decode_in_order(access_units)]


def psnr(a: Picture, b: Picture) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def yuv(luma: NDArray[np.uint8], u: int = 128, v: int = 128) -> Picture:
    height, width = luma.shape
    chroma = np.empty((height // 2, width), np.uint8)  # U then V, each (h/2, w/2), packed by rows
    chroma[: height // 4] = u
    chroma[height // 4 :] = v
    return np.concatenate([luma, chroma])


def planes(picture: Picture) -> tuple[Picture, Picture, Picture]:
    """Y, U and V of a yuv420p picture."""
    height, width = picture.shape[0] * 2 // 3, picture.shape[1]
    chroma = picture[height:].reshape(2, height // 2, width // 2)
    return picture[:height], chroma[0], chroma[1]


def host_pictures(
    width: int, height: int, count: int, *, start_row: int, step: tuple[int, int], blank_band: bool = False
) -> list[Picture]:
    """A noisy scene (a blotchy grainy texture plus fresh noise each frame) with a moving square."""
    rng = np.random.default_rng(width * height + start_row)
    blotches = np.kron(rng.integers(40, 216, (height // 8 + 1, width // 8 + 1)), np.ones((8, 8)))
    texture = sum(np.roll(blotches, shift, (0, 1)) for shift in ((0, 0), (4, 0), (0, 4), (4, 4))) / 4
    texture = texture[:height, :width] + rng.normal(0, 8, (height, width))
    pictures = []
    for index in range(count):
        luma = texture + rng.normal(0, 3, (height, width))
        top = min(max(start_row + step[0] * index, 0), height - 64)
        left = min(max(24 + step[1] * index, 0), width - 64)
        luma[top : top + 64, left : left + 64] = 230 - (np.arange(64) % 16) * 4
        picture = yuv(np.clip(luma, 0, 255).astype(np.uint8))
        y, u, v = planes(picture)
        u[top // 2 : (top + 64) // 2, left // 2 : (left + 64) // 2] = 70
        if blank_band:  # the top of the source is covered where the clock will be
            y[:STRIP_HEIGHT] = BLACK
            u[: STRIP_HEIGHT // 2] = 128
            v[: STRIP_HEIGHT // 2] = 128
        pictures.append(picture)
    return pictures


FONT = {  # 3x5 glyphs, rows top to bottom
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    ":": ("000", "010", "000", "010", "000"),
    "-": ("000", "000", "111", "000", "000"),
    " ": ("000", "000", "000", "000", "000"),
}


def strip_picture(width: int, text: str) -> Picture:
    """White text, 25 px tall, on black: a camera name and a time of day."""
    luma = np.full((STRIP_HEIGHT, width), BLACK, np.uint8)
    scale = 5
    for position, char in enumerate(text):
        left = 8 + position * 4 * scale
        for row, bits in enumerate(FONT[char]):
            for column, bit in enumerate(bits):
                if bit == "1":
                    top = 3 + row * scale
                    luma[top : top + scale, left + column * scale : left + (column + 1) * scale] = 235
    return yuv(luma)


def strip_texts(count: int) -> list[str]:
    return [f"07-3 12:34:{second:02d}" for second in range(5, 5 + count)]


def encode_strips(width: int, texts: Iterable[str], preset: str = "superfast") -> list[bytes]:
    # Constant QP, so the strip PPS has pic_init_qp 18 where the host's (rate controlled) has
    # 26: splicing must rewrite slice_qp_delta for the host PPS.
    pictures = [strip_picture(width, text) for text in texts]
    return encode(pictures, width, STRIP_HEIGHT, keyint=1, preset=preset, extra="qp=18")


def nal_types(access_unit: bytes) -> list[int]:
    return [nal[0] & 0x1F for nal in split_annexb(access_unit)]


def slice_headers(access_unit: bytes, splicer: TopSliceSplicer) -> list[SliceHeader]:
    sps_by_id = {splicer.sps.sps_id: splicer.sps}
    pps_by_id = {splicer.pps.pps_id: splicer.pps}
    return [
        parse_slice_header(nal, sps_by_id, pps_by_id)
        for nal in split_annexb(access_unit)
        if nal[0] & 0x1F in (NAL_SLICE, NAL_IDR_SLICE)
    ]


# --- fixtures: one host loop, a run of clock strips ----------------------------------------------


@dataclasses.dataclass
class Spliced:
    host: list[bytes]
    host_decoded: list[Picture]
    strips: list[bytes]
    strips_decoded: list[Picture]
    splicer: TopSliceSplicer
    prepared: list[PreparedStrip]
    spliced: list[bytes]
    decoded: list[Picture]
    coded_in: list[int]
    """Index of the access unit each decoded picture came from (they differ with B-frames)."""

    def strip_index(self, access_unit: int) -> int:
        """Index of the strip spliced into the given access unit."""
        return (access_unit // FRAMES_PER_TICK) % len(self.strips)

    def strip_shown(self, picture: int) -> Picture:
        """The decoded strip that the given output picture must show."""
        return self.strips_decoded[self.strip_index(self.coded_in[picture])]


def splice_stream(host: list[bytes], strips: list[bytes]) -> Spliced:
    splicer = TopSliceSplicer.from_access_unit(host[0])
    prepared = [splicer.prepare(strip) for strip in strips]
    spliced = [
        splicer.splice(access_unit, prepared[(index // FRAMES_PER_TICK) % len(prepared)])
        for index, access_unit in enumerate(host)
    ]
    decoded = decode_in_order(spliced)
    return Spliced(
        host=host,
        host_decoded=decode(host),
        strips=strips,
        strips_decoded=decode(strips),
        splicer=splicer,
        prepared=prepared,
        spliced=spliced,
        decoded=[picture for _, picture in decoded],
        coded_in=[index for index, _ in decoded],
    )


@pytest.fixture(scope="module")
def strips() -> list[bytes]:
    return encode_strips(WIDTH, strip_texts(FRAMES // FRAMES_PER_TICK))


@pytest.fixture(scope="module")
def host_source() -> list[Picture]:
    # The square starts just under the strip and moves down and right: motion vectors of the
    # MB rows below the strip point into the top rows, where the spliced stream's reference
    # pictures show the strip instead of the host's pixels, so a little drift is expected.
    return host_pictures(WIDTH, HEIGHT, FRAMES, start_row=40, step=(2, 11))


@pytest.fixture(scope="module")
def spliced(host_source: list[Picture], strips: list[bytes]) -> Spliced:
    host = encode(host_source, WIDTH, HEIGHT, keyint=GOP, bit_rate=2_000_000)
    return splice_stream(host, strips)


def assert_spliced_pictures(result: Spliced, height: int, floor_db: float = 35.0) -> None:
    assert len(result.decoded) == len(result.host_decoded) == len(result.host)
    assert sorted(result.coded_in) == list(range(len(result.host))), "every access unit gave one picture"
    for index, (picture, host) in enumerate(zip(result.decoded, result.host_decoded, strict=True)):
        strip = result.strip_shown(index)
        top = psnr(picture[:STRIP_HEIGHT], strip[:STRIP_HEIGHT])
        rest = psnr(picture[STRIP_HEIGHT:height], host[STRIP_HEIGHT:height])
        assert top > 40, f"frame {index}: top rows differ from the strip ({top:.1f} dB)"
        assert rest > floor_db, f"frame {index}: host area differs ({rest:.1f} dB)"


# --- the spliced stream --------------------------------------------------------------------------


def test_the_host_stream_exercises_what_splicing_must_rewrite(spliced: Spliced) -> None:
    idr = [index for index, au in enumerate(spliced.host) if NAL_IDR_SLICE in nal_types(au)]
    assert idr == [0, GOP], "two GOPs, each opened by an IDR"
    headers = [slice_headers(au, spliced.splicer)[0] for au in spliced.host]
    assert {h.frame_num for h in headers} == set(range(GOP)), "frame_num counts up within each GOP"
    assert {h.idr_pic_id for h in headers if h.idr} == {0, 1}, "IDR pictures differ in idr_pic_id"
    assert any(h.slice_type_base != SLICE_I for h in headers), "P pictures are spliced too"
    strip_sps, strip_pps = (
        nal for nal in split_annexb(spliced.strips[0]) if nal[0] & 0x1F in (NAL_SPS, NAL_PPS)
    )
    sps = parse_sps(strip_sps)
    strip_init_qp = parse_pps(strip_pps, {sps.sps_id: sps}).pic_init_qp
    assert strip_init_qp != spliced.splicer.pps.pic_init_qp, "slice_qp_delta must be rewritten"
    assert len({p.slice_data for p in spliced.prepared}) == len(spliced.prepared), "strips differ"


def test_every_spliced_frame_decodes(spliced: Spliced) -> None:
    assert len(spliced.decoded) == FRAMES
    assert spliced.coded_in == list(range(FRAMES))
    assert all(picture.shape == (HEIGHT * 3 // 2, WIDTH) for picture in spliced.decoded)


def test_top_rows_show_the_strip_and_the_rest_shows_the_host(spliced: Spliced) -> None:
    assert_spliced_pictures(spliced, HEIGHT)
    # The strip's slice data and QP are reproduced exactly, chroma included.
    for index, picture in enumerate(spliced.decoded):
        strip = spliced.strip_shown(index)
        for plane, strip_plane in zip(planes(picture), planes(strip), strict=True):
            assert np.array_equal(plane[: strip_plane.shape[0]], strip_plane)


def test_the_clock_ticks_across_frames_and_gops(spliced: Spliced) -> None:
    shown = []
    for picture in spliced.decoded:
        matches = [
            index
            for index, strip in enumerate(spliced.strips_decoded)
            if np.array_equal(picture[:STRIP_HEIGHT], strip[:STRIP_HEIGHT])
        ]
        assert len(matches) == 1
        shown.append(matches[0])
    assert shown == [spliced.strip_index(frame) for frame in range(FRAMES)]
    assert len(set(shown)) == FRAMES // FRAMES_PER_TICK


def test_splice_replaces_only_the_first_slice(spliced: Spliced) -> None:
    for host_au, out_au, strip in zip(
        spliced.host,
        spliced.spliced,
        (spliced.prepared[spliced.strip_index(i)] for i in range(FRAMES)),
        strict=True,
    ):
        host_nals, out_nals = split_annexb(host_au), split_annexb(out_au)
        first = next(i for i, nal in enumerate(host_nals) if nal[0] & 0x1F in (NAL_SLICE, NAL_IDR_SLICE))
        assert out_nals[:first] == host_nals[:first]
        assert out_nals[first + 1 :] == host_nals[first + 1 :]
        old, new = slice_headers(host_au, spliced.splicer)[0], slice_headers(out_au, spliced.splicer)[0]
        assert out_nals[first][0] == host_nals[first][0], "nal_ref_idc and nal_unit_type are the host's"
        assert (new.first_mb_in_slice, new.slice_type, new.pps_id) == (0, SLICE_I, old.pps_id)
        assert (new.frame_num, new.idr_pic_id, new.pic_order_cnt_lsb) == (
            old.frame_num,
            old.idr_pic_id,
            old.pic_order_cnt_lsb,
        )
        marking = ("no_output_of_prior_pics", "long_term_reference", "adaptive_ref_pic_marking_mode")
        for name in (*marking, "memory_management_operations"):
            assert getattr(new, name) == getattr(old, name), name
        assert new.slice_qp == strip.slice_qp
        assert new.disable_deblocking_filter_idc == 1
        rbsp = unescape(out_nals[first][1:])
        assert rbsp[new.slice_data_bit_offset // 8 :] == strip.slice_data


def test_a_wrong_slice_qp_is_caught_by_the_picture_check(spliced: Spliced) -> None:
    """Negative control: FFmpeg decodes a strip with a wrong QP without an error, pixels tell."""
    prepared = spliced.prepared[0]
    tail = BitWriter()
    tail.se(prepared.slice_qp_delta + 2)
    tail.ue(1)
    value, bits = tail.getbits()
    wrong = dataclasses.replace(prepared, tail_value=value, tail_bits=bits)
    decoded = decode([spliced.splicer.splice(au, wrong) for au in spliced.host[:2]])
    strip = spliced.strips_decoded[0]
    assert all(psnr(picture[:STRIP_HEIGHT], strip[:STRIP_HEIGHT]) < 40 for picture in decoded)


@pytest.mark.parametrize("pyramid", ["none", "normal"])
def test_hosts_with_b_frames_poc_lsb_and_mmco(
    host_source: list[Picture], strips: list[bytes], pyramid: str
) -> None:
    host = encode(
        host_source, WIDTH, HEIGHT, keyint=GOP, bit_rate=2_000_000, extra=f"bframes=3:b-pyramid={pyramid}"
    )
    result = splice_stream(host, strips)
    assert result.splicer.sps.pic_order_cnt_type == 0
    headers = [h for au in host for h in slice_headers(au, result.splicer)]
    assert any(h.nal_ref_idc == 0 for h in headers), "non-reference B pictures"
    if pyramid == "normal":
        assert any(h.memory_management_operations for h in headers), "x264 marks B references unused"
    assert_spliced_pictures(result, HEIGHT)


def test_motion_through_a_blanked_band_does_not_drift(strips: list[bytes]) -> None:
    """The square moves up into the band; the source loop has the band painted black.

    Without the black band this scene drifts below the strip until the next IDR (down to about
    22 dB in the second GOP here): motion vectors read the strip instead of the host's top
    rows. With it, references into the band see the same black in both streams.
    """
    pictures = host_pictures(WIDTH, HEIGHT, FRAMES, start_row=100, step=(-6, 9), blank_band=True)
    host = encode(pictures, WIDTH, HEIGHT, keyint=GOP, bit_rate=2_000_000)
    assert_spliced_pictures(splice_stream(host, strips), HEIGHT, floor_db=40)


def test_1080p(capsys: pytest.CaptureFixture[str]) -> None:
    width, height = 1920, 1080
    rng = np.random.default_rng(1080)
    ramp = np.linspace(30, 200, width)[None, :] + np.linspace(0, 30, height)[:, None]
    pictures = []
    for index in range(6):
        luma = ramp + rng.normal(0, 6, (height, width))
        luma[400:600, 300 + 40 * index : 500 + 40 * index] = 220
        pictures.append(yuv(np.clip(luma, 0, 255).astype(np.uint8)))
    host = encode(pictures, width, height, keyint=3, bit_rate=4_000_000)
    strips = encode_strips(width, strip_texts(2))
    result = splice_stream(host, strips)
    assert result.splicer.sps.height_in_mbs == 68 and result.splicer.sps.frame_cropping is not None
    assert_spliced_pictures(result, height)

    timings = {}
    for kind, access_unit in (("IDR", host[0]), ("P", host[1])):
        assert nal_types(access_unit)[-1] == (NAL_IDR_SLICE if kind == "IDR" else NAL_SLICE)
        best = float("inf")
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(500):
                result.splicer.splice(access_unit, result.prepared[0])
            best = min(best, (time.perf_counter() - began) / 500)
        timings[kind] = f"{best * 1e6:.1f} µs ({len(access_unit) // 1000} kB AU)"
    with capsys.disabled():
        print(f"\n1080p splice(): IDR {timings['IDR']}, P {timings['P']}")


# --- refusals ------------------------------------------------------------------------------------


def test_prepare_refuses_a_cavlc_strip(spliced: Spliced) -> None:
    cavlc = encode_strips(WIDTH, ["1"], preset="ultrafast")[0]
    with pytest.raises(SpliceError, match="CAVLC"):
        spliced.splicer.prepare(cavlc)


def test_prepare_refuses_a_strip_of_another_width(spliced: Spliced) -> None:
    narrow = encode_strips(WIDTH - 64, ["1"])[0]
    with pytest.raises(SpliceError, match=r"strip is 36 MBs \(576 px\) wide, host is 40 MBs"):
        spliced.splicer.prepare(narrow)


def test_prepare_refuses_a_taller_strip_or_other_coding_tools(spliced: Spliced) -> None:
    tall_picture = yuv(np.full((64, WIDTH), BLACK, np.uint8))
    tall = encode([tall_picture], WIDTH, 64, keyint=1, extra=f"qp=18:slice-max-mbs={WIDTH // 16 * 4}")[0]
    with pytest.raises(SpliceError, match="2 MB rows"):
        spliced.splicer.prepare(tall)
    no_8x8 = encode([strip_picture(WIDTH, "1")], WIDTH, STRIP_HEIGHT, keyint=1, extra="qp=18:8x8dct=0")
    with pytest.raises(SpliceError, match="transform_8x8_mode_flag: strip False, host True"):
        spliced.splicer.prepare(no_8x8[0])
    with pytest.raises(SpliceError, match="exactly one slice"):
        spliced.splicer.prepare(spliced.host[1])


def test_splice_refuses_a_host_whose_first_slice_is_not_the_strip_rows(strips: list[bytes]) -> None:
    pictures = host_pictures(WIDTH, HEIGHT, 2, start_row=120, step=(4, 11))
    whole = encode(
        pictures, WIDTH, HEIGHT, keyint=GOP, bit_rate=2_000_000, extra=f"slice-max-mbs={WIDTH // 16 * 3}"
    )
    splicer = TopSliceSplicer.from_access_unit(whole[0])
    prepared = splicer.prepare(strips[0])
    with pytest.raises(SpliceError, match="next slice starts at MB 120"):
        splicer.splice(whole[1], prepared)


def test_splice_refuses_a_strip_prepared_for_another_host(spliced: Spliced, strips: list[bytes]) -> None:
    other = TopSliceSplicer.from_access_unit(spliced.host[0], strip_mb_rows=1)
    with pytest.raises(SpliceError, match="2 MB rows"):
        other.prepare(strips[0])
    assert TopSliceSplicer.from_access_unit(spliced.host[0]).splice(spliced.host[1], spliced.prepared[0])
    foreign = dataclasses.replace(spliced.prepared[0], host_parameter_sets=(b"\x67", b"\x68"))
    with pytest.raises(SpliceError, match="another host"):
        spliced.splicer.splice(spliced.host[1], foreign)


def test_splice_refuses_a_host_access_unit_that_redefines_its_pps(spliced: Spliced) -> None:
    strip_pps = next(nal for nal in split_annexb(spliced.strips[0]) if nal[0] & 0x1F == NAL_PPS)
    nals = [strip_pps if nal[0] & 0x1F == NAL_PPS else nal for nal in split_annexb(spliced.host[0])]
    with pytest.raises(SpliceError, match="redefines PPS 0"):
        spliced.splicer.splice(join_annexb(nals), spliced.prepared[0])
    with pytest.raises(SpliceError, match="strip access unit"):
        spliced.splicer.prepare(join_annexb([b"\x67\x64"]))


# --- the FFmpeg parser and the loops' reference count ---------------------------------------------


def keyframe_flags(access_units: Sequence[bytes]) -> list[bool]:
    parser = av.CodecContext.create("h264", "r")
    flags = [packet.is_keyframe for au in access_units for packet in parser.parse(au)]
    return flags + [packet.is_keyframe for packet in parser.parse(b"")]


def test_ffmpeg_parser_keeps_p_pictures_non_key_when_loops_use_two_references() -> None:
    """FFmpeg's h264 parser calls a picture key when its first slice is I and the SPS allows a
    single reference frame (x264 superfast's default): encode the loops with ref=2."""
    pictures = host_pictures(WIDTH, HEIGHT, GOP + 1, start_row=120, step=(4, 11))
    host = encode(pictures, WIDTH, HEIGHT, keyint=GOP, bit_rate=2_000_000, extra="ref=2")
    splicer = TopSliceSplicer.from_access_unit(host[0])
    strip = splicer.prepare(encode_strips(WIDTH, ["0"])[0])
    flags = keyframe_flags([splicer.splice(au, strip) for au in host])
    assert flags == [index % GOP == 0 for index in range(GOP + 1)]


# --- syntax building blocks ----------------------------------------------------------------------


def test_parameter_sets_and_slice_headers_round_trip(spliced: Spliced) -> None:
    sps_nal, pps_nal = (
        next(nal for nal in split_annexb(spliced.host[0]) if nal[0] & 0x1F == kind)
        for kind in (NAL_SPS, NAL_PPS)
    )
    sps = parse_sps(sps_nal)
    pps = parse_pps(pps_nal, {sps.sps_id: sps})
    assert (sps.width_in_mbs, sps.height_in_mbs, sps.frame_mbs_only) == (WIDTH // 16, HEIGHT // 16, True)
    assert (sps.pic_order_cnt_type, sps.chroma_format_idc, sps.bit_depth_luma) == (2, 1, 8)
    assert pps.entropy_coding_mode and pps.transform_8x8_mode and pps.deblocking_filter_control_present
    assert pps.num_slice_groups == 1 and pps.weighted_pred
    headers = 0
    for access_units in (spliced.host, spliced.spliced):
        for au in access_units:
            for nal in split_annexb(au):
                if nal[0] & 0x1F not in (NAL_SLICE, NAL_IDR_SLICE):
                    continue
                header = parse_slice_header(nal, {sps.sps_id: sps}, {pps.pps_id: pps})
                writer = BitWriter()
                write_slice_header(writer, header, {sps.sps_id: sps}, {pps.pps_id: pps})
                value, bits = writer.getbits()
                assert bits == header.header_bit_length
                assert BitReader(unescape(nal[1:])).u(bits) == value
                assert header.slice_data_bit_offset % 8 == 0
                headers += 1
    assert headers >= 2 * FRAMES * HEIGHT // 32


def test_annexb_split_and_join() -> None:
    nals = [b"\x67\x42\x00\x1e", b"\x68\xce", b"\x65\x88\x00\x00\x03\x01"]
    assert split_annexb(join_annexb(nals)) == nals
    mixed = (
        b"\x00\x00\x00\x01"
        + nals[0]
        + b"\x00\x00\x01"
        + nals[1]
        + b"\x00\x00\x00\x00\x01"
        + nals[2]
        + b"\x00"
    )
    assert split_annexb(mixed) == nals
    assert split_annexb(b"") == []


def reference_escape(rbsp: bytes) -> bytes:
    """The emulation prevention process of 7.4.1, one byte at a time."""
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    if zeros >= 2:
        out.append(3)
    return bytes(out)


zero_heavy = st.lists(st.sampled_from([0, 0, 0, 0, 1, 2, 3, 4, 0x80, 0xFF]), max_size=200).map(bytes)
rbsps = st.one_of(st.binary(max_size=200), zero_heavy)


@given(rbsps)
def test_escape_round_trips_and_removes_start_code_emulation(rbsp: bytes) -> None:
    escaped = escape(rbsp)
    assert unescape(escaped) == rbsp
    assert escaped == reference_escape(rbsp)
    for pattern in (b"\x00\x00\x00", b"\x00\x00\x01", b"\x00\x00\x02"):
        assert pattern not in escaped
    assert not escaped.endswith(b"\x00\x00")


@given(rbsps, rbsps)
def test_escaping_splits_after_a_nonzero_byte(head: bytes, tail: bytes) -> None:
    """Why PreparedStrip can hold the escaped slice data: a header ending in a nonzero byte
    leaves the escaping of what follows unchanged."""
    head += b"\x01"
    assert escape(head + tail) == escape(head) + escape(tail)


@given(st.lists(st.tuples(st.sampled_from(["u", "ue", "se"]), st.integers(0, 2**31 - 2)), max_size=40))
def test_bit_writer_and_reader_agree(elements: list[tuple[str, int]]) -> None:
    writer = BitWriter()
    expected = []
    for kind, number in elements:
        if kind == "u":
            bits = number % 33
            value = number & ((1 << bits) - 1)
            writer.u(bits, value)
            expected.append((kind, bits, value))
        elif kind == "ue":
            writer.ue(number)
            expected.append((kind, 0, number))
        else:
            value = -(number >> 1) if number & 1 else number >> 1
            writer.se(value)
            expected.append((kind, 0, value))
    writer.rbsp_trailing_bits()
    reader = BitReader(writer.to_bytes())
    for kind, bits, value in expected:
        read = reader.u(bits) if kind == "u" else reader.ue() if kind == "ue" else reader.se()
        assert read == value
    assert not reader.more_rbsp_data()
