#!/usr/bin/env python3
"""Turns bench/out/raw.tsv (written by bench/run.sh) into the "Proxy benchmark" section of
bench/RESULTS.md, and merges that section into the file without touching the other sections.

raw.tsv columns: kind, workload (copy: direction), mode, clients, target, round, value (TPS,
bytes, heap KiB or ms), second (latency ms, seconds or RSS KiB), log latency average (us),
log p99 (us), proxy CPU ms over the cell, average connection time (ms).
"""
import argparse
import math
import statistics
from collections import defaultdict

SECTION = "## Proxy benchmark"
TARGET_ORDER = ["direct", "pwgate", "pwgate_off", "pwgate_b", "pgbouncer", "pwgate_unix", "pgbouncer_unix",
                "direct_tls", "pwgate_tls", "pwgate_tls2"]


def bouncer_for(t):
    """The PgBouncer a target is compared with: the one that reaches PostgreSQL the same way."""
    return "pgbouncer_unix" if t.endswith("_unix") else "pgbouncer"


def num(s):
    return float(s) if s not in ("", "-", None) else None


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def geomean(xs):
    xs = [x for x in xs if x]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def f(x, fmt="{:.0f}", none="–"):
    return none if x is None else fmt.format(x)


def order(targets):
    return sorted(targets, key=lambda t: TARGET_ORDER.index(t) if t in TARGET_ORDER else 99)


def load(path):
    rows = []
    with open(path) as fh:
        for line in fh:
            c = line.rstrip("\n").split("\t")
            c += [""] * (12 - len(c))
            rows.append(dict(kind=c[0], workload=c[1], mode=c[2], clients=c[3], target=c[4], round=c[5],
                             value=num(c[6]), second=num(c[7]), lavg=num(c[8]), p99=num(c[9]), cpu=num(c[10]),
                             conn=num(c[11])))
    return rows


def cells(rows, kind):
    """(workload, mode, clients) -> target -> aggregated figures over rounds."""
    acc = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["kind"] == kind:
            acc[(r["workload"], r["mode"], r["clients"])][r["target"]].append(r)
    out = {}
    for key, per in acc.items():
        out[key] = {}
        for t, rs in per.items():
            tps = mean([r["value"] for r in rs])
            cpu = mean([r["cpu"] for r in rs])
            out[key][t] = dict(tps=tps, lat=mean([r["second"] for r in rs]), lavg=mean([r["lavg"] for r in rs]),
                               p99=mean([r["p99"] for r in rs]), conn=mean([r["conn"] for r in rs]),
                               rounds={r["round"]: r["value"] for r in rs if r["value"]},
                               cpu_us_tx=(mean([r["cpu"] * 1000 / (r["value"] * DURATION[0]) for r in rs if r["value"] and r["cpu"]])
                                          if t not in ("direct", "direct_tls") else None))
    return out


DURATION = [1.0]


def paired_ratios(x, b):
    """x's TPS over b's, round by round (a round runs a cell's targets back to back, so each pair
    saw the same state of the host), for the rounds both have."""
    return [x["rounds"][r] / b["rounds"][r] for r in sorted(set(x["rounds"]) & set(b["rounds"]))]


def round_range(x, b):
    """The ratio to PgBouncer round by round: how far one run's noise reaches."""
    rs = paired_ratios(x, b)
    return "{:.2f}–{:.2f}".format(min(rs), max(rs)) if len(rs) >= 2 else ""


# Two-sided 95 % quantiles of Student's t, by degrees of freedom (1-30); beyond 30, the last one.
T95 = [12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14, 2.13,
       2.12, 2.11, 2.10, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05, 2.04]


def round_interval(x, b):
    """The ratio to PgBouncer from the rounds taken as pairs: geometric mean and its 95 % interval,
    or None with fewer than three rounds. It says whether a verdict at 1.0 is inside the noise."""
    logs = [math.log(r) for r in paired_ratios(x, b)]
    if len(logs) < 3:
        return None
    m = sum(logs) / len(logs)
    half = T95[min(len(logs) - 1, len(T95)) - 1] * statistics.stdev(logs) / math.sqrt(len(logs))
    return len(logs), math.exp(m), math.exp(m - half), math.exp(m + half)


