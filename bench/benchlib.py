"""The Python half of bench/lib.sh: the statistics of the samples, the
machine information that bench_host exports, the pairs, the JSON file and
the tables.  Every script's JSON has the same frame (machine(), "results",
"pairs"), which bench/report.py gathers into one table and BENCHMARKS.md."""
import json
import os
import statistics


def load(samples, name):
    """The samples of one row: one integer per line (ns), as milliseconds."""
    with open(os.path.join(samples, name)) as f:
        return [int(x) / 1e6 for x in f.read().split()]


def load_rss(samples, name):
    """The peak RSS (KB) of each run of one row, as `measure` wrote them."""
    with open(os.path.join(samples, name + ".rss")) as f:
        return [int(x) for x in f.read().split()]


def summary(ms):
    q = statistics.quantiles(ms, n=10)
    return {"runs": len(ms), "median_ms": round(statistics.median(ms), 3),
            "min_ms": round(min(ms), 3), "p10_ms": round(q[0], 3),
            "p90_ms": round(q[-1], 3), "max_ms": round(max(ms), 3),
            "mean_ms": round(statistics.fmean(ms), 3),
            "samples_ms": [round(x, 3) for x in ms]}


def results(samples, rows):
    """rows: (key, sample file, command).  Every row's summary, command and
    peak RSS (the largest of its runs)."""
    res = {}
    for key, f, cmd in rows:
        res[key] = summary(load(samples, f))
        res[key]["command"] = cmd
        kb = load_rss(samples, f)
        res[key]["peak_rss_kb"] = max(kb)
        res[key]["rss_kb_samples"] = kb
    return res


def paired(a, b):
    """The median of the per-round ratios a_i / b_i (a and b ran back to
    back): less sensitive to load that drifts during the run."""
    return statistics.median(x / y for x, y in zip(a["samples_ms"], b["samples_ms"]))


def pair(res, name, ours, theirs, **extra):
    """One figure: the ratio of the medians of row ours to row theirs, the
    median of the per-round ratios, and both sides' medians and peak RSS."""
    a, b = res[ours], res[theirs]
    p = {"name": name, "ours": ours, "theirs": theirs,
         "ours_command": a["command"], "theirs_command": b["command"],
         "runs": min(a["runs"], b["runs"]),
         "ours_median_ms": a["median_ms"], "theirs_median_ms": b["median_ms"],
         "ratio": round(a["median_ms"] / b["median_ms"], 4),
         "ratio_paired_median": round(paired(a, b), 4),
         "ours_peak_rss_kb": a["peak_rss_kb"], "theirs_peak_rss_kb": b["peak_rss_kb"]}
    p.update(extra)
    return p


def machine(env):
    """The JSON keys that follow "benchmark", in order."""
    return {
        "date": env["BENCH_DATE"],
        "host": {"nproc": int(env["BENCH_NPROC"]), "cpu_model": env["BENCH_CPU"],
                 "mem_kb": int(env["BENCH_MEM_KB"]), "kernel": env["BENCH_KERNEL"],
                 "work_dir": env["BENCH_WORK"], "work_fs": env["BENCH_FS"],
                 "work_disk": env["BENCH_DISK"],
                 "loadavg_start": env["BENCH_LOAD_START"], "loadavg_end": env["BENCH_LOAD_END"]},
        "compiler": env["BENCH_CC"],
        "git_version": env["BENCH_GIT"],
        "git_agent_version": env["BENCH_AGENT"],
        "project_commit": env["BENCH_PROJECT"],
        "project_modified_files": int(env["BENCH_PROJECT_DIRTY"]),
        "rounds": {"measured": int(env["BENCH_RUNS"]), "warmup": int(env["BENCH_WARMUP"])},
    }


def write_json(out, doc):
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def host_line(doc):
    h = doc["host"]
    return (f"{h['nproc']} CPUs, {h['cpu_model']}, {h['mem_kb'] // 1024} MB, {doc['git_version']}, "
            f"{h['work_fs']} at {h['work_dir']}, load {h['loadavg_start']} -> {h['loadavg_end']}")


def table(width, rows, cols=("ratio",)):
    """Print the table: rows of (label, summary, [text per column in cols]);
    each row's peak RSS comes from its summary."""
    w = [max([7, len(c)] + [len(texts[i]) for _, _, texts in rows]) for i, c in enumerate(cols)]
    head = (f"{'name':<{width}} {'runs':>5} {'median ms':>10}"
            + "".join(f" {c:>{n}}" for c, n in zip(cols, w)) + f" {'peak RSS KB':>12}")
    print(head)
    print("-" * len(head))
    for label, r, texts in rows:
        print(f"{label:<{width}} {r['runs']:>5} {r['median_ms']:>10.2f}"
              + "".join(f" {t:>{n}}" for t, n in zip(texts, w)) + f" {r['peak_rss_kb']:>12}")
