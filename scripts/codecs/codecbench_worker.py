#!/usr/bin/env python3
"""codecbench's bundled codec worker: libavif + libaom (AVIF), libjxl (JPEG XL) and OpenJPH
(HTJ2K) from the `imagecodecs` wheel, and jpegli from the `pyjpegli` wheel.

    pip install imagecodecs pyjpegli

codecbench starts this script once per worker thread and keeps it running; it speaks the worker
protocol of docs/worker-protocol.md (one JSON request per line on stdin, one JSON reply per
line on stdout) and times each library call itself, so rows exclude Python start-up, imports
and file I/O. The same script is embedded in the codecbench binary (the built-in `avif`
encoder=aom, `jxl`, `jpegli` and `htj2k` codecs run it); this copy is also a worked example of
a worker for your own codec (see worker_template.py for a small one).

Images travel as raw files: interleaved samples, row by row, 8-bit or 16-bit little-endian.
Every library call runs single-threaded (codecbench runs cells in parallel).
"""
import ctypes
import glob
import json
import os
import platform
import sys
import time

# The protocol owns the real stdout; anything a library prints goes to stderr instead.
PROTOCOL = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

INSTALL = "pip install imagecodecs pyjpegli"

try:
    import numpy as np
    import imagecodecs
    from imagecodecs import _avif  # noqa: F401  (loads libavif and libaom for ctypes below)
    IMPORT_ERROR = None
except Exception as e:  # noqa: BLE001  (any failure to import is reported per codec)
    IMPORT_ERROR = f"{type(e).__name__}: {e}"

try:
    import pyjpegli
    JPEGLI_ERROR = None
except Exception as e:  # noqa: BLE001
    JPEGLI_ERROR = f"{type(e).__name__}: {e}"


class CodecError(Exception):
    pass


def need(error, what):
    if error is not None:
        raise CodecError(f"{what} is not available to {sys.executable} ({error}); "
                         f"install it with `{INSTALL}`")


def wheel(dist):
    try:
        from importlib.metadata import version
        return f"{dist} {version(dist)}"
    except Exception:  # noqa: BLE001
        return dist


BUILD = f"{platform.machine()} manylinux wheel, SIMD chosen at run time"


# ---------------------------------------------------------------- raw pixel files

def read_raw(req):
    w, h, c, depth = req["width"], req["height"], req["channels"], req["depth"]
    dtype = np.uint8 if depth == 8 else np.dtype("<u2")
    a = np.fromfile(req["input"], dtype=dtype)
    if a.size != w * h * c:
        raise CodecError(f"input holds {a.size} samples, expected {w}x{h}x{c}")
    a = a.astype(np.uint16) if depth == 16 else a
    return a.reshape((h, w) if c == 1 else (h, w, c))


def write_raw(a, path):
    if a.dtype not in (np.uint8, np.uint16):
        raise CodecError(f"decoder returned {a.dtype} samples (want uint8 or uint16)")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    out = a.astype("<u2") if a.dtype == np.uint16 else a
    np.ascontiguousarray(out).tofile(path)
    c = 1 if a.ndim == 2 else a.shape[2]
    return {"width": a.shape[1], "height": a.shape[0], "channels": c,
            "depth": 16 if a.dtype == np.uint16 else 8}


# ---------------------------------------------------------------- AVIF: libavif + libaom

