"""Limits and options, read from the environment with the prefix GRADSCAPE_."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRADSCAPE_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8000
    # Extra origins allowed to open the websocket, e.g. ["https://slides.example.org"].
    # The server's own origin (the Host the page was loaded from) is always allowed.
    allowed_origins: list[str] = Field(default_factory=list)
    # Base URL of lecture-room links and QR codes, e.g. "http://192.168.1.20:8000" (default: the
    # address the presenter's page came from, or this computer's network address when that is
    # 127.0.0.1 and the server listens on 0.0.0.0).
    public_url: str | None = None
    # Value of Content-Security-Policy: frame-ancestors for the pages ("*" lets any site embed).
    frame_ancestors: str = "*"

    max_sessions: int = 200
    max_viewers: int = 2_000  # per lecture room (a lecture hall, phones and laptops)
    max_runs: int = 8
    max_steps: int = 100_000
    max_trajectory_steps: int = 20_000
    max_grid: int = 400
    max_steps_per_second: float = 2_000.0
    frames_per_second: float = 30.0
    max_message_bytes: int = 64 * 1024
    # Token bucket for client messages: sustained rate and burst.
    message_rate: float = 60.0
    message_burst: int = 120
    # A connection that floods past this many refused messages in a row is closed.
    flood_close_after: int = 200
    # Per session: the current race kept for a room's late viewers (about 32 bytes a point).
    room_history_bytes: int = 32 * 1024 * 1024
    # Rooms across workers (``gradscape serve --workers N``): redis://host:port/db. Unset: one
    # process, rooms in memory, no Redis needed.
    redis_url: str | None = None
    idle_timeout: float = 900.0
    send_timeout: float = 10.0
