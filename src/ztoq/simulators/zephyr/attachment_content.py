"""The bytes of simulated attachments: deterministic generated content, and small sample files.

Generated content (the dataset's ``"generated": {"size", "seed"}``) is a pseudo-random byte
stream made chunk by chunk from the seed, so a file of any size is served, hashed or compared
without ever being held whole in memory. Chunk ``i`` is SHAKE-128 of ``"ztoq-attachment/<seed>/<i>"``
cut to the chunk size: any chunk can be made on its own, and the stream does not depend on the
size (a shorter file is a prefix of a longer one with the same seed).

The sample files are small valid-looking files of the common types (PNG, PDF, text, ZIP, and an
empty file) that the dataset generator puts on entities; they are built once, byte for byte the
same on every run.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

#: Bytes per chunk of generated content (and per body message when it is served).
GENERATED_CHUNK_SIZE = 64 * 1024


def generated_content_chunks(size: int, seed: int, chunk_size: int = GENERATED_CHUNK_SIZE) -> Iterator[bytes]:
    """The bytes of a generated attachment, in chunks of at most ``chunk_size`` bytes.

    Args:
        size: The file size in bytes (0 gives no chunk at all).
        seed: The content seed; the same (size, seed) always gives the same bytes.
        chunk_size: The most bytes a chunk holds; it only changes how the stream is cut.

    Raises:
        ValueError: when ``size`` is negative or ``chunk_size`` below 1.
    """
    if size < 0:
        raise ValueError(f"size must be 0 or more, got {size}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be 1 or more, got {chunk_size}")
    position = 0
    while position < size:
        block, offset = divmod(position, GENERATED_CHUNK_SIZE)
        data = _block(seed, block)[offset : offset + min(chunk_size, size - position)]
        position += len(data)
        yield data


def generated_content_bytes(size: int, seed: int) -> bytes:
    """All the bytes of a generated attachment at once (for small files in tests only)."""
    return b"".join(generated_content_chunks(size, seed))


def generated_content_sha256(size: int, seed: int) -> str:
    """The SHA-256 (hex) of a generated attachment, computed by streaming it."""
    digest = hashlib.sha256()
    for chunk in generated_content_chunks(size, seed):
        digest.update(chunk)
    return digest.hexdigest()


def _block(seed: int, index: int) -> bytes:
    return hashlib.shake_128(f"ztoq-attachment/{seed}/{index}".encode()).digest(GENERATED_CHUNK_SIZE)


# -- sample files --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleFile:
    """A small file the generator attaches: its type, its names to choose from, and its bytes."""

    kind: str
    content_type: str
    names: tuple[str, ...]
    content: bytes


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG: a gradient of one colour (8-bit RGB, no interlace)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(
        b"\x00"
        + b"".join(
            bytes(min(255, c * (x + y) // (width + height - 2 or 1)) for c in rgb) for x in range(width)
        )
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _pdf(text: str) -> bytes:
    """A one-page PDF 1.4 showing one line of text, with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _zip(files: dict[str, str]) -> bytes:
    """A ZIP archive of small text files, with fixed dates so the bytes never change."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 3, 1, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return buffer.getvalue()


def _log(lines: int) -> bytes:
    levels = ("INFO", "INFO", "DEBUG", "WARN", "INFO", "ERROR")
    return "".join(
        f"2024-03-01T12:{i // 60:02d}:{i % 60:02d}Z {levels[i % len(levels)]:5} "
        f"checkout-service request {1000 + i} handled in {17 * i % 400} ms\n"
        for i in range(lines)
    ).encode()


@cache
def sample_files() -> tuple[SampleFile, ...]:
    """The small files the generator attaches, the empty one last."""
    return (
        SampleFile(
            "png",
            "image/png",
            ("screenshot.png", "login-error.png", "expected-layout.png", "Screen Shot 2024-03-01.png"),
            _png(24, 16, (40, 120, 220)),
        ),
        SampleFile(
            "png", "image/png", ("failure.png", "diff.png", "actual-result.png"), _png(16, 16, (220, 60, 40))
        ),
        SampleFile(
            "pdf",
            "application/pdf",
            ("test-evidence.pdf", "requirements-v2.pdf", "sign-off.pdf"),
            _pdf("Test evidence - generated by the ztoq Zephyr simulator"),
        ),
        SampleFile("txt", "text/plain", ("console.log", "server-output.txt", "notes.txt"), _log(12)),
        SampleFile("txt", "text/plain", ("full-run.log", "trace.txt"), _log(48)),
        SampleFile(
            "zip",
            "application/zip",
            ("logs.zip", "har-files.zip", "artifacts.zip"),
            _zip({"run/console.log": _log(6).decode(), "run/README.txt": "Artifacts of one test run.\n"}),
        ),
        SampleFile("txt", "text/plain", ("empty-output.log", "no-errors.txt"), b""),
    )
