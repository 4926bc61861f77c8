#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise a benchmark run: medians per cell, ratios, a table and a plot.

Reads DIR/raw.csv (echo-bench rows) and DIR/memory.csv (server, conns,
bytes per idle connection); writes DIR/summary.md, DIR/summary.csv and
DIR/req-per-s.png (gnuplot: req/s against connections, one line per
server, one panel per message size).
"""
import csv
import os
import statistics
import subprocess
import sys

KERNEL = ("echo_sync", "echo_async")


def main(out):
    with open(os.path.join(out, "raw.csv")) as f:
        rows = [r for r in csv.DictReader(f)]
    cells, failed = {}, {}
    for r in rows:
        key = (int(r["size"]), int(r["conns"]), r["label"])
        # A failed run (errors, or nothing measured) is counted, not
        # averaged in as zero requests/s.
        if int(r["errors"]) or not int(r["requests"]):
            failed[key] = failed.get(key, 0) + 1
            continue
        cells.setdefault(key, []).append(r)
    servers = sorted({k[2] for k in cells},
                     key=lambda s: (s not in KERNEL, s))
    sizes = sorted({k[0] for k in cells})
    conns = sorted({k[1] for k in cells})

    def med(key, col):
        return statistics.median(float(r[col]) for r in cells[key])

    summary = []
    for size in sizes:
        for c in conns:
            peers = [med((size, c, s), "req_per_s") for s in servers
                     if s not in KERNEL and (size, c, s) in cells]
            best = max(peers) if peers else 0
            for s in servers:
                key = (size, c, s)
                if key not in cells:
                    continue
                rps = [float(r["req_per_s"]) for r in cells[key]]
                m = statistics.median(rps)
                summary.append({
                    "size": size, "conns": c, "server": s,
                    "runs": len(rps), "req_per_s": round(m),
                    "min": round(min(rps)), "max": round(max(rps)),
                    "p99_us": round(med(key, "p99_us"), 1),
                    "cpu_us_per_req": round(
                        med(key, "server_cpu_us_per_req"), 2),
                    "failed_runs": failed.get(key, 0),
                    "ratio_to_best_peer": round(m / best, 2) if best else "",
                })
    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)

    mem = []
    if os.path.exists(os.path.join(out, "memory.csv")):
        with open(os.path.join(out, "memory.csv")) as f:
            mem = [r for r in csv.reader(f) if r]

    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("# Benchmark summary\n\nMedian requests/s (request/response, "
                "one message in flight per connection), min-max over the "
                "runs, p99 latency, server CPU per request, and the ratio "
                "to the best user-space peer in the same cell. A run that "
                "failed (an error, or nothing measured) is left out of the "
                "median and counted in the last column.\n\n")
        for size in sizes:
            f.write(f"## {size}-byte messages\n\n| conns | server | req/s "
                    "| min-max | p99 us | CPU us/req | vs best peer "
                    "| failed runs |\n|---|---|---|---|---|---|---|---|\n")
            for s in summary:
                if s["size"] != size:
                    continue
                f.write(f"| {s['conns']} | {s['server']} | {s['req_per_s']} "
                        f"| {s['min']}-{s['max']} | {s['p99_us']} "
                        f"| {s['cpu_us_per_req']} "
                        f"| {s['ratio_to_best_peer']} "
                        f"| {s['failed_runs']} |\n")
            f.write("\n")
        if mem:
            f.write("## Memory per idle connection\n\nGuest memory "
                    "(MemAvailable) used per idle connection, client and "
                    "server sockets included; the client's share is the "
                    "same for every server.\n\n| server | connections | "
                    "bytes per connection |\n|---|---|---|\n")
            for s, n, b in mem:
                f.write(f"| {s} | {n} | {b} |\n")
        write_profile(out, f)

    plot(out, servers, sizes, conns, summary)


def write_profile(out, f):
    """The profiled cell: CPU split and context switches, then perf."""
    path = os.path.join(out, "profile.csv")
    if not os.path.exists(path):
        return
    with open(path) as p:
        prof = list(csv.DictReader(p))
    if not prof:
        return
    f.write("\n## Profile: 64-byte messages, 256 connections\n\n"
            "Where the guest's two vCPUs went over 2 s of the run (from "
            "/proc/stat), and context switches per request; the perf "
            "profile of the next 2 s is in perf.txt.\n\n| server | req/s "
            "| ctxt/req | user % | system % | softirq % | idle % |\n"
            "|---|---|---|---|---|---|---|\n")
    for r in prof:
        f.write(f"| {r['server']} | {r['req_per_s']} | {r['ctxt_per_req']} "
                f"| {r['user_pct']} | {r['sys_pct']} | {r['softirq_pct']} "
                f"| {r['idle_pct']} |\n")
    perf = os.path.join(out, "perf.txt")
    if not os.path.exists(perf):
        return
    top = {}
    with open(perf) as p:
        for line in p:
            srv, _, rest = line.rstrip("\n").partition(",")
            if len(top.setdefault(srv, [])) < 8:
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
                        if (r["size"], r["conns"], r["server"]) == (size, c, s):
                            f.write(f"{c} {r['req_per_s']}\n")
                f.write("\n\n")
    script = [
        "set terminal pngcairo size 1500,500 noenhanced" if has_cairo()
        else "set terminal png size 1500,500 noenhanced",
        f"set output '{os.path.join(out, 'req-per-s.png')}'",
        f"set multiplot layout 1,{len(sizes)} title "
        "'echo, request/response: requests/s vs connections "
        "(QEMU TCG, 2 vCPUs)'",
        "set logscale x", "set xlabel 'connections'",
        "set ylabel 'requests/s'", "set key top left", "set grid",
        f"set xtics ({', '.join(str(c) for c in conns)})",
    ]
    for i, size in enumerate(sizes):
        script.append(f"set title '{size}-byte messages'")
        parts = []
        for j, s in enumerate(servers):
            idx = i * len(servers) + j
            lw = 3 if s in KERNEL else 1.5
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
