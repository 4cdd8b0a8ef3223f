"""The tables and verdicts ``bench/ws_bench.py`` prints."""

from __future__ import annotations

import math

from bench.ws_load import ACK_TIMEOUT
from bench.ws_phase import Phase

QUIET_CORES = 0.3  # the rest of the machine counts as quiet below this load
TARGET_SESSIONS = 1000
TARGET_DELIVERED = 0.99  # at N = 1,000
TARGET_GAP_P99 = 0.050  # s, at N = 1,000
TARGET_ACK_P99 = 0.030  # s, while 200 sessions stream
TARGET_CPU_RATIO = 1.5  # server CPU per delivered frame, ours / bare


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    return f">{ACK_TIMEOUT * 1000:.0f}" if math.isinf(seconds) else f"{seconds * 1000:.1f}"


def ratio(a: float, b: float) -> str:
    if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_table(rows: list[tuple[Phase, Phase]]) -> None:
    head = (
        f"{'N':>4} {'server':<6} {'frames':>7} {'worst':>6} {'gap p99':>8} {'ack p50':>8} "
        f"{'ack p99':>8} {'srv CPU':>8} {'ms/s/ses':>9} {'us/frame':>9} {'loadgen':>8} "
        f"{'others':>7} {'bytes':>6}"
    )
    print(head)
    print("-" * len(head))
    for bare, ours in rows:
        for p in (bare, ours):
            print(
                f"{p.sessions:>4} {p.server:<6} {p.delivered:>7.1%} {p.worst:>6.1%} "
                f"{ms(p.gap_p99):>8} {ms(p.ack_p50):>8} {ms(p.ack_p99):>8} "
                f"{p.server_cpu:>8.0%} {p.cpu_per_session_ms:>9.3f} {p.cpu_per_frame_us:>9.1f} "
                f"{p.loadgen_cpu:>8.0%} {p.other_cpu:>7.0%} {p.frame_bytes:>6}"
            )
        print(
            f"{'':>4} {'ratio':<6} {ratio(ours.delivered, bare.delivered):>7} {'':>6} "
            f"{ratio(ours.gap_p99, bare.gap_p99):>8} {ratio(ours.ack_p50, bare.ack_p50):>8} "
            f"{ratio(ours.ack_p99, bare.ack_p99):>8} {ratio(ours.server_cpu, bare.server_cpu):>8} "
            f"{ratio(ours.cpu_per_session_ms, bare.cpu_per_session_ms):>9} "
            f"{ratio(ours.cpu_per_frame_us, bare.cpu_per_frame_us):>9}"
        )
        for p in (bare, ours):
            if p.failed or p.refusals or p.stops or p.errors:
                print(
                    f"     {p.server} N={p.sessions}: {p.failed} sessions failed, {p.refusals} "
                    f"error replies, {p.stops} run-ended events; {'; '.join(p.errors)}"
                )


def print_contention(rows: list[tuple[Phase, Phase]]) -> None:
    busy = [p for pair in rows for p in pair if p.other_cpu > QUIET_CORES]
    if busy:
        shown = ", ".join(f"{p.server} N={p.sessions} {p.other_cpu:.0%}" for p in busy)
        print(
            f"\nWARNING: other jobs used more than {QUIET_CORES:.0%} of a core during: {shown}. "
            "Those phases had less CPU than an idle machine gives; rerun with --quiet-wait 60 "
            "or on a quiet machine. Server CPU per delivered frame (us/frame) is the figure "
            "least sensitive to this."
        )


def print_targets(rows: list[tuple[Phase, Phase]], probes: int) -> None:
    """Issue #16's targets at the largest N run (1,000 by default); set -> ack at N = 200."""
    print("\ntargets (ours):")
    by_n = {ours.sessions - probes: (bare, ours) for bare, ours in rows}
    top = max(by_n)
    if top < TARGET_SESSIONS:
        print(f"  {TARGET_SESSIONS} sessions not run (add it to --clients); judged at N={top}:")
    big = by_n[top][1]
    print(
        f"  {big.sessions} sessions: frames delivered {big.delivered:.1%} >= 99%: "
        f"{verdict(big.delivered >= TARGET_DELIVERED)}; p99 interval {ms(big.gap_p99)} ms "
        f"<= 50 ms: {verdict(big.gap_p99 <= TARGET_GAP_P99)}"
    )
    mid = by_n.get(200)
    if mid is None:
        print("  set -> ack while 200 sessions stream: not run (add 200 to --clients)")
    else:
        print(
            f"  set -> ack p99 while 200 other sessions stream: {ms(mid[1].ack_p99)} ms "
            f"<= 30 ms: {verdict(mid[1].ack_p99 <= TARGET_ACK_P99)}"
        )
    for bare, ours in rows:
        # Judged per delivered frame: a server that drops frames spends less per session only
        # because it does less; when both deliver every frame the two ratios are the same.
        r = ours.cpu_per_frame_us / bare.cpu_per_frame_us if bare.server_cpu > 0 else math.inf
        print(
            f"  server CPU at N={ours.sessions}: {r:.2f}x bare per delivered frame "
            f"({ratio(ours.cpu_per_session_ms, bare.cpu_per_session_ms)} per session) "
            f"<= {TARGET_CPU_RATIO:g}x: {verdict(r <= TARGET_CPU_RATIO)}"
        )
