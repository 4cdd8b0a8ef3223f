"""Write server/problems/nn/data/digits.u8.gz from scikit-learn's bundled copy of the digits.

The file is gzip of 1,797 label bytes followed by 1,797 x 64 pixel bytes (0..16, row-major
8 x 8 images), in scikit-learn's order. Run: ``python scripts/make_digits.py`` (needs
scikit-learn; the server never does).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parents[1] / "server" / "problems" / "nn" / "data" / "digits.u8.gz"


def main() -> None:
    bunch = load_digits()
    labels = bunch.target.astype(np.uint8)
    pixels = bunch.data.astype(np.uint8)
    assert pixels.shape == (1797, 64) and int(pixels.max()) == 16
    OUT.write_bytes(gzip.compress(labels.tobytes() + pixels.tobytes(), 9, mtime=0))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
