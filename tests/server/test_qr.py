"""GET /api/qr: the share dialog's QR code, drawn locally as SVG.

The SVG is read back into a module matrix and checked as a QR reader would: the finder and
timing patterns in place, both copies of the format information valid BCH codewords naming the
same error-correction level and mask, and the symbol the one segno makes for the exact text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import segno
from fastapi.testclient import TestClient

from server.routes.share import MAX_QR_TEXT, QR_BORDER

SVG_NS = "{http://www.w3.org/2000/svg}"
LINK = "http://192.168.1.20:8000/#surface=rosenbrock&seed=0&steps=2000&run=adam,lr:0.05"
FORMAT_MASK = 0b101010000010010
FORMAT_GENERATOR = 0b10100110111
LEVELS = {0b01: "L", 0b00: "M", 0b11: "Q", 0b10: "H"}

Matrix = list[list[bool]]


def svg_modules(svg: bytes) -> Matrix:
    """Dark modules of a segno SVG: its path draws each run of dark modules as a horizontal
    stroke (`h`) through the middle of a row, moving with `M`/`m`."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    _, _, width, height = (int(v) for v in root.attrib["viewBox"].split())
    assert width == height
    stroke = next(p for p in root.iter(f"{SVG_NS}path") if p.get("stroke"))
    grid = [[False] * width for _ in range(height)]
    x = y = 0.0
    for cmd, args in re.findall(r"([MmhHvVz])([^MmhHvVz]*)", stroke.attrib["d"]):
        nums = [float(v) for v in args.split()] if args.strip() else []
        if cmd == "M":
            x, y = nums
        elif cmd == "m":
            x, y = x + nums[0], y + nums[1]
        elif cmd == "h":
            row = int(y)
            for col in range(int(x), int(x + nums[0])):
                grid[row][col] = True
            x += nums[0]
        else:
            raise AssertionError(f"unexpected path command {cmd}")
    size = width - 2 * QR_BORDER
    border_rows = grid[:QR_BORDER] + grid[-QR_BORDER:]
    assert not any(any(r) for r in border_rows), "the quiet zone must be light"
    return [row[QR_BORDER : QR_BORDER + size] for row in grid[QR_BORDER : QR_BORDER + size]]


def is_finder(m: Matrix, top: int, left: int) -> bool:
    """A 7x7 finder: dark ring, light ring, dark 3x3 centre."""
    for r in range(7):
        for c in range(7):
            ring = max(abs(r - 3), abs(c - 3))
            if m[top + r][left + c] != (ring != 2):
                return False
    return True


def bch_valid(bits: int) -> bool:
    data = bits >> 10
    rem = data
    for _ in range(10):
        rem = (rem << 1) ^ ((rem >> 9) * FORMAT_GENERATOR)
    return (data << 10 | rem) == bits


def format_copies(m: Matrix) -> tuple[int, int]:
    """Both 15-bit copies of the format information, bit i read from where the standard puts it."""
    n = len(m)
    first = [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)]
    first += [(8, 14 - i) for i in range(9, 15)]
    second = [(8, n - 1 - i) for i in range(8)] + [(n - 15 + i, 8) for i in range(8, 15)]
    read = [sum(m[r][c] << i for i, (r, c) in enumerate(cells)) for cells in (first, second)]
    return read[0], read[1]


def check_structure(m: Matrix) -> tuple[int, str]:
    """Assert what any reader looks for first; return (version, error level)."""
    n = len(m)
    assert (n - 17) % 4 == 0 and 21 <= n <= 177, n
    for top, left in ((0, 0), (0, n - 7), (n - 7, 0)):
        assert is_finder(m, top, left), (top, left)
    for k in range(8, n - 8):
        assert m[6][k] == (k % 2 == 0) and m[k][6] == (k % 2 == 0), "timing pattern"
    assert m[n - 8][8], "the dark module"
    one, two = format_copies(m)
    assert one == two, "the two copies of the format information differ"
    bits = one ^ FORMAT_MASK
    assert bch_valid(bits), f"format information {bits:015b} is not a BCH codeword"
    return (n - 17) // 4, LEVELS[bits >> 13]


def test_qr_of_a_link_is_an_svg_a_reader_can_find_and_decode(client: TestClient) -> None:
    r = client.get("/api/qr", params={"text": LINK})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    assert "max-age" in r.headers["cache-control"] and r.headers["etag"]
    m = svg_modules(r.content)
    version, level = check_structure(m)
    assert level in {"M", "Q", "H"}, "at least 15% of the modules may be lost"
    reference = segno.make(LINK, error="m", micro=False)
    assert version == reference.version and level == reference.error
    assert m == [[bool(v) for v in row] for row in reference.matrix], "the code of that exact text"


def test_longer_text_needs_a_larger_symbol_and_differs(client: TestClient) -> None:
    short = svg_modules(client.get("/api/qr", params={"text": "http://h/#a"}).content)
    long_text = LINK + "&run=" + ",".join(["momentum", "lr:0.001"] * 40)
    long = svg_modules(client.get("/api/qr", params={"text": long_text}).content)
    assert check_structure(long)[0] > check_structure(short)[0]
    edge = client.get("/api/qr", params={"text": "h" * MAX_QR_TEXT})
    assert edge.status_code == 200
    assert check_structure(svg_modules(edge.content))[0] == 38  # 2,000 bytes at level M


def test_repeated_request_with_its_etag_is_not_modified(client: TestClient) -> None:
    first = client.get("/api/qr", params={"text": LINK})
    again = client.get(
        "/api/qr", params={"text": LINK}, headers={"if-none-match": first.headers["etag"]}
    )
    assert again.status_code == 304 and not again.content
    other = client.get("/api/qr", params={"text": LINK + "0"})
    assert other.headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "required"),
        ({"text": ""}, "empty"),
        ({"text": "x" * (MAX_QR_TEXT + 1)}, f"limit is {MAX_QR_TEXT}"),
        ({"text": "€" * 10}, "printable Latin-1"),
        ({"text": "a\nb"}, "printable Latin-1"),
    ],
)
def test_refusals_name_the_field(client: TestClient, params: dict[str, str], words: str) -> None:
    r = client.get("/api/qr", params=params)
    assert r.status_code == 422
    body = r.json()
    assert body["field"] == "text" and words in body["message"], body


def test_the_longest_latin1_text_the_schema_allows_fits(client: TestClient) -> None:
    r = client.get("/api/qr", params={"text": "é" * MAX_QR_TEXT})
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
