#!/usr/bin/env python3
"""Tables and plots from `switchboard-bench live` JSON lines (scripts/bench).

    scripts/bench-table.py [--runs N] < results.jsonl     markdown tables
    scripts/bench-table.py --plot sweep-room --out bench < results.jsonl

Rows with the same label are runs of one scenario: with more than one, every
figure is shown as the median and, in brackets, the min–max of the runs.
--plot writes <out>/<sweep>.dat and <out>/<sweep>.svg (gnuplot) for the rows of
a sweep (labels room-N or conns-N; the median of repeated runs).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys


def load(stream):
    rows = []
    for line in stream:
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def grouped(rows):
    groups = {}
    for r in rows:
        groups.setdefault(r.get("label", r.get("mode", "?")), []).append(r)
    return groups


def fmt(value):
    if isinstance(value, float):
        if value >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def cell(runs, get):
    values = [v for v in (get(r) for r in runs) if isinstance(v, (int, float))]
    if not values:
        return "-"
    if len(values) == 1 or min(values) == max(values):
        return fmt(values[0])
    med = statistics.median(values)
    if all(isinstance(v, int) for v in values) and med == int(med):
        med = int(med)
    return f"{fmt(med)} ({fmt(min(values))}–{fmt(max(values))})"


def node_sum(key):
    def get(r):
        p = r.get("processes", {})
        values = [v.get(key) for k, v in p.items() if k.startswith("node") and isinstance(v.get(key), (int, float))]
        return round(sum(values), 1) if values else None
    return get


def field(key, sub=None):
    if sub:
        return lambda r: r.get(sub, {}).get(key) if isinstance(r.get(sub), dict) else None
    return lambda r: r.get(key)


def redis_cpu(r):
    return r.get("processes", {}).get("redis", {}).get("cpu_pct")


FANOUT = [
    ("runs", lambda r: None),
    ("clients / room / msg/s", None),
    ("sent", field("sent")),
    ("lost", field("lost")),
    ("dup", field("duplicates")),
    ("p50 ms", field("p50_ms")),
    ("p90 ms", field("p90_ms")),
    ("p99 ms", field("p99_ms")),
    ("p99.9 ms", field("p999_ms")),
    ("max ms", field("max_ms")),
    ("node p50 / p99 ms (received → flushed)", None),
    ("deliveries/s", field("deliveries_per_s")),
    ("node CPU %", field("node_cpu_pct")),
    ("node µs/delivery", field("node_cpu_us_per_delivery")),
    ("node RSS peak MB", node_sum("rss_peak_mb")),
    ("redis CPU %", redis_cpu),
    ("bench CPU %", field("bench_cpu_pct")),
    ("other jobs CPU %", field("other_cpu_pct")),
    ("redis calls/send", field("redis_calls_per_send")),
]

CONNECT = [
    ("runs", None),
    ("connections", field("connections")),
    ("connected", field("connected")),
    ("seconds", field("connect_s")),
    ("connections/s", field("connections_per_s")),
    ("connect p50 ms", field("connect_p50_ms")),
    ("connect p99 ms", field("connect_p99_ms")),
    ("node KB per connection", field("node_kb_per_connection")),
]


def tables(rows):
    groups = grouped(rows)
    fan = {k: v for k, v in groups.items() if v[0].get("mode") == "fanout"}
    conn = {k: v for k, v in groups.items() if v[0].get("mode") in ("idle", "storm")}
    if fan:
        print("| scenario | " + " | ".join(name for name, _ in FANOUT) + " |")
        print("|---" * (len(FANOUT) + 1) + "|")
        for label, runs in fan.items():
            r0 = runs[0]
            cells = []
            for name, get in FANOUT:
                if name == "runs":
                    cells.append(str(len(runs)))
                elif name.startswith("clients"):
                    cells.append(f"{r0.get('clients', 0):,} / {r0.get('room_size', 0):,} / {r0.get('rate', 0):g}")
                elif name.startswith("node p50 / p99"):
                    cells.append(cell(runs, field("node_fanout_p50_ms")) + " / " + cell(runs, field("node_fanout_p99_ms")))
                else:
                    cells.append(cell(runs, get))
            print(f"| {label} | " + " | ".join(cells) + " |")
    if conn:
        print()
        print("| scenario | " + " | ".join(name for name, _ in CONNECT) + " |")
        print("|---" * (len(CONNECT) + 1) + "|")
        for label, runs in conn.items():
            cells = [str(len(runs)) if name == "runs" else cell(runs, get) for name, get in CONNECT]
            print(f"| {label} | " + " | ".join(cells) + " |")


def median_of(runs, key):
    values = [r.get(key) for r in runs if isinstance(r.get(key), (int, float))]
    return statistics.median(values) if values else float("nan")


def plot(rows, sweep, out):
    prefix = {"sweep-room": "room-", "sweep-conns": "conns-"}[sweep]
    groups = {k: v for k, v in grouped(rows).items() if k.startswith(prefix)}
    if not groups:
        print(f"bench-table: no rows for {sweep}", file=sys.stderr)
        return
    points = sorted((int(k[len(prefix):]), v) for k, v in groups.items())
    os.makedirs(out, exist_ok=True)
    dat = os.path.join(out, f"{sweep}.dat")
    with open(dat, "w") as f:
        f.write("# x p50_ms p99_ms node_fanout_p99_ms node_us_per_delivery deliveries_per_s runs\n")
        for x, runs in points:
            f.write(" ".join(str(v) for v in (
                x, median_of(runs, "p50_ms"), median_of(runs, "p99_ms"), median_of(runs, "node_fanout_p99_ms"),
                median_of(runs, "node_cpu_us_per_delivery"), median_of(runs, "deliveries_per_s"), len(runs))) + "\n")
    if not shutil.which("gnuplot"):
        print(f"bench-table: gnuplot missing (apt-get install gnuplot-nox); data in {dat}", file=sys.stderr)
        return
    svg = os.path.join(out, f"{sweep}.svg")
    xlabel = "conversation size (members), fixed deliveries/s" if sweep == "sweep-room" else \
        "idle connections held (both nodes), beside the load of the small scenario"
    script = f"""
set terminal svg size 900,420 font 'sans,12' background rgb 'white'
set output '{svg}'
set multiplot layout 1,2 title '{sweep}: medians of the runs (scripts/bench {sweep})'
set logscale x
set grid
set key top left
set xlabel '{xlabel}'
set ylabel 'ms'
set logscale y
plot '{dat}' using 1:3 with linespoints title 'client p99', \\
     '{dat}' using 1:4 with linespoints title 'node p99 (received → flushed)', \\
     '{dat}' using 1:2 with linespoints title 'client p50'
unset logscale y
set ylabel 'node CPU µs per delivery'
set yrange [0:*]
plot '{dat}' using 1:5 with linespoints title 'node µs/delivery'
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(f"bench-table: wrote {svg}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--plot", choices=["sweep-room", "sweep-conns"])
    parser.add_argument("--out", default="bench")
    args = parser.parse_args()
    rows = load(sys.stdin)
    if args.plot:
        plot(rows, args.plot, args.out)
    else:
        tables(rows)


if __name__ == "__main__":
    main()