class Avif:
    """libavif's C API through ctypes (imagecodecs.avif_encode has no `tune`): RGB(A) 8-bit
    to YUV 4:4:4 or 4:2:0 by libavif (BT.601 matrix, full range), AV1 by libaom."""

    def __init__(self):
        need(IMPORT_ERROR, "imagecodecs")
        libdir = os.path.join(os.path.dirname(imagecodecs.__file__), os.pardir, "imagecodecs.libs")
        paths = sorted(glob.glob(os.path.join(libdir, "libavif-*.so*")))
        if not paths:
            raise CodecError(f"no libavif in {libdir}")
        lib = ctypes.CDLL(paths[0])
        lib.avifVersion.restype = ctypes.c_char_p
        lib.avifResultToString.restype = ctypes.c_char_p
        lib.avifImageCreate.restype = ctypes.c_void_p
        lib.avifImageCreate.argtypes = [ctypes.c_uint32] * 3 + [ctypes.c_int]
        lib.avifImageDestroy.argtypes = [ctypes.c_void_p]
        lib.avifRGBImageSetDefaults.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.avifImageRGBToYUV.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.avifEncoderCreate.restype = ctypes.POINTER(AvifEncoder)
        lib.avifEncoderDestroy.argtypes = [ctypes.POINTER(AvifEncoder)]
        lib.avifEncoderSetCodecSpecificOption.argtypes = [
            ctypes.POINTER(AvifEncoder), ctypes.c_char_p, ctypes.c_char_p]
        lib.avifEncoderWrite.argtypes = [
            ctypes.POINTER(AvifEncoder), ctypes.c_void_p, ctypes.POINTER(AvifRWData)]
        lib.avifRWDataFree.argtypes = [ctypes.POINTER(AvifRWData)]
        self.lib = lib
        if not lib.avifVersion().decode().startswith("1."):
            raise CodecError(f"libavif {lib.avifVersion().decode()}: the ctypes layout here is 1.x's")

    def version(self):
        buf = ctypes.create_string_buffer(256)
        self.lib.avifCodecVersions(buf)
        codecs = buf.value.decode()
        aom = [c.split(":", 1)[1] for c in codecs.split(", ") if c.startswith("aom")]
        return (f"libavif {self.lib.avifVersion().decode()} + libaom {aom[0] if aom else '?'} "
                f"({wheel('imagecodecs')}; {codecs}; libyuv {self.lib.avifLibYUVVersion()}; {BUILD})")

    def encode(self, a, p):
        lib = self.lib
        h, w, c = a.shape
        if a.dtype != np.uint8 or c not in (3, 4):
            raise CodecError("avif (aom): expected 8-bit RGB or RGBA")
        fmt = {"444": 1, "420": 3}[p["yuv"]]  # AVIF_PIXEL_FORMAT_YUV444 / YUV420
        image = lib.avifImageCreate(w, h, int(p["depth"]), fmt)
        if not image:
            raise CodecError("avifImageCreate failed")
        enc = None
        out = AvifRWData()
        try:
            rgb = AvifRGBImage()
            lib.avifRGBImageSetDefaults(ctypes.byref(rgb), image)
            rgb.format = 0 if c == 3 else 1  # AVIF_RGB_FORMAT_RGB / RGBA
            rgb.depth = 8
            rgb.pixels = a.ctypes.data
            rgb.rowBytes = w * c
            check(lib, lib.avifImageRGBToYUV(image, ctypes.byref(rgb)), "avifImageRGBToYUV")
            enc = lib.avifEncoderCreate()
            e = enc.contents
            e.codecChoice = 1  # AVIF_CODEC_CHOICE_AOM
            e.maxThreads = 1
            e.speed = int(p["speed"])
            e.quality = int(p["q"])
            e.qualityAlpha = int(p["q_alpha"])
            if p["tune"] != "default":
                check(lib, lib.avifEncoderSetCodecSpecificOption(
                    enc, b"tune", p["tune"].encode()), "tune")
            t0, c0 = time.perf_counter_ns(), time.process_time_ns()
            r = lib.avifEncoderWrite(enc, image, ctypes.byref(out))
            t, cpu = time.perf_counter_ns() - t0, time.process_time_ns() - c0
            check(lib, r, "avifEncoderWrite")
            return ctypes.string_at(out.data, out.size), t, cpu
        finally:
            if out.data:
                lib.avifRWDataFree(ctypes.byref(out))
            if enc:
                lib.avifEncoderDestroy(enc)
            lib.avifImageDestroy(image)

    def decode(self, data):
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        a = imagecodecs.avif_decode(data, numthreads=1)
        return a, time.perf_counter_ns() - t0, time.process_time_ns() - c0


class AvifEncoder(ctypes.Structure):
    # The head of libavif 1.x's avifEncoder (include/avif/avif.h); later fields untouched.
    _fields_ = [("codecChoice", ctypes.c_int), ("maxThreads", ctypes.c_int),
                ("speed", ctypes.c_int), ("keyframeInterval", ctypes.c_int),
                ("timescale", ctypes.c_uint64), ("repetitionCount", ctypes.c_int),
                ("extraLayerCount", ctypes.c_uint32), ("quality", ctypes.c_int),
                ("qualityAlpha", ctypes.c_int)]


