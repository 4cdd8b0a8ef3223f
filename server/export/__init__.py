"""Export a race described by the page's URL hash: HTML, CSV, JSON or an animated GIF.

No web framework here: the route (server/routes/export.py) and the CLI (server/__main__.py) are
thin wrappers around :func:`export_hash`.
"""

from server.export.compute import RaceResult, RunResult, compute
from server.export.files import FORMATS, MEDIA_TYPES, ExportFile, export_hash, export_state
from server.export.state import ExportState, RunState, format_hash, parse_hash

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "ExportFile",
    "ExportState",
    "RaceResult",
    "RunResult",
    "RunState",
    "compute",
    "export_hash",
    "export_state",
    "format_hash",
    "parse_hash",
]
