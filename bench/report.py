"""report.py [--markdown FILE] RESULT.json...: every pair of the given
results of bench/*.sh in one table on stdout, and summary.json beside the
first of them.
With --markdown, the figures (the machine, then a table per pair) also
replace what lies between the markers <!-- bench:begin --> and
<!-- bench:end --> in FILE (BENCHMARKS.md); the rest of FILE is left as it
is.  bench/run.sh (make bench) calls it at the end."""
import json
import os
import sys

from benchlib import write_json

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def load(paths):
    docs = []
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        doc["file"] = os.path.relpath(path, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        docs.append(doc)
    return docs


def rss(kb):
    return f"{kb / 1024:.1f} MB"


def print_table(docs):
    rows = [(p["name"], p) for d in docs for p in d["pairs"]]
    width = max(len(name) for name, _ in rows)
    head = (f"{'pair':<{width}} {'runs':>5} {'ours ms':>10} {'theirs ms':>10} {'ratio':>7}"
            f" {'paired':>7} {'ours RSS KB':>12} {'theirs RSS KB':>14}")
    print(head)
    print("-" * len(head))
    for name, p in rows:
        print(f"{name:<{width}} {p['runs']:>5} {p['ours_median_ms']:>10.2f} {p['theirs_median_ms']:>10.2f}"
              f" {p['ratio']:>7.3f} {p['ratio_paired_median']:>7.3f}"
              f" {p['ours_peak_rss_kb']:>12} {p['theirs_peak_rss_kb']:>14}")
        if "ours_events_per_s" in p:
            print(f"{'':<{width}}   events/s: {p['ours_events_per_s']:,} against {p['theirs_events_per_s']:,}")


def machine_md(docs):
    d = docs[0]
    h = d["host"]
    lines = [
        f"- **Date**: {d['date'][:10]} (UTC), project commit `{d['project_commit']}`"
        + (f" with {d['project_modified_files']} modified files" if d["project_modified_files"] else ""),
        f"- **CPU**: {h['cpu_model']}, {h['nproc']} cores",
        f"- **RAM**: {h['mem_kb'] / 1024 / 1024:.1f} GB",
        f"- **Disk**: {h['work_disk']}, {h['work_fs']}, work directory `{h['work_dir']}`",
        f"- **Kernel**: {h['kernel']}",
        f"- **git**: {d['git_version']}; **compiler**: {d['compiler']}; {d['git_agent_version']}",
        "- **Load average** (1, 5, 15 min) before -> after each benchmark: "
        + "; ".join(f"{os.path.basename(x['file'])} {x['host']['loadavg_start']} -> "
                    f"{x['host']['loadavg_end']}" for x in docs),
    ]
    return "\n".join(lines)


def pair_md(doc, p):
    res = doc["results"]
    out = [f"### {p['name'].replace('<', '&lt;')}", "",
           "| command | runs | median ms | p10 - p90 ms | peak RSS |",
           "|---|--:|--:|--:|--:|"]
    for key in (p["ours"], p["theirs"]):
        r = res[key]
        cmd = r["command"].replace("|", "\\|")
        out.append(f"| `{cmd}` | {r['runs']} | {r['median_ms']:.2f} | "
                   f"{r['p10_ms']:.2f} - {r['p90_ms']:.2f} | {rss(r['peak_rss_kb'])} |")
    out.append("")
    line = (f"Ratio of medians **{p['ratio']:.3f}** (median of the per-round ratios "
            f"{p['ratio_paired_median']:.3f}).")
    if "ours_events_per_s" in p:
        line += (f" Throughput: **{p['ours_events_per_s']:,}** events/s against "
                 f"{p['theirs_events_per_s']:,}.")
    out.append(line)
    return "\n".join(out)


def markdown(docs):
    parts = ["## Latest figures", "",
             "Written by `bench/report.py` at the end of `make bench`. Ratios below 1 mean "
             "git-agent is faster than the command it is compared with.", "",
             machine_md(docs), "",
             "Results: " + ", ".join(f"`{d['file']}`" for d in docs) + ".", ""]
    for d in docs:
        for p in d["pairs"]:
            parts += [pair_md(d, p), ""]
    return "\n".join(parts)


def update_markdown(path, text):
    with open(path) as f:
        old = f.read()
    if BEGIN not in old or END not in old:
        sys.exit(f"report.py: {path} has no {BEGIN} ... {END} markers")
    head, rest = old.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(path, "w") as f:
        f.write(f"{head}{BEGIN}\n{text}{END}{tail}")


def main(argv):
    md = None
    if len(argv) > 1 and argv[0] == "--markdown":
        md, argv = argv[1], argv[2:]
    if not argv:
        sys.exit("usage: report.py [--markdown FILE] RESULT.json...")
    docs = load(argv)
    print_table(docs)
    write_json(os.path.join(os.path.dirname(os.path.abspath(argv[0])), "summary.json"),
               {"results": [d["file"] for d in docs],
                "pairs": [dict(p, benchmark=d["benchmark"], date=d["date"])
                          for d in docs for p in d["pairs"]]})
    if md:
        update_markdown(md, markdown(docs))
        print(f"updated {md}")


if __name__ == "__main__":
    main(sys.argv[1:])
