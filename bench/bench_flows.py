"""Benchmark of the flow engine: one step of a full screening, and linting a 200-node flow.

Run: .venv/bin/python bench/bench_flows.py [--repeat N]
Goals (issue 3): median step under 50 microseconds; lint of a 200-node flow under 200 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows import lint_flow_text, load_flow, start, step  # noqa: E402
from flows.expressions import analyse_condition, analyse_template  # noqa: E402

SHIPPED = ROOT / "flows" / "shipped"
# A full French screening: not in danger, every indicator question, place, needs, consents.
REPLIES = {
    "ussd": ["1", "ok", "1", "2", "2", "1", "3", "1", "1", "1", "2", "2", "1", "1", "4", "1 2",
             "1", "2"],
    "sms": ["1", "ok", "1", "2", "2", "1", "3", "1", "1", "1", "2", "2", "1", "Lafiabougou",
            "1 2", "1", "2"],
}


def bench_steps(repeat: int) -> dict[str, list[float]]:
    """Return per-channel lists of step durations in microseconds."""
    flow = load_flow(SHIPPED / "screening.yaml")
    timings: dict[str, list[float]] = {}
    for channel, replies in REPLIES.items():
        samples: list[float] = []
        for i in range(repeat):
            state, out = start(flow, channel, case_ref=f"B{i:07d}")
            for reply in replies:
                t0 = time.perf_counter_ns()
                state, out = step(flow, state, reply)
                samples.append((time.perf_counter_ns() - t0) / 1000)
            if out.continues or out.event("case_ready") is None:
                raise SystemExit(f"the {channel} screening did not end with a case: {out.text}")
        timings[channel] = samples
    return timings


def generated_flow(count: int = 200) -> str:
    """Return the YAML text of a valid flow with `count` nodes (menus, inputs, branches)."""
    lines = [
        "id: generated", 'version: "1"', "languages: [fr, bm, en]", "default_language: fr",
        "start: n0", "variables: {danger_now: false, minor: false, age_band: null,",
        "  sex: null, consent_callback: false, consent_police: false, total: 0}", "nodes:",
    ]
    for i in range(count - 2):
        nxt = f"n{i + 1}"
        if i % 10 == 9:
            lines += [f"  n{i}:", "    kind: branch", "    branches:",
                      f"      - {{when: \"total > {i} and danger_now\", next: {nxt}}}",
                      f"    otherwise: {nxt}"]
        elif i % 10 == 5:
            lines += [f"  n{i}:", "    kind: input",
                      f"    text: {{fr: \"Question {i} : écrivez un nombre.\", "
                      f"bm: \"Ɲininkali {i}: nimɔrɔ sɛbɛn.\", en: \"Question {i}: a number.\"}}",
                      "    validate: {type: number, min: 0, max: 99}", f"    next: {nxt}"]
        else:
            lines += [f"  n{i}:", "    kind: menu",
                      f"    text: {{fr: \"Question {i} : êtes-vous concerné(e) ?\", "
                      f"bm: \"Ɲininkali {i}: a bɛ i la wa?\", en: \"Question {i}: you?\"}}",
                      "    options:",
                      f"      - {{value: y, label: {{fr: Oui, bm: Awɔ, en: 'Yes'}}, "
                      f"indicators: [deception], compute: {{total: 'total + 1'}}, next: {nxt}}}",
                      f"      - {{value: n, label: {{fr: Non, bm: Ayi, en: 'No'}}, next: {nxt}}}"]
    lines += [f"  n{count - 2}:", "    kind: case", f"    next: n{count - 1}",
              f"  n{count - 1}:", "    kind: end",
              "    text: {fr: \"Merci, {{ case_ref }}.\", bm: \"I ni ce, {{ case_ref }}.\", "
              "en: \"Thanks, {{ case_ref }}.\"}"]
    return "\n".join(lines) + "\n"


def bench_lint(repeat: int, *, cold: bool) -> list[float]:
    """Return lint durations in milliseconds for the generated 200-node flow.

    `cold` empties the compiled-expression caches before each run (a flow never seen by
    this process); warm runs reuse them (the same flow linted again).
    """
    text = generated_flow()
    problems = lint_flow_text(text, "generated.yaml")
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise SystemExit(f"the generated flow has errors: {errors[:3]}")
    samples = []
    for _ in range(repeat):
        if cold:
            analyse_condition.cache_clear()
            analyse_template.cache_clear()
        t0 = time.perf_counter()
        lint_flow_text(text, "generated.yaml")
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000, help="screenings per channel")
    parser.add_argument("--lint-repeat", type=int, default=15, help="lint runs")
    args = parser.parse_args()
    steps = bench_steps(args.repeat)
    lint_cold = bench_lint(args.lint_repeat, cold=True)
    lint_warm = bench_lint(args.lint_repeat, cold=False)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()} {platform.release()} (shared, noisy: compare ratios)")
    print(f"{'measure':<38}{'median':>12}{'p90':>12}{'goal':>12}")
    for channel, samples in steps.items():
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{'step, full screening (' + channel + ')':<38}"
              f"{statistics.median(samples):>9.1f} us{p90:>9.1f} us{'< 50 us':>12}")
    every = steps["ussd"] + steps["sms"]
    print(f"{'step, both channels':<38}{statistics.median(every):>9.1f} us"
          f"{statistics.quantiles(every, n=10)[-1]:>9.1f} us{'< 50 us':>12}")
    for label, lint in (("cold", lint_cold), ("warm", lint_warm)):
        print(f"{'lint, generated 200-node flow (' + label + ')':<38}"
              f"{statistics.median(lint):>9.1f} ms{max(lint):>9.1f} ms{'< 200 ms':>12}")
    print(f"({args.repeat} screenings per channel, {len(every)} steps; "
          f"{args.lint_repeat} lint runs; p90 column shows max for lint)")


if __name__ == "__main__":
    main()
