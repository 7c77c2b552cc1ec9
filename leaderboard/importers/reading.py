"""Stream the records of a dump file (plain or gzipped JSON array) one at a time.

Memory stays flat whatever the file size: ijson parses 64 KiB at a time. A
syntax error is reported with the file, line and column where it occurs.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

import ijson

CHUNK = 64 * 1024


class DumpError(Exception):
    """The file cannot be read as a dump; nothing from it is kept."""


def open_dump(path: Path):
    """The file's bytes, decompressed when it is gzipped (by name or by magic number)."""
    raw = open(path, "rb")  # noqa: SIM115 - the caller closes the returned stream
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    return raw


class _CountingReader:
    """Remembers how many chunks ijson has pulled, to locate a syntax error afterwards."""

    def __init__(self, stream):
        self.stream, self.chunks, self.bytes = stream, 0, 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        if data:
            self.chunks += 1
            self.bytes += len(data)
        return data


def records(path: Path) -> Iterator[dict]:
    """Each element of the top-level JSON array in `path`, as Python objects.

    A file holding one object instead of an array (the sota-extractor README's
    example of a single task) is read as a list of that one record.
    """
    with open_dump(path) as stream:
        prefix = "" if _first_byte(path, stream) == b"{" else "item"
        reader = _CountingReader(stream)
        try:
            yield from ijson.items(reader, prefix, use_float=True, buf_size=CHUNK)
        except ijson.JSONError as error:
            line, column = _locate_error(path, reader.chunks)
            reason = str(error).strip().splitlines()[0]
            raise DumpError(
                f"{path}: line {line} column {column}: invalid JSON ({reason})"
            ) from error
        except (OSError, EOFError, zlib.error) as error:
            raise DumpError(
                f"{path}: cannot be read ({error}); is the download complete?"
            ) from error


def _first_byte(path: Path, stream) -> bytes:
    try:
        head = stream.peek(256)
    except (OSError, EOFError, zlib.error) as error:
        raise DumpError(
            f"{path}: cannot be read ({error}); is the download complete?"
        ) from error
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head and head[:1] not in (b"[", b"{"):
        raise DumpError(
            f"{path}: line 1 column 1: expected a JSON array of records ([...]), found {head[:1].decode(errors='replace')!r}"
        )
    return head[:1]


def _locate_error(path: Path, failing_chunk: int) -> tuple[int, int]:
    """Replay the file up to the failing chunk, then byte by byte, to find where parsing stops."""
    parser = ijson.basic_parse_coro(ijson.sendable_list())
    line, line_start = 1, b""
    with open_dump(path) as stream:
        for index in range(1, failing_chunk + 1):
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            if index < failing_chunk:
                parser.send(chunk)
                line, line_start = _advance(line, line_start, chunk)
                continue
            for offset in range(len(chunk)):
                byte = chunk[offset : offset + 1]
                try:
                    parser.send(byte)
                except ijson.JSONError:
                    return line, len(line_start.decode("utf-8", errors="replace")) + 1
                line, line_start = _advance(line, line_start, byte)
    try:
        parser.close()
    except ijson.JSONError:
        pass
    return line, len(line_start.decode("utf-8", errors="replace")) + 1


def _advance(line: int, line_start: bytes, data: bytes) -> tuple[int, bytes]:
    newlines = data.count(b"\n")
    if newlines:
        return line + newlines, data[data.rfind(b"\n") + 1 :]
    return line, line_start + data