def pgbench_table(c):
    lines = ["| workload | protocol | clients | target | TPS | × direct | × PgBouncer | × PgBouncer, lowest–highest round | avg latency ms | p99 ms | p99 added over direct µs | proxy CPU µs/tx |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    wl = {"select": "select-only (-S)", "tpcb": "TPC-B-like"}
    for key in sorted(c, key=lambda k: (["select", "tpcb"].index(k[0]) if k[0] in ("select", "tpcb") else 9,
                                        ["simple", "extended", "prepared"].index(k[1]), int(k[2]))):
        per = c[key]
        d = per.get("direct")
        for t in order(per):
            x = per[t]
            b = per.get(bouncer_for(t))
            lat = x["lavg"] / 1000 if x["lavg"] is not None else x["lat"]
            added = (x["p99"] - d["p99"]) if (x["p99"] is not None and d and d["p99"] is not None and t != "direct") else None
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                wl.get(key[0], key[0]), key[1], key[2], t, f(x["tps"]),
                f(x["tps"] / d["tps"], "{:.3f}") if d and t != "direct" else "",
                f(x["tps"] / b["tps"], "{:.3f}") if b and t not in ("pgbouncer", "pgbouncer_unix", "direct") else "",
                round_range(x, b) if b and t not in ("pgbouncer", "pgbouncer_unix", "direct") else "",
                f(lat, "{:.3f}"), f(x["p99"] / 1000 if x["p99"] is not None else None, "{:.3f}", ""),
                f(added, "{:+.0f}", ""), f(x["cpu_us_tx"], "{:.1f}", "")))
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw")
    ap.add_argument("--out")
    ap.add_argument("--header", default="")
    ap.add_argument("--machine", default="")
    ap.add_argument("--copy-mb", default="")
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--merge")
    ap.add_argument("--section")
    a = ap.parse_args()
    if a.merge:
        merge(a.merge, open(a.section).read())
        return
    rows = load(a.raw)
    DURATION[0] = a.duration or 1.0
    L = [SECTION + " (bench/run.sh)", "", a.header + ".", "", "Machine: " + a.machine + ".", "",
         "All on loopback on one machine: pgbench, PostgreSQL, the proxy and PgBouncer share its cores, so a proxy's own "
         "CPU use lowers TPS; \"proxy CPU µs/tx\" is the proxy process's user+system time per transaction. "
         "pwgate = restriction on; pwgate_off = rds.restrict_password_commands 0; pgbouncer = session mode; "
         "pwgate_unix and pgbouncer_unix reach PostgreSQL over its Unix-domain socket instead of TCP, and their "
         "× PgBouncer compares the two of them; "
         "ratios are of means over the rounds. p99 and the latency average come from pgbench's per-transaction log (-l). "
         "On this project's 2-core machines other builds and tests may run at the same time (see the load average above): "
         "ratios from one run are fair, absolute figures move between runs.", ""]
    c = cells(rows, "pgbench")
    if c:
        L += ["### pgbench", ""] + pgbench_table(c) + [""]
    conn = cells(rows, "conn")
    if conn:
        L += ["### Connection setup (pgbench -S -C: a new connection per transaction)", "",
              "| clients | target | connections/s | × direct | avg connection time ms |", "|---:|---|---:|---:|---:|"]
        for key in sorted(conn, key=lambda k: int(k[2])):
            d = conn[key].get("direct")
            for t in order(conn[key]):
                x = conn[key][t]
                L.append("| {} | {} | {} | {} | {} |".format(key[2], t, f(x["tps"]), f(x["tps"] / d["tps"], "{:.3f}") if d and t != "direct" else "",
                                                          f(x["conn"], "{:.3f}")))
        L.append("")
    copy = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["kind"] == "copy":
            copy[r["workload"]][r["target"]].append(r)
    copyrate = {}
    if copy:
        L += ["### Bulk COPY ({} MB, text format, psql; out: COPY … TO STDOUT to /dev/null, in: \\copy … FROM pstdin into an unlogged table)".format(a.copy_mb), "",
              "| direction | target | MB/s | × direct | proxy CPU s |", "|---|---|---:|---:|---:|"]
        for d in ("out", "in"):
            per = copy.get(d, {})
            rate = {t: mean([r["value"] / r["second"] / 1e6 for r in rs]) for t, rs in per.items()}
            copyrate[d] = rate
            for t in order(per):
                L.append("| {} | {} | {} | {} | {} |".format(d, t, f(rate[t], "{:.1f}"),
                                                          f(rate[t] / rate["direct"], "{:.3f}") if "direct" in rate and t != "direct" else "",
                                                          f(mean([r["cpu"] for r in per[t]]) / 1000 if t != "direct" else None, "{:.1f}", "")))
        L.append("")
    tls = cells(rows, "tls")
    if tls:
        L += ["### TLS (pgbench -S; pwgate_tls: client TLS, pwgate_tls2: TLS on both sides; ratios to plaintext of the same path)", "",
              "| protocol | clients | target | TPS | × plaintext | proxy CPU µs/tx |", "|---|---:|---|---:|---:|---:|"]
        base = {"direct_tls": "direct", "pwgate_tls": "pwgate", "pwgate_tls2": "pwgate"}
        for key in sorted(tls, key=lambda k: (k[1], int(k[2]))):
            per = tls[key]
            for t in order(per):
                x = per[t]
                bt = per.get(base.get(t, ""))
                L.append("| {} | {} | {} | {} | {} | {} |".format(key[1], key[2], t, f(x["tps"]),
                                                               f(x["tps"] / bt["tps"], "{:.3f}") if bt else "", f(x["cpu_us_tx"], "{:.1f}", "")))
        L.append("")
    mem = sorted(((int(r["clients"]), r["value"], r["second"]) for r in rows if r["kind"] == "mem"))
    per_session = None
    if mem:
        L += ["### pwgate memory with idle sessions (heap used after `jcmd GC.run`; RSS from /proc)", "",
              "| idle sessions | heap KiB | RSS MiB | heap per session KiB | RSS per session KiB |", "|---:|---:|---:|---:|---:|"]
        h0, r0 = mem[0][1], mem[0][2]
        for n, h, r in mem:
            ps = (h - h0) / n if n and mem[0][0] == 0 else None
            if ps is not None:
                per_session = ps if per_session is None else max(per_session, ps)
            L.append("| {} | {} | {} | {} | {} |".format(n, f(h), f(r / 1024, "{:.0f}"), f(ps, "{:.1f}", ""),
                                                      f((r - r0) / n if n and mem[0][0] == 0 else None, "{:.1f}", "")))
        L.append("")
    st = [r["value"] for r in rows if r["kind"] == "startup"]
    if st:
        L += ["### Start-up to listening (java -jar to the port accepting, backend given, no embedded PostgreSQL)", "",
              "| runs | min ms | median ms | max ms |", "|---:|---:|---:|---:|",
              "| {} | {:.0f} | {:.0f} | {:.0f} |".format(len(st), min(st), statistics.median(st), max(st)), ""]

    # Targets of issue 7 (and issue 4: restriction on within 3% of off).
    T = []

    def check(name, value, ok, note=""):
        verdict = "met" if ok else "not met" if ok is not None else "not measured"
        T.append("| {} | {} | {} |".format(name, value, verdict + (" " + note if note else "")))

    for mode in ("simple", "prepared"):
        x = c.get(("select", mode, "16"), {})
        for t, how in (("pwgate", ""), ("pwgate_unix", " (both proxies on the Unix socket)")):
            if t in x and "direct" in x:
                r = x[t]["tps"] / x["direct"]["tps"]
                check("select-only, 16 clients, {}: ≥ 0.85× direct{}".format(mode, how), "{:.3f}×".format(r), r >= 0.85)
            if t in x and bouncer_for(t) in x:
                r = x[t]["tps"] / x[bouncer_for(t)]["tps"]
                ci = round_interval(x[t], x[bouncer_for(t)])
                check("select-only, 16 clients, {}: ≥ 1.0× PgBouncer{}".format(mode, how), "{:.3f}×".format(r), r >= 1.0,
                      "(paired rounds: {:.3f}×, 95 % interval {:.3f}–{:.3f}, {} rounds)".format(ci[1], ci[2], ci[3], ci[0]) if ci else "")
    worst = None
    for (w, mode, cl), x in c.items():
        if w == "select" and cl == "1" and "pwgate" in x and "direct" in x and x["pwgate"]["p99"] is not None:
            added = x["pwgate"]["p99"] - x["direct"]["p99"]
            worst = added if worst is None else max(worst, added)
    if worst is not None:
        check("p99 added over direct, 1 client (worst protocol, select-only): ≤ 100 µs", "{:+.0f} µs".format(worst), worst <= 100)
    for d in ("out", "in"):
        rate = copyrate.get(d, {})
        if "pwgate" in rate and "direct" in rate:
            r = rate["pwgate"] / rate["direct"]
            check("COPY {}: ≥ 0.9× direct".format(d), "{:.3f}×".format(r), r >= 0.9)
    if per_session is not None:
        check("heap per idle session: ≤ 64 KiB", "{:.1f} KiB".format(per_session), per_session <= 64)
    if st:
        m = statistics.median(st)
        check("start-up to listening: < 1 s (median)", "{:.0f} ms".format(m), m < 1000)
    ratios = [x["pwgate"]["tps"] / x["pwgate_off"]["tps"] for x in c.values() if "pwgate" in x and "pwgate_off" in x]
    if ratios:
        g = geomean(ratios)
        check("restriction on within 3% of off (geometric mean over {} cells; worst cell {:.3f}×)".format(len(ratios), min(ratios)),
              "{:.3f}×".format(g), g >= 0.97)
    ab = [x["pwgate"]["tps"] / x["pwgate_b"]["tps"] for x in c.values() if "pwgate" in x and "pwgate_b" in x]
    if ab:
        T.append("| A/B: TPS of pwgate ÷ pwgate_b (geometric mean over {} cells; per cell {}) | {:.3f}× | |".format(
            len(ab), ", ".join("{:.3f}".format(r) for r in ab), geomean(ab)))
        cpu = [x["pwgate"]["cpu_us_tx"] / x["pwgate_b"]["cpu_us_tx"] for x in c.values()
               if "pwgate" in x and "pwgate_b" in x and x["pwgate"]["cpu_us_tx"] and x["pwgate_b"]["cpu_us_tx"]]
        if cpu:
            T.append("| A/B: proxy CPU per transaction of pwgate ÷ pwgate_b (geometric mean; per cell {}) | {:.3f}× | |".format(
                ", ".join("{:.3f}".format(r) for r in cpu), geomean(cpu)))
    if T:
        L += ["### Targets (issue 7; issue 4 for on vs off)", "", "| target | measured | verdict |", "|---|---|---|"] + T + [""]
    open(a.out, "w").write("\n".join(L))


def merge(path, section):
    try:
        text = open(path).read()
    except FileNotFoundError:
        text = "# pwgate benchmark results\n\nProduced by bench/run.sh and bench/jmh; see bench/README.md.\n"
    head, sep, rest = text.partition("\n" + SECTION)
    if sep:
        nxt = rest.find("\n## ")
        rest = rest[nxt:] if nxt >= 0 else "\n"
        text = head.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n" + rest
    else:
        # The newest run goes right after the title paragraph, before the other sections.
        first = text.find("\n## ")
        if first >= 0:
            text = text[:first].rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n" + text[first:]
        else:
            text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    open(path, "w").write(text)


if __name__ == "__main__":
    main()
