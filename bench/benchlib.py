"""What bench/spawn.sh, bench/review.sh and bench/trace.sh share: the
statistics of the samples, the machine information that bench/lib.sh's
bench_host exports, the JSON file and the table."""
import json
import os
import statistics


def load(samples, name):
    """The samples of one row: one integer per line (ns), as milliseconds."""
    with open(os.path.join(samples, name)) as f:
        return [int(x) / 1e6 for x in f.read().split()]


def summary(ms):
    q = statistics.quantiles(ms, n=10)
    return {"runs": len(ms), "median_ms": round(statistics.median(ms), 3),
            "min_ms": round(min(ms), 3), "p10_ms": round(q[0], 3),
            "p90_ms": round(q[-1], 3), "max_ms": round(max(ms), 3),
            "mean_ms": round(statistics.fmean(ms), 3),
            "samples_ms": [round(x, 3) for x in ms]}


def paired(a, b):
    """The median of the per-round ratios a_i / b_i (a and b ran back to
    back): less sensitive to load that drifts during the run."""
    return statistics.median(x / y for x, y in zip(a["samples_ms"], b["samples_ms"]))


def machine(env):
    """The JSON keys that follow "benchmark", in order."""
    return {
        "date": env["BENCH_DATE"],
        "host": {"nproc": int(env["BENCH_NPROC"]), "cpu_model": env["BENCH_CPU"],
                 "kernel": env["BENCH_KERNEL"],
                 "work_dir": env["BENCH_WORK"], "work_fs": env["BENCH_FS"],
                 "loadavg_start": env["BENCH_LOAD_START"], "loadavg_end": env["BENCH_LOAD_END"]},
        "git_version": env["BENCH_GIT"],
        "git_agent_version": env["BENCH_AGENT"],
        "project_commit": env["BENCH_PROJECT"],
        "project_modified_files": int(env["BENCH_PROJECT_DIRTY"]),
    }


def write_json(out, doc):
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def host_line(doc):
    h = doc["host"]
    return (f"{h['nproc']} CPUs, {h['cpu_model']}, {doc['git_version']}, "
            f"{h['work_fs']} at {h['work_dir']}, load {h['loadavg_start']} -> {h['loadavg_end']}")


def table(width, rows, show_rss, cols=("ratio",), strip=False):
    """Print the table: rows of (label, summary, [text per column in cols],
    peak RSS); the RSS column only with show_rss.  strip takes the trailing
    blanks off the lines."""
    head = f"{'name':<{width}} {'runs':>5} {'median ms':>10}" + "".join(f" {c:>7}" for c in cols)
    if show_rss:
        head += f" {'peak RSS KB':>12}"
    print(head)
    print("-" * len(head))
    for label, r, texts, rss in rows:
        s = f"{label:<{width}} {r['runs']:>5} {r['median_ms']:>10.2f}" + "".join(f" {t:>7}" for t in texts)
        if show_rss:
            s += f" {rss:>12}"
        print(s.rstrip() if strip else s)