class AvifRGBImage(ctypes.Structure):
    _fields_ = [("width", ctypes.c_uint32), ("height", ctypes.c_uint32),
                ("depth", ctypes.c_uint32), ("format", ctypes.c_int),
                ("chromaUpsampling", ctypes.c_int), ("chromaDownsampling", ctypes.c_int),
                ("avoidLibYUV", ctypes.c_int), ("ignoreAlpha", ctypes.c_int),
                ("alphaPremultiplied", ctypes.c_int), ("isFloat", ctypes.c_int),
                ("maxThreads", ctypes.c_int), ("pixels", ctypes.c_void_p),
                ("rowBytes", ctypes.c_uint32)]


class AvifRWData(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("size", ctypes.c_size_t)]


def check(lib, r, what):
    if r != 0:
        raise CodecError(f"{what}: {lib.avifResultToString(r).decode()}")


# ---------------------------------------------------------------- JPEG XL: libjxl

class Jxl:
    """imagecodecs tags 8-bit input sRGB and 16-bit input *linear* sRGB; versions whose
    jpegxl_encode takes `transfer` are told sRGB for 16-bit too. Without it (2026.3.6) a 16-bit
    file says linear: lossless samples are exact, lossy ones are coded as if linear light."""

    def __init__(self):
        need(IMPORT_ERROR, "imagecodecs")
        tf = getattr(imagecodecs.JPEGXL, "TRANSFER_FUNCTION", None)
        self.srgb16 = {"transfer": tf.SRGB} if tf is not None and hasattr(tf, "SRGB") else None

    def version(self):
        tag = "16-bit tagged sRGB" if self.srgb16 else "16-bit input tagged linear by imagecodecs"
        return f"{imagecodecs.jpegxl_version()} ({wheel('imagecodecs')}; {BUILD}; {tag})"

    def encode(self, a, p):
        d, effort = float(p["d"]), int(p["effort"])
        extra = self.srgb16 if (a.dtype == np.uint16 and self.srgb16) else {}
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        b = imagecodecs.jpegxl_encode(a, distance=d, effort=effort, lossless=d == 0.0,
                                      numthreads=1, **extra)
        return bytes(b), time.perf_counter_ns() - t0, time.process_time_ns() - c0

    def decode(self, data):
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        a = imagecodecs.jpegxl_decode(data, numthreads=1)
        return a, time.perf_counter_ns() - t0, time.process_time_ns() - c0


# ---------------------------------------------------------------- HTJ2K: OpenJPH

class Htj2k:
    """Encoded by OpenJPH, decoded by OpenJPEG (>= 2.5 reads HTJ2K): OpenJPH's decoder as
    imagecodecs exposes it wraps samples the 9/7 wavelet pushes past the range (256 -> 0)
    instead of clamping them, which would measure a bright pixel as black."""

    def __init__(self):
        need(IMPORT_ERROR, "imagecodecs")

    def version(self):
        return (f"{imagecodecs.htj2k_version()} encoder, {imagecodecs.jpeg2k_version()} decoder "
                f"({wheel('imagecodecs')}; {BUILD})")

    def encode(self, a, p):
        qstep = float(p["qstep"])
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        if qstep == 0.0:
            b = imagecodecs.htj2k_encode(a, reversible=True)
        else:
            b = imagecodecs.htj2k_encode(a, qstep, reversible=False)
        return bytes(b), time.perf_counter_ns() - t0, time.process_time_ns() - c0

    def decode(self, data):
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        a = imagecodecs.jpeg2k_decode(data, numthreads=1)
        return a, time.perf_counter_ns() - t0, time.process_time_ns() - c0


# ---------------------------------------------------------------- jpegli

