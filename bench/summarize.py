#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise the benchmark runs: tables, ratios and plots.

The instruction-counted run (make bench MODE=icount) is the headline: reads
DIR/icount.csv (the repetition, then echo-bench's row) and DIR/icount-env.csv
(key,value: what the guest and QEMU were); writes DIR/icount-summary.csv and
DIR/icount.png (gnuplot: req/s and MB/s per cell, a bar per server).

The wall-clock run (make bench): reads DIR/raw.csv (echo-bench rows),
DIR/memory.csv (server, conns, bytes per idle connection) and DIR/env.csv;
writes DIR/summary.csv and DIR/req-per-s.png (gnuplot: req/s against
connections, one line per server, one panel per message size).

The pressure cells (make bench QUICK=pressure, once per kernel): read
DIR/pressure-KERNEL.csv (one row per run); summary.md gets a table per
kernel, medians with min-max. The same for the squeeze cells
(QUICK=squeeze, DIR/squeeze-KERNEL.csv) and their control (QUICK=calm,
DIR/calm-KERNEL.csv).

DIR/summary.md has them all, the icount tables first; any run may be
missing.
"""
import glob
import csv
import io
import os
import re
import statistics
import subprocess
import sys

KERNEL = ("echo_sync", "echo_async")
# Repetitions of an icount cell further apart than this are flagged: the
# measure is meant to be exact, so a gap says something varied.
ICOUNT_TOLERANCE_PCT = 1.0

ICOUNT_ABOUT = """\
QEMU's `-icount shift=0,sleep=off` drives the guest's clock by the
instructions it executes, 1 ns each, and skips idle time instead of
sleeping through it: a guest second is 10^9 instructions, so req/s here is
10^9 divided by the instructions the whole guest spends per request
(echo-bench, TCP over loopback, the server, the scheduler) and MB/s the
same per byte. The host's load does not enter, which is why two
repetitions agree, and why a gap of more than 1% between them is flagged.

What it models: instructions, on one CPU shared by client and server,
kernel and user space alike; a context switch counts for the
instructions it executes. What it does not: the time those instructions
take on a real CPU. Every instruction costs the same (a divide as much as
an add, a `rep movs` copy one per iteration, i.e. one per byte or word
moved); cache and TLB misses, memory bandwidth, branch mispredictions
and the cache and TLB cost of a context switch are not there at all, so
it flatters designs that switch or touch much memory. Nor does it show
parallelism, or the cost of waking a thread on another CPU: there is
only one. TCG's wall-clock time (the matrix below) exaggerates those same
costs instead; neither alone is the truth.

Figures: requests/s for request/response cells (one message in flight
per connection), MB/s (10^6 bytes echoed per second) for stream cells
(several messages in flight per connection); "vs best peer" divides by
the best user-space peer of the cell. CPU us/req is the guest's non-idle
time per request (per message in a stream cell) from /proc/stat, client
included: with one CPU, what a request costs the whole system, 1 us
being 1,000 instructions (to the precision of /proc/stat's ticks);
ctxt/req is /proc/stat's context switches per request, and TCP
segments/req the segments sent per request (/proc/net/snmp's OutSegs: both
directions, on loopback), where an unpiggybacked ACK shows.
"""


def main(out):
    parts = []
    if os.path.exists(os.path.join(out, "icount.csv")):
        parts.append(icount(out))
    if os.path.exists(os.path.join(out, "raw.csv")):
        parts.append(wall(out))
    for kind in ("calm", "pressure", "squeeze"):
        for path in sorted(glob.glob(os.path.join(out, f"{kind}-*.csv"))):
            parts.append(pressure(path, kind))
    if not parts and os.path.exists(os.path.join(out, "profile.csv")):
        # A profile alone (QUICK=mem through the NIC, which measures no
        # idle memory).
        f = io.StringIO()
        write_profile(out, f)
        parts.append(f.getvalue().lstrip("\n"))
    if not parts:
        sys.exit(f"summarize.py: no icount.csv, raw.csv, profile.csv, "
                 f"pressure-*.csv or squeeze-*.csv in {out}")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("# Benchmark summary\n\n" + "\n".join(parts))


def read_env(path):
    """key,value rows (the value may hold commas) as a dict."""
    env = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition(",")
                if k:
                    env[k] = v
    return env


def env_md(env):
    """What the guest and QEMU were, as a list."""
    if not env:
        return ""
    lines = []
    if "kernel" in env:
        cpu = " ".join(f"`{env[k]}`" for k in ("cpu_vendor", "cpu_model")
                       if env.get(k))
        lines.append(f"- guest: Linux {env['kernel']}, {env.get('cpus', '?')}"
                     f" CPU(s), {cpu}, clocksource "
                     f"{env.get('clocksource', '?')}")
    if "meltdown" in env:
        lines.append("- guest's /sys/devices/system/cpu/vulnerabilities/"
                     f"meltdown: `{env['meltdown']}` (no page-table "
                     "isolation: system calls cost what they cost on an "
                     "unaffected CPU)")
    if "qemu" in env:
        lines.append(f"- {env['qemu']}: `{env.get('qemu_args', '')}`")
    if "reps" in env:
        lines.append(f"- {env['reps']} repetitions, {env.get('warmup_s')} s "
                     f"warm-up and {env.get('duration_s')} s measured per "
                     "run")
    if env.get("rfs") == "1":
        lines.append("- receive flow steering on loopback: each packet's "
                     "receive processing on the CPU that last read or "
                     "accepted its socket")
    for k in ("echo_sync_params", "echo_async_params"):
        if env.get(k):
            lines.append(f"- {k.replace('_params', '')} loaded with "
                         f"`{env[k]}` besides the benchmark's own parameters")
    if env.get("vcpus"):
        lines.append(f"- vCPUs: {env['vcpus']}")
    if env.get("nic_defer", "none") != "none":
        n, _, ns = env["nic_defer"].partition(":")
        lines.append(f"- NAPI interrupt moderation on both NICs: "
                     f"napi_defer_hard_irqs {n}, gro_flush_timeout {ns} ns")
    if "host_seconds" in env:
        s = int(env["host_seconds"])
        lines.append(f"- the guest ran for {s // 60} min {s % 60} s on the "
                     "host" + (f", QEMU keeping {env['host_cores_used_by_qemu']}"
                               f" of its {env.get('host_cores', '?')} cores "
                               "busy" if env.get("host_cores_used_by_qemu")
                               else ""))
    return "\n".join(lines) + "\n\n"


def in_kernel(server):
    """echo_sync, echo_async, and echo_async's design steps (echo_async-*)."""
    return server.split("-")[0] in KERNEL


def server_order(servers):
    """The in-kernel servers first, then the peers by name."""
    return sorted(servers, key=lambda s: (not in_kernel(s), s))


def cell_name(mode, size, conns, depth):
    what = f"{size} B" if size < 65536 else (
        f"{size // 1048576} MiB" if size % 1048576 == 0 else
        f"{size // 1024} KiB")
    if mode == "rr":
        return f"rr {what} x {conns}"
    return f"{mode} {what} x {conns}, {depth} in flight"


PRESSURE_ABOUT = """\
128 connections stream byte-checked 16 KiB messages (at most 64 KiB
unechoed each), 64 of them reading one second in four; tcp_rmem and
tcp_wmem "4096 16384 65536", and tcp_mem "32 64 128" pages for the
measured window (TCP under memory pressure throughout), then restored.
MiB: echoed in the window. After: 10 s more, every connection reading:
the fewest messages a connection echoed then (0 would be a stall, and an
error). Drain: nothing more sent, the time until the last connection has
all its echoes, and how many took over 5 s (waiting on TCP's backed-off
window probe). TcpExt counters are the guest's, over the run. Median
[min-max] over the repetitions; servers pinned as in the matrix.
"""

SQUEEZE_ABOUT = """\
The pressure cells' streams and buffers (128 connections, 16 KiB
messages, 64 slow readers, tcp_rmem and tcp_wmem "4096 16384 65536"),
tcp_mem left alone and a RAM squeeze instead, from before the
connections are made to the end of the measured window: mem-squeeze holds
the guest's free memory between the page allocator's min and low
watermarks (a hog mapping memory while MemFree is above the midpoint and
unmapping as soon as it is below: every allocation takes the allocator's
slow path, and one that finds a zone at its min watermark reclaims
directly; kswapd, with nothing to reclaim without swap, soon gives up;
the OOM killer takes the hog, which is restarted, when the kernel needs
memory faster than the hog returns it; the hog runs on the client's
vCPU). MiB, errors, after and drain as in the pressure cells; over the
run: RTOs, OOM kills, direct reclaim stalls (allocstall), kswapd runs
(pageoutrun), the kernel's "page allocation failure" reports
(rate-limited), the least MemFree mem-squeeze saw (KiB), and echo_async's
short sends. Median [min-max] over the repetitions.
"""

PRESSURE_COLS = [
    ("mib", "MiB"), ("errors", "errors"), ("fewest_after", "after: fewest"),
    ("drain_max_s", "drain max s"), ("drain_over_5s", "drains > 5 s"),
    ("TCPTimeouts", "RTOs"), ("TCPRcvQDrop", "RcvQDrop"),
    ("TCPWinProbe", "window probes"), ("send_wait_ack", "wait ack"),
    ("send_wait_probe", "wait probe"), ("send_wait_nomem", "wait nomem"),
    ("held", "held"),
]


CALM_ABOUT = """\
The pressure cells' streams and buffers (128 connections, 16 KiB
messages, 64 slow readers, tcp_rmem and tcp_wmem "4096 16384 65536")
with neither tcp_mem lowered nor a squeeze: what the other two tables
are read against. Columns as in the pressure table.
"""

SQUEEZE_COLS = PRESSURE_COLS[:5] + [
    ("TCPTimeouts", "RTOs"), ("oom_kill", "OOM kills"),
    ("allocstall", "allocstall"), ("pageoutrun", "kswapd runs"),
    ("alloc_failures", "alloc failures"),
    ("memfree_min_kib", "MemFree min KiB"), ("send_wait_ack", "wait ack"),
    ("send_wait_nomem", "wait nomem"),
]


def pressure(path, kind):
    """One kernel's pressure (or squeeze) cells, as markdown."""
    kernel = os.path.basename(path)[len(kind) + 1:-len(".csv")]
    about, cols, title = {
        "pressure": (PRESSURE_ABOUT, PRESSURE_COLS,
                     "Under TCP memory pressure"),
        "squeeze": (SQUEEZE_ABOUT, SQUEEZE_COLS, "Under a RAM squeeze"),
        "calm": (CALM_ABOUT, PRESSURE_COLS,
                 "The pressure cells' streams, unpressed (control)"),
    }[kind]
    with open(path) as f:
        rows = list(csv.DictReader(f))
    servers = []
    for r in rows:
        if r["server"] not in servers:
            servers.append(r["server"])
    head = "| server | runs | " + " | ".join(c[1] for c in cols)
    lines = [f"## {title} ({kernel})", "", about, head + " |",
             "|---" * (len(cols) + 2) + "|"]
    for srv in server_order(servers):
        mine = [r for r in rows if r["server"] == srv]
        cells = []
        for key, _ in cols:
            vals = [float(r[key]) for r in mine
                    if r.get(key) not in (None, "", "-")]
            if not vals:
                cells.append("-")
                continue
            med = statistics.median(vals)
            cells.append(f"{med:g} [{min(vals):g}-{max(vals):g}]"
                         if len(vals) > 1 else f"{med:g}")
        lines.append(f"| {srv} | {len(mine)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def fmt(v, unit):
    return f"{v:.1f}" if unit == "MB/s" else f"{v:.0f}"


def icount(out):
    """The instruction-counted tables and plot, as markdown."""
    with open(os.path.join(out, "icount.csv")) as f:
        rows = list(csv.DictReader(f))
    env = read_env(os.path.join(out, "icount-env.csv"))
    cells, runs, failed = [], {}, {}
    for r in rows:
        cell = (r["mode"], int(r["size"]), int(r["conns"]), int(r["depth"]))
        if cell not in cells:
            cells.append(cell)
        key = (cell, r["label"])
        if int(r["errors"]) or not int(r["requests"]):
            failed[key] = failed.get(key, 0) + 1
            continue
        runs.setdefault(key, []).append(r)
    servers = server_order({k[1] for k in list(runs) + list(failed)})

    summary = []
    for cell in cells:
        unit, col = (("MB/s", "mb_per_s") if cell[0] == "stream"
                     else ("req/s", "req_per_s"))
        figs = {}
        for s in servers:
            rs = sorted(runs.get((cell, s), []), key=lambda r: int(r["rep"]))
            if rs:
                figs[s] = [float(r[col]) for r in rs]
        peers = {s: statistics.median(v) for s, v in figs.items()
                 if not in_kernel(s)}
        best = max(peers, key=peers.get) if peers else None
        for s in servers:
            if s not in figs and (cell, s) not in failed:
                continue
            v = figs.get(s, [])
            m = statistics.median(v) if v else 0
            spread = 100 * (max(v) - min(v)) / m if m else 0
            rs = runs.get((cell, s), [])

            def med(c, digits):
                x = [float(r[c]) for r in rs if r.get(c, "") not in ("", "-1")]
                return round(statistics.median(x), digits) if x else ""
            summary.append({
                "mode": cell[0], "size": cell[1], "conns": cell[2],
                "depth": cell[3], "server": s, "unit": unit,
                "value": round(m, 1), "reps": ";".join(fmt(x, unit)
                                                        for x in v),
                "spread_pct": round(spread, 2),
                "over_tolerance": int(spread > ICOUNT_TOLERANCE_PCT),
                "best_peer": best or "",
                "ratio_to_best_peer": round(m / peers[best], 3)
                if best and peers[best] else "",
                "cpu_us_per_req": med("machine_cpu_us_per_req", 2),
                "ctxt_per_req": med("ctxt_per_req", 2),
                "segs_per_req": med("segs_per_req", 2),
                "idle_pct": med("idle_pct", 1),
                "failed_runs": failed.get((cell, s), 0),
            })
    with open(os.path.join(out, "icount-summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)

    by = {((r["mode"], r["size"], r["conns"], r["depth"]), r["server"]): r
          for r in summary}
    nreps = max((len(v) for v in runs.values()), default=0)
    flagged = [r for r in summary if r["over_tolerance"]]
    md = ["## Headline: instructions counted (QEMU -icount, one vCPU)\n\n",
          ICOUNT_ABOUT, "\n", env_md(env)]
    md.append("| cell | unit | " + " | ".join(servers) +
              " | best peer | echo_async / best peer "
              "| echo_sync / best peer |\n")
    md.append("|---" * (len(servers) + 5) + "|\n")
    for cell in cells:
        line, unit, best = [cell_name(*cell)], "", ""
        for s in servers:
            r = by.get((cell, s))
            if not r:
                line.append("")
                continue
            unit, best = r["unit"], r["best_peer"]
            mark = " (!)" if r["over_tolerance"] else ""
            bad = f" ({r['failed_runs']} failed)" if r["failed_runs"] else ""
            line.append(fmt(r["value"], unit) + mark + bad)
        ratios = []
        for k in KERNEL[::-1]:
            r = by.get((cell, k))
            ratios.append(f"{r['ratio_to_best_peer']:.2f}"
                          if r and r["ratio_to_best_peer"] != "" else "")
        md.append("| " + " | ".join([line[0], unit] + line[1:] +
                                   [best] + ratios) + " |\n")
    md.append("\n(!): repetitions more than "
              f"{ICOUNT_TOLERANCE_PCT:g}% apart. " +
              (f"{len(flagged)} such cell(s)." if flagged else
               f"None: every cell's {nreps} repetitions agree within "
               f"{max(r['spread_pct'] for r in summary):.2f}%.") + "\n\n")
    md.append("### Per server: every repetition, CPU and context switches "
              "per request\n\n| cell | server | " +
              " | ".join(f"rep {i + 1}" for i in range(nreps)) +
              " | apart | vs best peer | CPU us/req | ctxt/req "
              "| TCP segments/req | idle % |\n" +
              "|---" * (nreps + 8) + "|\n")
    for r in summary:
        reps = r["reps"].split(";") if r["reps"] else []
        reps += [""] * (nreps - len(reps))
        flag = " (!)" if r["over_tolerance"] else ""
        md.append(f"| {cell_name(r['mode'], r['size'], r['conns'], r['depth'])}"
                  f" {r['unit']} | {r['server']} | " + " | ".join(reps) +
                  f" | {r['spread_pct']:.2f}%{flag} "
                  f"| {r['ratio_to_best_peer']} | {r['cpu_us_per_req']} "
                  f"| {r['ctxt_per_req']} | {r['segs_per_req']} "
                  f"| {r['idle_pct']} |\n")
    md.append("\n![icount: req/s and MB/s per cell](icount.png)\n")
    prof = io.StringIO()
    write_profile(out, prof, "icount-")
    md.append(prof.getvalue())
    icount_plot(out, cells, servers, by)
    return "".join(md)


# One colour per server, none repeated for up to twelve.
PALETTE = ("#6a3d9a", "#cab2d6", "#9e7cc1", "#ff7f00", "#1f78b4",
           "#a6cee3", "#e31a1c", "#333333", "#33a02c", "#b2df8a",
           "#b15928", "#fb9a99")


def icount_plot(out, cells, servers, by):
    """Bars per server: req/s of the rr cells, MB/s of the stream cells."""
    panels = [(u, [c for c in cells if (c[0] == "stream") == (u == "MB/s")])
              for u in ("req/s", "MB/s")]
    panels = [(u, cs) for u, cs in panels if cs]
    script = [
        "set terminal pngcairo size 1500,600 noenhanced" if has_cairo()
        else "set terminal png size 1500,600 noenhanced",
        f"set output '{os.path.join(out, 'icount.png')}'",
        f"set multiplot layout 1,{len(panels)} title 'echo under QEMU "
        "-icount shift=0 (instructions counted, 1 vCPU shared by client "
        "and server)'",
        "set style data histograms",
        "set style histogram clustered gap 1",
        "set style fill solid 0.85 border -1",
        "set boxwidth 0.9", "set grid ytics",
        "set key below horizontal", "set bmargin 8",
        "set yrange [0:*]", "set xtics nomirror",
    ]
    dats = []
    for i, (unit, cs) in enumerate(panels):
        dat = os.path.join(out, f"icount-plot{i}.dat")
        dats.append(dat)
        with open(dat, "w") as f:
            for c in cs:
                vals = [str(by[(c, s)]["value"]) if (c, s) in by else "0"
                        for s in servers]
                label = cell_name(*c).replace(", ", "\\n")
                f.write(f'"{label}" ' + " ".join(vals) + "\n")
        script.append(f"set title '{'request/response' if unit == 'req/s' else 'stream'}: {unit}'")
        script.append(f"set ylabel '{unit}'")
        parts = [(f"'{dat}' using {j + 2}:xtic(1)" if j == 0 else
                  f"'' using {j + 2}") +
                 f" title '{s}' lc rgb '{PALETTE[j % len(PALETTE)]}'"
                 for j, s in enumerate(servers)]
        script.append("plot " + ", ".join(parts))
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True,
                   check=True)
    for d in dats:
        os.remove(d)


def wall(out):
    """The wall-clock matrix's tables and plot, as markdown."""
    with open(os.path.join(out, "raw.csv")) as f:
        rows = [r for r in csv.DictReader(f)]
    cells, failed = {}, {}
    for r in rows:
        key = (r["mode"], int(r["size"]), int(r["conns"]), r["label"])
        # A failed run (errors, or nothing measured) is counted, not
        # averaged in as zero requests/s.
        if int(r["errors"]) or not int(r["requests"]):
            failed[key] = failed.get(key, 0) + 1
            continue
        cells.setdefault(key, []).append(r)
    servers = sorted({k[3] for k in cells},
                     key=lambda s: (not in_kernel(s), s))
    # Request/response first, then connection churn (a request is then a
    # connection: connect, one message, close).
    tables = sorted({k[:2] for k in cells}, key=lambda t: (t[0] != "rr", t))
    sizes = sorted({k[1] for k in cells if k[0] == "rr"})
    conns = sorted({k[2] for k in cells if k[0] == "rr"})

    def med(key, col):
        return statistics.median(float(r[col]) for r in cells[key])

    summary = []
    for mode, size in tables:
        for c in sorted({k[2] for k in cells if k[:2] == (mode, size)}):
            peers = {s: med((mode, size, c, s), "req_per_s") for s in servers
                     if not in_kernel(s) and (mode, size, c, s) in cells}
            top = max(peers, key=peers.get) if peers else None
            best = peers[top] if top else 0
            trps = ([float(r["req_per_s"])
                     for r in cells[(mode, size, c, top)]] if top else [])
            for s in servers:
                key = (mode, size, c, s)
                if key not in cells:
                    continue
                rps = [float(r["req_per_s"]) for r in cells[key]]
                m = statistics.median(rps)
                # Whether the runs' ranges overlap the best peer's: if
                # they do, the medians' ratio may be noise (a tie).
                if s == top or not trps:
                    vs = "best peer" if s == top else ""
                elif min(rps) > max(trps):
                    vs = "above"
                elif max(rps) < min(trps):
                    vs = "below"
                else:
                    vs = "overlaps"
                summary.append({
                    "mode": mode, "size": size, "conns": c, "server": s,
                    "runs": len(rps), "req_per_s": round(m),
                    "min": round(min(rps)), "max": round(max(rps)),
                    "p99_us": round(med(key, "p99_us"), 1),
                    "cpu_us_per_req": round(
                        med(key, "server_cpu_us_per_req"), 2),
                    "failed_runs": failed.get(key, 0),
                    "ratio_to_best_peer": round(m / best, 2) if best else "",
                    "range_vs_best_peer": vs,
                })
    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)

    mem = []
    if os.path.exists(os.path.join(out, "memory.csv")):
        with open(os.path.join(out, "memory.csv")) as f:
            mem = [r for r in csv.reader(f) if r]

    runs = max(s["runs"] for s in summary)
    env = read_env(os.path.join(out, "env.csv"))
    # bench_vcpus may give a side more than one (env "vcpus").
    sides = re.match(r"server (\d+) .*; client (\d+) ", env.get("vcpus", ""))
    sides = ("the client on one vCPU, the server on the other"
             if not sides or sides.groups() == ("1", "1") else
             f"the server on {sides[1]} vCPUs, the client on {sides[2]}")
    with io.StringIO() as f:
        f.write(f"## Wall-clock: QEMU TCG, {env.get('cpus', 2)} vCPUs\n\n"
                "Median requests/s "
                "(request/response, one message in flight per connection; "
                f"{sides}), min-max "
                f"over the runs (up to {runs} per cell), p99 latency, server "
                "CPU per request, the ratio to the best user-space peer in "
                "the same cell, and whether the server's min-max range "
                "overlaps the best peer's (overlapping ranges: the ratio "
                "may be noise, call it a tie) or lies above or below it. "
                "Wall-clock time under TCG depends on the host's load, and "
                "exaggerates the cost of a context switch (each flushes "
                "QEMU's software TLB). A run that failed (an "
                "error, or nothing measured) is left out of the median and "
                "counted in the last column.\n\n")
        f.write(env_md(env))
        for mode, size in tables:
            if mode == "churn":
                f.write(f"### Connection churn, {size}-byte messages\n\n"
                        "Each client connects, echoes one message and "
                        "closes, again and again: connections per second, "
                        "the latency from connect() to the echo's last "
                        "byte, server CPU per connection.\n\n"
                        "| clients | server | conn/s ")
            else:
                f.write(f"### {size}-byte messages\n\n"
                        "| conns | server | req/s ")
            f.write("| min-max | p99 us | CPU us/req | vs best peer "
                    "| range vs best peer | failed runs |\n"
                    "|---|---|---|---|---|---|---|---|---|\n")
            for s in summary:
                if (s["mode"], s["size"]) != (mode, size):
                    continue
                f.write(f"| {s['conns']} | {s['server']} | {s['req_per_s']} "
                        f"| {s['min']}-{s['max']} | {s['p99_us']} "
                        f"| {s['cpu_us_per_req']} "
                        f"| {s['ratio_to_best_peer']} "
                        f"| {s['range_vs_best_peer']} "
                        f"| {s['failed_runs']} |\n")
            f.write("\n")
        if mem:
            f.write("### Memory per idle connection\n\nGuest memory "
                    "(MemAvailable) used per idle connection, client and "
                    "server sockets included; the client's share is the "
                    "same for every server.\n\n| server | connections | "
                    "bytes per connection |\n|---|---|---|\n")
            for s, n, b in mem:
                f.write(f"| {s} | {n} | {b} |\n")
        f.write(nic_md(out, server_order(servers)))
        write_profile(out, f)
        md = f.getvalue()

    plot(out, servers, sizes, conns, summary)
    return md


def nic_md(out, servers):
    """TOPO=nic's per-run NIC and vCPU rows, medians per cell, as markdown
    (empty without them)."""
    paths = [os.path.join(out, n) for n in ("nictx.csv", "vcpuidle.csv")]
    if not all(os.path.exists(p) for p in paths):
        return ""
    runs = {}
    for p in paths:
        with open(p) as f:
            for r in csv.DictReader(f):
                key = (r["mode"], int(r["size"]), int(r["conns"]),
                       r["server"])
                runs.setdefault(key, []).append(r)
    if not runs:
        return ""
    # Interrupts per request: nicirq.csv has a row per run in raw.csv's
    # order, counted over warm-up and measurement alike, so the requests
    # are the measured rate over both.
    irqs = os.path.join(out, "nicirq.csv")
    with open(os.path.join(out, "raw.csv")) as f:
        raw = list(csv.DictReader(f))
    with open(irqs) as f:
        nicirq = list(csv.DictReader(f))
    paired = len(raw) == len(nicirq) and all(
        a["label"] == b["server"] for a, b in zip(raw, nicirq))
    if not paired:
        print(f"summarize: {irqs}: {len(nicirq)} rows against raw.csv's "
              f"{len(raw)}, not paired: no interrupts per request",
              file=sys.stderr)
    else:
        for a, b in zip(raw, nicirq):
            reqs = float(a["req_per_s"]) * (float(a["warmup_s"]) +
                                             float(a["duration_s"]))
            key = (a["mode"], int(a["size"]), int(a["conns"]), a["label"])
            if reqs and key in runs:
                runs[key].append({side + "_irqs_per_req": sum(
                    int(v) for k, v in b.items()
                    if k.startswith(side + "_irqs")) / reqs
                    for side in ("srv", "cli")})
    cpus = sorted({c for rs in runs.values() for r in rs for c in r
                   if c.startswith("idle_pct_cpu")},
                  key=lambda c: int(c[len("idle_pct_cpu"):]))

    def med(rs, col):
        v = [float(r[col]) for r in rs if r.get(col) not in (None, "")]
        return statistics.median(v) if v else None

    def per(rs, num, den):
        v = [int(r[num]) / int(r[den]) for r in rs
             if r.get(num) not in (None, "")
             and r.get(den) not in (None, "", "0")]
        return f"{statistics.median(v):.2f}" if v else ""

    f = io.StringIO()
    f.write("### Through the NICs: doorbells and idle vCPUs\n\n"
            "Per run, medians over the runs: each NIC's transmit doorbells "
            "(virtio_net's kicks, each a register write QEMU emulates) per "
            "packet it sent; the ACKs each side's TCP sent alone when a "
            "delayed ACK's timer ran out, per packet that side sent; each "
            "NIC's interrupts per request; and each vCPU's idle share. All "
            "counted over warm-up and measurement.\n\n"
            "| cell | server | server NIC interrupts/request "
            "| client NIC interrupts/request | server NIC kicks/packet "
            "| client NIC kicks/packet | server delayed ACKs/packet "
            "| client delayed ACKs/packet | "
            + " | ".join(f"vCPU {c[len('idle_pct_cpu'):]} idle %"
                         for c in cpus)
            + " |\n|---|---|---|---|---|---|---|---|" + "---|" * len(cpus)
            + "\n")
    order = {s: i for i, s in enumerate(servers)}
    for key in sorted(runs, key=lambda k: (k[0] != "rr", k[:3],
                                           order.get(k[3], len(order)))):
        rs = runs[key]
        idle = [med(rs, c) for c in cpus]
        name = (cell_name(*key[:3], 1) if key[0] == "rr"
                else f"{key[0]} {key[1]} B x {key[2]}")
        irq = [med(rs, side + "_irqs_per_req") for side in ("srv", "cli")]
        f.write(f"| {name} | {key[3]} | "
                + " | ".join("" if i is None else f"{i:.2f}" for i in irq)
                + f" | {per(rs, 'srv_tx_kicks', 'srv_tx_packets')} "
                f"| {per(rs, 'cli_tx_kicks', 'cli_tx_packets')} "
                f"| {per(rs, 'srv_delayed_acks', 'srv_tx_packets')} "
                f"| {per(rs, 'cli_delayed_acks', 'cli_tx_packets')} | "
                + " | ".join("" if i is None else f"{i:.0f}" for i in idle)
                + " |\n")
    f.write("\n")
    return f.getvalue()


def write_profile(out, f, stem=""):
    """The profiled cell: CPU split and context switches, then perf.

    stem "" is the wall-clock run's (profile.csv, perf.txt), "icount-" the
    instruction-counted run's, whose perf samples count instructions.
    """
    path = os.path.join(out, stem + "profile.csv")
    if not os.path.exists(path):
        return
    with open(path) as p:
        prof = list(csv.DictReader(p))
    if not prof:
        return
    env = read_env(os.path.join(out, stem + "env.csv"))
    conns = env.get("profile_conns", "256")
    size = int(env.get("profile_size", "64"))
    what = ("the guest's two vCPUs" if not stem else
            "the guest's one vCPU (instructions: perf's cpu-clock ticks "
            "with the instruction-driven clock)")
    size = (f"{size // 1024} KiB" if size % 1024 == 0 else
            f"{size}-byte")
    f.write(f"\n### Profile: {size} messages, {conns} connections\n\n"
            f"Where {what} went over 2 s of the run (from "
            "/proc/stat), and context switches per request; the perf "
            f"profile of the next 3 s is in {stem}perf.txt, with call "
            f"chains (time including callees; who calls memset and "
            f"who disables interrupts) in {stem}callgraph.txt.\n\n"
            "| server | req/s "
            "| ctxt/req | user % | system % | softirq % "
            "| idle % (per vCPU) |\n"
            "|---|---|---|---|---|---|---|\n")
    for r in prof:
        # Per vCPU only in runs after it was added: "0 / 85".
        per = (r.get("idle_pct_by_cpu") or "").split()
        per = f" ({' / '.join(per)})" if len(per) > 1 else ""
        f.write(f"| {r['server']} | {r['req_per_s']} | {r['ctxt_per_req']} "
                f"| {r['user_pct']} | {r['sys_pct']} | {r['softirq_pct']} "
                f"| {r['idle_pct']}{per} |\n")
    perf = os.path.join(out, stem + "perf.txt")
    if not os.path.exists(perf):
        return
    top = {}
    with open(perf) as p:
        for line in p:
            srv, _, rest = line.rstrip("\n").partition(",")
            if len(top.setdefault(srv, [])) < 12:
                top[srv].append(" ".join(rest.split()))
    f.write("\nTop of the perf profile (self time, all CPUs):\n\n")
    for srv, lines in top.items():
        f.write(f"**{srv}**\n\n```\n" + "\n".join(lines) + "\n```\n\n")


def plot(out, servers, sizes, conns, summary):
    dat = os.path.join(out, "plot.dat")
    with open(dat, "w") as f:
        for size in sizes:
            for s in servers:
                f.write(f"# {size} {s}\n")
                for c in conns:
                    for r in summary:
                        if (r["mode"], r["size"], r["conns"],
                                r["server"]) == ("rr", size, c, s):
                            f.write(f"{c} {r['req_per_s']}\n")
                f.write("\n\n")
    script = [
        "set terminal pngcairo size 1500,620 noenhanced" if has_cairo()
        else "set terminal png size 1500,620 noenhanced",
        f"set output '{os.path.join(out, 'req-per-s.png')}'",
        f"set multiplot layout 1,{len(sizes)} title "
        "'echo, request/response: requests/s vs connections "
        "(QEMU TCG, 2 vCPUs)'",
        "set logscale x", "set xlabel 'connections'",
        "set ylabel 'requests/s'", "set key below horizontal", "set bmargin 8", "set grid",
        f"set xtics ({', '.join(str(c) for c in conns)})",
    ]
    for i, size in enumerate(sizes):
        script.append(f"set title '{size}-byte messages'")
        parts = []
        for j, s in enumerate(servers):
            idx = i * len(servers) + j
            lw = 3 if in_kernel(s) else 1.5
            parts.append(f"'{dat}' index {idx} using 1:2 with linespoints "
                         f"lw {lw} title '{s}'")
        script.append("plot " + ", ".join(parts))
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True,
                   check=True)
    os.remove(dat)


def has_cairo():
    r = subprocess.run(["gnuplot", "-e", "set terminal"],
                       capture_output=True, text=True)
    return "pngcairo" in r.stdout + r.stderr


if __name__ == "__main__":
    main(sys.argv[1])
