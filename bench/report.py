"""The burst's figures as lines a person reads, and the verdict against the design."""

from typing import Any

# Design targets (docs: "Performance targets").
TARGET_DOCS_PER_S = 6000
TARGET_P99_S = 0.5
TARGET_RSS_MB = 250
MB = 1_000_000


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def render(result: dict[str, Any]) -> str:
    r = result
    m = r["machine"]
    p10, p90 = r["doc_bytes_p10_p90"]
    lines = [
        f"doorstep evening burst: {r['tablets']} tablets × {r['documents_per_tablet']} documents, "
        f"{r['concurrency']} syncing at a time, {r['grids']} grids, seed {r['seed']}",
        f"machine: {m['cores']} cores, {m['cpu']}, {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"{m['os']}",
        f"database: {r['database']}; code: {r['revision']}",
        f"workload: {r['documents']} documents, {r['updates']} updates, built in {r['build_s']} s "
        f"(untimed); median document {r['median_doc_bytes'] / 1000:.2f} KB "
        f"(p10 {p10 / 1000:.1f}, p90 {p90 / 1000:.1f})",
        f"total time: {r['total_s']:.2f} s (last push acknowledged at {r['committed_s']:.2f} s)",
        f"documents/s: {r['docs_per_s']:,.0f}  (updates/s {r['updates_per_s']:,.0f})",
        f"per-tablet sync latency: p50 {r['latency_p50_s']:.3f} s, p99 {r['latency_p99_s']:.3f} s,"
        f" max {r['latency_max_s']:.3f} s",
        f"wire bytes: {r['wire_bytes'] / MB:.1f} MB (sent {r['wire_sent_bytes'] / MB:.1f} MB, "
        f"received {r['wire_received_bytes'] / MB:.1f} MB) vs raw update bytes "
        f"{r['raw_update_bytes'] / MB:.1f} MB: ratio {r['wire_to_raw']} "
        f"(sent/raw {r['sent_to_raw']})",
        f"requests: {r['requests']}; pushed {r['pushed']}, duplicates {r['duplicates']}, "
        f"pulled {r['pulled']}; failed attempts {r['failed_attempts']}",
        f"server peak RSS: {r['server_peak_rss_mb']} MB sampled ({r['server_rss_samples']} "
        f"samples), VmHWM {r['server_vmhwm_mb']} MB, idle before the burst "
        f"{r['server_idle_rss_mb']} MB",
        f"CPU in the timed phase: server {r['server_cpu_s']} s, client {r['client_cpu_s']} s, "
        + (
            f"PostgreSQL backends {r['database_cpu_s']} s, "
            if r["database_cpu_s"] is not None
            else ""
        )
        + f"other processes {r['other_cpu_s']} s (load average before: {r['load_before']})",
        f"client event-loop lag: p99 {r['client_loop_lag_p99_s']:.3f} s, "
        f"max {r['client_loop_lag_max_s']:.3f} s",
        f"lost documents: {r['lost_documents']}",
        f"differing documents: {r['differing_documents']}",
        f"echoed own updates: {r['echoed_own_updates']}",
        f"pulled outside the tablet's grid: {r['pulled_outside_grid']}",
        f"refused updates: {r['refused_updates']}; left unsent: {r['unsent_updates']}",
    ]
    if r["server_log_lines"]:
        sample = "\n  ".join(r["server_log_sample"])
        lines.append(f"server log: {r['server_log_lines']} lines, first ones:\n  {sample}")
    if r["first_failure"]:
        lines.append(f"first failed attempt: {r['first_failure']}")
    if r["transport_errors"]:
        lines.append("transport errors (time into the burst): " + "; ".join(r["transport_errors"]))
    if r["server_cpu_s"] is not None and r["client_cpu_s"] > r["server_cpu_s"]:
        lines.append(
            "note: the simulated tablets used more CPU than the server (applying what they "
            "pulled from their grid), on the same cores: the figures are client-bound here. "
            "`--grids` equal to `--tablets` leaves only the pushes."
        )
    rss = r["server_vmhwm_mb"] or r["server_peak_rss_mb"]
    lines.append(
        "targets: "
        f"docs/s ≥ {TARGET_DOCS_PER_S} {_mark(r['docs_per_s'] >= TARGET_DOCS_PER_S)}, "
        f"p99 < {TARGET_P99_S} s {_mark(r['latency_p99_s'] < TARGET_P99_S)}, "
        f"RSS ≤ {TARGET_RSS_MB} MB {_mark(rss is not None and rss <= TARGET_RSS_MB)}, "
        f"zero loss {_mark(healthy(r))}, "
        f"no echo {_mark(r['echoed_own_updates'] == 0)}"
    )
    return "\n".join(lines)


def healthy(result: dict[str, Any]) -> bool:
    """Every document arrived intact, nothing echoed or leaked, nothing left behind."""
    return not any(
        result[key]
        for key in (
            "lost_documents",
            "differing_documents",
            "echoed_own_updates",
            "pulled_outside_grid",
            "refused_updates",
            "unsent_updates",
        )
    )
