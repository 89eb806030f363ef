"""Reading uploaded lists: CSV in any common encoding and dialect, and XLSX, streamed row by row.

`inspect_file` looks at the start of a file once (format, encoding, delimiter, header, first rows);
`iter_rows` then streams every row with those settings, so a 2 GB file never sits in memory.
Anything that cannot be read raises `FileProblem` with a message for the person who uploaded it.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

SAMPLE_BYTES = 256 * 1024  # what encoding and dialect detection read
PREVIEW_ROWS = 10
DELIMITERS = (",", ";", "\t", "|")
MAX_CELL = 1024 * 1024  # a cell longer than this is a broken file, not data (csv's own limit is 128 KB)
MAX_COLUMNS = 500
XLSX_MAGIC = b"PK\x03\x04"
# Encodings we tell apart: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"),
# Windows-1251 (Russian Excel exports) and Latin-1 (Western Excel exports).
UTF8, UTF8_BOM, CP1251, LATIN1 = "utf-8", "utf-8-sig", "cp1251", "latin-1"


class FileProblem(Exception):
    """The file as a whole cannot be imported; `message` says why, in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class FileInfo:
    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ","
    quotechar: str = '"'
    headers: list[str] = field(default_factory=list)
    preview: list[list[str]] = field(default_factory=list)

    def settings(self) -> dict:
        return {"kind": self.kind, "encoding": self.encoding, "delimiter": self.delimiter, "quotechar": self.quotechar}


def inspect_file(path: Path | str) -> FileInfo:
    """Format, encoding, dialect, header row and the first rows of a file."""
    path = Path(path)
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise FileProblem(_("The file is empty."))
    if sample.startswith(XLSX_MAGIC):
        info = FileInfo(kind="xlsx")
    else:
        encoding = detect_encoding(sample)
        text = _decoded_sample(sample, encoding, whole=len(sample) < SAMPLE_BYTES)
        delimiter, quotechar = detect_dialect(text)
        info = FileInfo(kind="csv", encoding=encoding, delimiter=delimiter, quotechar=quotechar)
    rows = iter_rows(path, info)
    try:
        header = next(rows, None)
        while header is not None and not any(cell.strip() for cell in header[1]):
            header = next(rows, None)  # blank lines before the header
        if header is None:
            raise FileProblem(_("The file has no rows."))
        info.headers = [cell.strip() for cell in header[1]]
        if not any(info.headers):
            raise FileProblem(_("The first row must name the columns."))
        for _line, row in rows:
            info.preview.append(row)
            if len(info.preview) >= PREVIEW_ROWS:
                break
    finally:
        rows.close()
    return info


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return UTF8_BOM
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise FileProblem(_("This is not a CSV or XLSX file (it contains binary data)."))
    try:
        # A multi-byte character may be cut at the end of the sample: ignore only that.
        codecs.getincrementaldecoder(UTF8)().decode(sample, final=False)
        return UTF8
    except UnicodeDecodeError:
        pass
    return CP1251 if _looks_russian(sample) else LATIN1


def _looks_russian(sample: bytes) -> bool:
    """Windows-1251 or Latin-1? Both decode any byte; Russian text in 1251 is mostly bytes 0xC0–0xFF
    forming Cyrillic words, which in Latin-1 would be runs of accented capitals and small letters mixed
    in a way no Western language writes. charset-normalizer weighs exactly that."""
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=[CP1251, LATIN1, "cp1252"]).best()
    return best is not None and best.encoding in ("cp1251", "windows_1251")


def _decoded_sample(sample: bytes, encoding: str, *, whole: bool) -> str:
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=whole)
    if not whole:  # the last line is probably cut: leave it out of the dialect guess
        cut = max(text.rfind("\n"), 0)
        text = text[:cut] or text
    return text


