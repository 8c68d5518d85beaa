"""Landing-file checks: can a delivered file be read as its source's contract says?

Pure Python over a file's name, size and first bytes, run on the driver before Spark reads the file,
so one unreadable file is set aside (``_landing_quarantine``) instead of failing its whole source.
The check is deliberately light: the first ``SAMPLE_BYTES`` of the file, never the whole of a big one.

A file is refused whole when it is not what its source declares: the wrong extension (``.jsonl.gz``
where ``.jsonl`` is declared), a binary format (gzip, zip, Parquet, ...), bytes that are not UTF-8 text
or NUL padding in most of its sampled lines, a CSV header that cannot be read or lacks a contract
field. A CSV header that only reorders the contract's fields or adds new ones (drift) is accepted:
the file is read by column name. A minority of junk lines in a readable file is a line-level matter:
those lines reach bronze as ``_corrupt_record`` and silver quarantines them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

SAMPLE_BYTES = 64 * 1024
BOM = "\ufeff"

# First bytes of formats that are never a text export (what a mislabeled or compressed file starts with).
MAGIC = {
    b"\x1f\x8b": "gzip",
    b"PK\x03\x04": "zip",
    b"PAR1": "parquet",
    b"BZh": "bzip2",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\xfd7zXZ\x00": "xz",
    b"ORC": "orc",
    b"Obj\x01": "avro",
}

# Reasons (the prefix before ':' is the reason code counted in summaries).
DIRECTORY = "directory"
MISPLACED = "misplaced"
UNDECLARED_FORMAT = "undeclared_format"
BINARY = "binary"
NOT_TEXT = "not_text"
HEADER_MISMATCH = "header_mismatch"
UNREADABLE_HEADER = "unreadable_header"


@dataclass(frozen=True)
class FileVerdict:
    """The outcome of checking one landing file: ``reason`` None means it can be ingested."""

    reason: str | None
    header: tuple[str, ...] | None = None   # CSV: the delivered column names, in file order
    header_line: str | None = None          # CSV: the first line as Spark's text reader returns it

    @property
    def ok(self) -> bool:
        return self.reason is None

    @property
    def reason_code(self) -> str | None:
        return None if self.reason is None else self.reason.split(":", 1)[0]


def reason_code(reason: str) -> str:
    return reason.split(":", 1)[0]


def check_name(name: str, *, extension: str) -> str | None:
    """A reason when the file name does not carry the declared extension, else None."""
    if name.endswith(f".{extension}"):
        return None
    suffix = name[name.index("."):] if "." in name else "(none)"
    return f"{UNDECLARED_FORMAT}: extension {suffix}, declared .{extension}"


def _binary_format(sample: bytes) -> str | None:
    for magic, fmt in MAGIC.items():
        if sample.startswith(magic):
            return fmt
    return None


def _lines(sample: bytes, *, complete: bool) -> list[bytes]:
    """Non-blank lines of the sample; the last one dropped when the sample was cut mid-line."""
    lines = sample.splitlines()
    if not complete and lines and not sample.endswith((b"\n", b"\r")):
        lines = lines[:-1]
    return [line for line in lines if line.strip()]


def _is_text(line: bytes) -> bool:
    if b"\x00" in line:
        return False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_content(
    sample: bytes, *, size: int, fmt: str, fields: Sequence[str]
) -> FileVerdict:
    """Check a file's first bytes (``sample``, at most SAMPLE_BYTES of a ``size``-byte file) against its format."""
    if size == 0:
        return FileVerdict(None, header=tuple(fields) if fmt == "csv" else None)
    binary = _binary_format(sample)
    if binary:
        return FileVerdict(f"{BINARY}: the file is {binary} data, not {fmt} text (compressed or mislabeled?)")
    lines = _lines(sample, complete=len(sample) >= size)
    if not lines:
        # only blank lines, or one line longer than the sample: nothing to judge here, Spark reads it by line
        return FileVerdict(None, header=tuple(fields) if fmt == "csv" else None)
    if fmt == "csv":
        return _check_csv_header(lines[0], fields)
    bad = sum(not _is_text(line) for line in lines)
    if bad * 2 > len(lines):
        return FileVerdict(f"{NOT_TEXT}: {bad} of the first {len(lines)} lines are not UTF-8 text "
                           "(binary bytes or NUL padding)")
    return FileVerdict(None)


def _check_csv_header(first: bytes, fields: Sequence[str]) -> FileVerdict:
    if not _is_text(first):
        return FileVerdict(f"{UNREADABLE_HEADER}: the first line is not UTF-8 text (binary bytes or NUL)")
    line = first.decode("utf-8")  # as Spark's text reader returns the line: a leading BOM stays
    names = next(csv.reader(io.StringIO(line.lstrip(BOM))), [])
    header = tuple(n.strip() for n in names)
    missing = [f for f in fields if f not in header]
    if missing:
        return FileVerdict(
            f"{HEADER_MISMATCH}: missing contract column(s) {missing}; the header has {list(header)}",
            header=header, header_line=line,
        )
    dupes = sorted({n for n in header if header.count(n) > 1})
    if dupes or any(not n for n in header):
        return FileVerdict(f"{HEADER_MISMATCH}: repeated or empty column name(s) {dupes or ['']}",
                           header=header, header_line=line)
    return FileVerdict(None, header=header, header_line=line)
