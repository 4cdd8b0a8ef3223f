"""JavaScript's reading and writing of values, as the page's URL-hash codec (state.js) does it:
``Number(text)``, ``decodeURIComponent``, ``encodeURIComponent`` and ``String(number)``."""

from __future__ import annotations

import math
import re
from urllib.parse import quote, unquote

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_RADIX = {"0x": 16, "0o": 8, "0b": 2}
_MALFORMED_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def read_number(text: str) -> float | None:
    """``Number(text)`` when finite, else None (the page's ``readNumber``)."""
    s = text.strip()
    if s == "":
        return None
    value: float
    if _DECIMAL.fullmatch(s):
        value = float(s)
    elif s[:2].lower() in _RADIX and re.fullmatch(r"[0-9A-Za-z]+", s[2:]):
        try:
            value = float(int(s[2:], _RADIX[s[:2].lower()]))
        except (ValueError, OverflowError):
            return None
    else:
        return None
    return value if math.isfinite(value) else None


def unesc(text: str) -> str:
    """``decodeURIComponent`` with ``+`` as a space; malformed text comes back unchanged."""
    if _MALFORMED_ESCAPE.search(text):
        return text
    try:
        return unquote(text.replace("+", "%20"), errors="strict")
    except UnicodeDecodeError:
        return text


def esc(text: str) -> str:
    """``encodeURIComponent``."""
    return quote(text, safe="-_.!~*'()")


def js_number(v: float) -> str:
    """``String(v)`` of a JavaScript number: shortest round-trip digits, JS exponent rules."""
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    sign = "-" if v < 0 else ""
    mantissa, _, exp = repr(abs(v)).partition("e")
    whole, _, frac = mantissa.partition(".")
    all_digits = whole + frac
    lead = len(all_digits) - len(all_digits.lstrip("0"))
    digits = all_digits.strip("0")
    n = len(whole) + (int(exp) if exp else 0) - lead  # value = 0.<digits> * 10**n
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    tail = f"e{'+' if e > 0 else '-'}{abs(e)}"
    return sign + digits[0] + ("." + digits[1:] if k > 1 else "") + tail