def detect_dialect(text: str) -> tuple[str, str]:
    """The delimiter (`,` `;` tab `|`) and quote character of a CSV sample."""
    try:
        dialect = csv.Sniffer().sniff(text, delimiters="".join(DELIMITERS))
        if dialect.delimiter in DELIMITERS:
            return dialect.delimiter, dialect.quotechar or '"'
    except csv.Error:
        pass
    # Sniffer gives up on short or irregular samples: take the delimiter that splits the lines most
    # consistently into more than one column, counting only outside quotes.
    best, best_score = ",", -1.0
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row][:50]
        except csv.Error:
            continue
        if not counts or max(counts) < 2:
            continue
        common = max(set(counts), key=counts.count)
        score = counts.count(common) / len(counts) + common / 1000
        if score > best_score:
            best, best_score = delimiter, score
    return best, '"'


def iter_rows(path: Path | str, info: FileInfo, where: dict | None = None) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for every row, the header included, row numbers counting from 1.

    `where`, if given, gets the open binary file as "file": its position tells how far reading got."""
    if info.kind == "xlsx":
        yield from _xlsx_rows(Path(path), where)
        return
    csv.field_size_limit(MAX_CELL)
    with Path(path).open("rb") as raw:
        if where is not None:
            where["file"] = raw
        text = io.TextIOWrapper(raw, encoding=info.encoding, errors="strict", newline="")
        reader = csv.reader(text, delimiter=info.delimiter, quotechar=info.quotechar, strict=False)
        number = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise FileProblem(
                    _("Row %(row)d cannot be read as %(encoding)s text. Save the file as UTF-8 and upload it again.")
                    % {"row": number + 1, "encoding": info.encoding}
                ) from exc
            except csv.Error as exc:
                if "field limit" in str(exc):
                    raise FileProblem(
                        _("Row %(row)d has a cell longer than 1 MB: the file is probably damaged (an unclosed quote?).")
                        % {"row": number + 1}
                    ) from exc
                raise FileProblem(
                    _("Row %(row)d is not valid CSV (%(error)s).") % {"row": number + 1, "error": exc}
                ) from exc
            number += 1
            if len(row) > MAX_COLUMNS:
                raise FileProblem(_("Row %(row)d has more than %(n)d columns.") % {"row": number, "n": MAX_COLUMNS})
            yield number, row


def _xlsx_rows(path: Path, where: dict | None = None) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_workbook_size(path)
    handle = path.open("rb")  # a file object: openpyxl would judge a path by its extension
    if where is not None:
        where["file"] = handle
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        handle.close()
        raise FileProblem(_("This XLSX file is damaged or not a spreadsheet.")) from exc
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = ["" if v is None else _cell_text(v) for v in values]
            while cells and cells[-1] == "":
                cells.pop()
            if len(cells) > MAX_COLUMNS:
                raise FileProblem(_("Row %(row)d has more than %(n)d columns.") % {"row": number, "n": MAX_COLUMNS})
            if any(len(cell) > MAX_CELL for cell in cells):
                raise FileProblem(
                    _("Row %(row)d has a cell longer than 1 MB: the file is probably damaged (an unclosed quote?).")
                    % {"row": number}
                )
            yield number, cells
    finally:
        workbook.close()
        handle.close()


# What an XLSX may unpack to: openpyxl keeps the whole shared-strings table in memory even when it
# streams rows, so a small file that inflates to gigabytes (a "zip bomb") is refused before it is read.
MAX_SHARED_STRINGS = 512 * 1024 * 1024
MAX_UNPACKED = 8 * 1024**3
MAX_RATIO = 200


def _check_workbook_size(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileProblem(_("This XLSX file is damaged or not a spreadsheet.")) from exc
    unpacked = sum(m.file_size for m in members)
    packed = max(sum(m.compress_size for m in members), 1)
    shared = sum(m.file_size for m in members if m.filename.endswith("sharedStrings.xml"))
    if shared > MAX_SHARED_STRINGS or unpacked > MAX_UNPACKED or unpacked / packed > MAX_RATIO:
        raise FileProblem(_("This XLSX file unpacks to too much data; save it as CSV and upload that instead."))


def _cell_text(value: object) -> str:
    """Spreadsheet values as the text a person sees: 79161234567.0 is a phone, not a float."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