class Jpegli:
    """jpegli's libjpeg-6.2-style C API (exported by the pyjpegli extension) through ctypes,
    for what pyjpegli.encode does not offer: distance, 4:4:4, gray."""

    # libjpeg 6.2 ABI on LP64 (jpegli's default): sizeof(jpeg_compress_struct) and offsets.
    SIZE, WIDTH, HEIGHT, COMPONENTS, COLORSPACE, COMP_INFO = 520, 48, 52, 56, 60, 88

    def __init__(self):
        need(JPEGLI_ERROR, "pyjpegli")
        need(IMPORT_ERROR, "imagecodecs (for numpy)")
        lib = ctypes.CDLL(pyjpegli.__file__)
        lib.jpegli_std_error.restype = ctypes.c_void_p
        lib.jpegli_write_scanlines.restype = ctypes.c_uint
        lib.jpegli_set_distance.argtypes = [ctypes.c_void_p, ctypes.c_float, ctypes.c_int]
        lib.jpegli_set_quality.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        self.lib = lib
        self.libc = ctypes.CDLL(None)

    def version(self):
        return f"jpegli (google/jpegli in {wheel('pyjpegli')}; {BUILD})"

    def encode(self, a, p):
        lib = self.lib
        if a.dtype != np.uint8:
            raise CodecError("jpegli: expected 8-bit samples")
        h, w = a.shape[:2]
        c = 1 if a.ndim == 2 else a.shape[2]
        if c not in (1, 3):
            raise CodecError("jpegli: expected gray or RGB")
        cinfo = ctypes.create_string_buffer(self.SIZE)
        err = ctypes.create_string_buffer(1024)
        ctypes.c_void_p.from_buffer(cinfo, 0).value = lib.jpegli_std_error(err)
        lib.jpegli_CreateCompress(cinfo, 62, ctypes.c_size_t(self.SIZE))
        outbuf, outsize = ctypes.c_void_p(), ctypes.c_ulong()
        try:
            lib.jpegli_mem_dest(cinfo, ctypes.byref(outbuf), ctypes.byref(outsize))
            ctypes.c_uint.from_buffer(cinfo, self.WIDTH).value = w
            ctypes.c_uint.from_buffer(cinfo, self.HEIGHT).value = h
            ctypes.c_int.from_buffer(cinfo, self.COMPONENTS).value = c
            ctypes.c_int.from_buffer(cinfo, self.COLORSPACE).value = 1 if c == 1 else 2
            lib.jpegli_set_defaults(cinfo)
            d = float(p["d"])
            if d > 0.0:
                lib.jpegli_set_distance(cinfo, d, 1)
            else:
                lib.jpegli_set_quality(cinfo, int(p["q"]), 1)
            if c == 3:
                comp = ctypes.c_void_p.from_buffer(cinfo, self.COMP_INFO).value
                f = 1 if p["yuv"] == "444" else 2
                ctypes.c_int.from_address(comp + 8).value = f  # h_samp_factor of Y
                ctypes.c_int.from_address(comp + 12).value = f  # v_samp_factor of Y
            a = np.ascontiguousarray(a)
            rows = (ctypes.c_void_p * h)(*[a.ctypes.data + y * w * c for y in range(h)])
            t0, c0 = time.perf_counter_ns(), time.process_time_ns()
            lib.jpegli_start_compress(cinfo, 1)
            n = lib.jpegli_write_scanlines(cinfo, rows, h)
            lib.jpegli_finish_compress(cinfo)
            t, cpu = time.perf_counter_ns() - t0, time.process_time_ns() - c0
            if n != h:
                raise CodecError(f"jpegli wrote {n} of {h} rows")
            return ctypes.string_at(outbuf.value, outsize.value), t, cpu
        finally:
            lib.jpegli_destroy_compress(cinfo)
            if outbuf.value:
                self.libc.free(outbuf)


# ---------------------------------------------------------------- the protocol

CODECS = {"avif": Avif, "jxl": Jxl, "htj2k": Htj2k, "jpegli": Jpegli}
LOADED = {}


def codec(name):
    if name not in CODECS:
        raise CodecError(f"this worker has no codec {name!r} (it has {', '.join(CODECS)})")
    if name not in LOADED:
        LOADED[name] = CODECS[name]()
    return LOADED[name]


def handle(req):
    op = req.get("op")
    if op == "version":
        return {"version": codec(req["codec"]).version()}
    if op == "encode":
        c = codec(req["codec"])
        data, ns, cpu = c.encode(read_raw(req), req["params"])
        with open(req["output"], "wb") as f:
            f.write(data)
        return {"ns": ns, "cpu_ns": cpu}
    if op == "decode":
        c = codec(req["codec"])
        with open(req["input"], "rb") as f:
            data = f.read()
        a, ns, cpu = c.decode(data)
        reply = write_raw(a, req["output"])
        reply.update({"ns": ns, "cpu_ns": cpu})
        return reply
    raise CodecError(f"unknown op {op!r} (version, encode, decode)")


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = handle(json.loads(line))
            reply["ok"] = True
        except CodecError as e:
            reply = {"ok": False, "error": str(e)}
        except Exception as e:  # noqa: BLE001  (a failed cell, not a dead worker)
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        PROTOCOL.write(json.dumps(reply) + "\n")
        PROTOCOL.flush()


if __name__ == "__main__":
    main()
