"""Train candidate MNIST models side by side within a time budget, then export, score and pack them.

    python scripts/pretrain.py --out OUT [--total 540] [--device cuda] [--only NAME ...]

How the shipped `checkpoints/mnist-*.pt` were made: every candidate is a plain `python -m ganplay train`
command, run as its own process so that several share one GPU. Their step counts come from a short
calibration in which all of them run together: each run's images/s over the seconds when all were running,
times the seconds left, so each finishes its linear learning-rate decay inside the budget. A run still
going at the deadline gets Ctrl-C (it saves a checkpoint); best.pt, kept by the live score, survives anyway.
Then each run's best.pt and last checkpoint are exported (generator only) and, unless --no-score, scored with
`python -m ganplay eval` (5,000 samples), and OUT gets summary.json, results.tar.gz (logs, metrics,
scores, grids) and models-N.tar (the exported generators, at most 15 MB each).

The shipped models came from two rounds on one NVIDIA H200, scored afterwards on a CPU with --score-only:
    python scripts/pretrain.py --out $OUT --total 450 --no-score --only u-classic u-classic-b128 u-lsgan \
        u-hinge u-hinge-b128 c-classic c-classic-b128 c-hinge
    python scripts/pretrain.py --out $OUT --total 265 --post 30 --no-score --only u-hinge-b128-t \
        u-hinge-b128-tc u-hinge-b128-t-ndf128 u-classic-b128-t u-classic-b128-tc u-hinge-b256
    python scripts/pretrain.py --work /tmp/pretrain --score-only
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FD_KEY = "fd (mnist-bundled-classifier features)"

# name -> train flags. ngf stays at 64 or less so that the exported generators stay under 5 MB.
CANDIDATES: dict[str, list[str]] = {
    "u-classic": ["--preset", "dcgan-classic", "--lr-decay", "linear"],
    "u-classic-b128": ["--preset", "dcgan-classic", "--lr-decay", "linear", "--batch-size", "128"],
    "u-lsgan": ["--preset", "dcgan-classic", "--loss", "lsgan", "--lr-decay", "linear"],
    "u-hinge": ["--preset", "hinge-sn", "--lr-decay", "linear"],
    "u-hinge-b128": ["--preset", "hinge-sn", "--lr-decay", "linear", "--batch-size", "128"],
    "c-classic": ["--preset", "dcgan-classic", "--conditional", "--lr-decay", "linear"],
    "c-classic-b128": ["--preset", "dcgan-classic", "--conditional", "--lr-decay", "linear", "--batch-size", "128"],
    "c-hinge": ["--preset", "hinge-sn", "--conditional", "--lr-decay", "linear"],
    # second round, after the first showed the unconditional models' weak spot: D memorising 10k digits
    "u-hinge-b128-t": [
        "--preset",
        "hinge-sn",
        "--lr-decay",
        "linear",
        "--batch-size",
        "128",
        "--augment",
        "translation",
    ],
    "u-hinge-b128-tc": [
        "--preset",
        "hinge-sn",
        "--lr-decay",
        "linear",
        "--batch-size",
        "128",
        "--augment",
        "translation+cutout",
    ],
    "u-hinge-b128-t-ndf128": [
        "--preset",
        "hinge-sn",
        "--lr-decay",
        "linear",
        "--batch-size",
        "128",
        "--augment",
        "translation",
        "--ndf",
        "128",
    ],
    "u-classic-b128-t": [
        "--preset",
        "dcgan-classic",
        "--lr-decay",
        "linear",
        "--batch-size",
        "128",
        "--augment",
        "translation",
    ],
    "u-classic-b128-tc": [
        "--preset",
        "dcgan-classic",
        "--lr-decay",
        "linear",
        "--batch-size",
        "128",
        "--augment",
        "translation+cutout",
    ],
    "u-hinge-b256": ["--preset", "hinge-sn", "--lr-decay", "linear", "--batch-size", "256"],
    # self-conditioned on k-means clusters (no labels); the shipped mnist-dcgan was trained so on 2 CPU cores
    "u-hinge-sc50": ["--preset", "hinge-sn", "--lr-decay", "linear", "--clusters", "50"],
}
BATCH = {
    name: int(flags[flags.index("--batch-size") + 1]) if "--batch-size" in flags else 64
    for name, flags in CANDIDATES.items()
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def train_command(name: str, steps: int, runs: Path, device: str, eval_every: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ganplay",
        "train",
        *CANDIDATES[name],
        "--steps",
        str(steps),
        "--seed",
        "0",
        "--device",
        device,
        "--eval-every",
        str(eval_every),
        "--sample-every",
        str(max(steps // 20, 100)),
        "--checkpoint-every",
        str(max(steps // 4, 100)),
        "--runs-dir",
        str(runs),
        "--name",
        name,
        "--quiet",
    ]


def launch(
    names: list[str], steps: dict[str, int], runs: Path, device: str, eval_every: int, logs: Path
) -> dict[str, subprocess.Popen]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    procs = {}
    for name in names:
        out = open(logs / f"{runs.name}-{name}.log", "w")  # noqa: SIM115 - the child process writes it
        procs[name] = subprocess.Popen(
            train_command(name, steps[name], runs, device, eval_every),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return procs


def wait_all(procs: dict[str, subprocess.Popen], deadline: float) -> dict[str, int]:
    """Exit codes; at the deadline every run still going gets Ctrl-C, then a kill 30 s later."""
    while any(p.poll() is None for p in procs.values()) and time.time() < deadline:
        time.sleep(1)
    late = [n for n, p in procs.items() if p.poll() is None]
    for name in late:
        log(f"{name}: past the deadline, sending Ctrl-C")
        procs[name].send_signal(signal.SIGINT)
    end = time.time() + 30
    while any(p.poll() is None for p in procs.values()) and time.time() < end:
        time.sleep(1)
    for p in procs.values():
        if p.poll() is None:
            p.kill()
    return {n: p.wait() for n, p in procs.items()}


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def overlap_rates(runs: Path, names: list[str]) -> dict[str, float]:
    """Steps/s of each run over the seconds when every run was training (a fair share of the shared GPU)."""
    rows = {n: read_rows(runs / n / "metrics.jsonl") for n in names}
    start = max(r[0]["time"] for r in rows.values())
    end = min(r[-1]["time"] for r in rows.values())
    rates = {}
    for name, rs in rows.items():
        inside = [r for r in rs if start <= r["time"] <= end] or rs[len(rs) // 2 :]
        inside = [r["images_per_sec"] for r in inside]
        rates[name] = statistics.median(inside) / BATCH[name]
    log(f"all runs overlapped for {end - start:.1f} s; steps/s: " + ", ".join(f"{n} {v:.0f}" for n, v in rates.items()))
    return rates


def ganplay(*args: str, threads: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    return subprocess.run(
        [sys.executable, "-m", "ganplay", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def pack(out: Path, work: Path, stage: Path) -> None:
    with tarfile.open(out / "results.tar.gz", "w:gz") as tar:
        for path in sorted(work.rglob("*")):
            if path.is_file() and path.suffix != ".pt":
                tar.add(path, arcname=str(path.relative_to(work)))
    parts: list[list[Path]] = []  # the device tool brings back files of at most 16 MB
    for path in sorted(stage.glob("*.pt")):
        if not parts or sum(p.stat().st_size for p in parts[-1]) + path.stat().st_size > 15e6:
            parts.append([])
        parts[-1].append(path)
    for index, part in enumerate(parts, 1):
        with tarfile.open(out / f"models-{index}.tar", "w") as tar:
            for path in part:
                tar.add(path, arcname=path.name)


def train_candidates(names: list[str], args: argparse.Namespace, began: float) -> dict:
    work, logs = args.work, args.work / "logs"
    log(f"calibrating {len(names)} runs together, {args.calibration_steps} steps each")
    calib = work / "calibration"
    codes = wait_all(
        launch(names, {n: args.calibration_steps for n in names}, calib, args.device, 0, logs), began + args.total / 3
    )
    if any(codes.values()):
        for name in names:
            print((logs / f"calibration-{name}.log").read_text()[-2000:])
        raise SystemExit(f"calibration failed: {codes}; see {logs}")
    rates = overlap_rates(calib, names)
    train_seconds = began + args.total - args.post - time.time()
    # 0.85: live scoring (a few %), start-up (~10 s) and the slower overlap of all runs at once.
    steps = {n: max(500, min(args.max_steps, int(rates[n] * train_seconds * 0.85) // 500 * 500)) for n in names}
    log(f"{train_seconds:.0f} s to train; steps: {steps}")
    procs = launch(names, steps, work / "runs", args.device, args.eval_every, logs)
    codes = wait_all(procs, began + args.total - args.post)
    log(f"training exit codes: {codes}")
    return {"steps": steps, "calibration_steps_per_s": rates, "exit_codes": codes}


def export_all(work: Path) -> None:
    """Each run's best.pt and last checkpoint, generator only, into WORK/stage."""

    def export(job: tuple[Path, str]) -> None:
        run, which = job
        out = work / "stage" / f"{run.name}-{which}.pt"
        done = ganplay("export", str(run), "--out", str(out), *(["--best"] if which == "best" else []), threads=1)
        log(done.stdout.strip() or done.stderr.strip()[-300:])

    jobs = [(run, which) for run in sorted((work / "runs").iterdir()) for which in ("best", "last")]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(export, jobs))


def score_all(work: Path) -> list[dict]:
    stage = work / "stage"
    with ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) // 2)) as pool:
        results = list(pool.map(score, sorted(stage.glob("*.pt"))))
    results.sort(key=lambda r: r.get(FD_KEY, float("inf")))
    for r in results:
        if "error" in r:
            log(f"{r['file']:>24}: {r['error']}")
        else:
            log(
                f"{r['file']:>24} step {r['step']:>6}: FD {r[FD_KEY]:7.2f} "
                f"(floor {r['fd floor, real vs real (mnist-bundled-classifier features)']:.2f}) "
                f"rarest {r['classes min_share']:.3f} conf {r['classes mean_confidence']:.3f} "
                f"cond-acc {r.get('conditional accuracy (asked for class k, classified as k)', '-')}"
            )
    return results


def score(path: Path) -> dict:
    scored = ganplay("eval", "--checkpoint", str(path))
    if scored.returncode:
        return {"file": path.name, "error": scored.stderr.strip()[-500:]}
    result = {"file": path.name, **json.loads(scored.stdout)}
    path.with_suffix(".eval.json").write_text(json.dumps(result, indent=2))
    ganplay("sample", "--checkpoint", str(path), "--n", "100", "--seed", "1", "--out", str(path.with_suffix(".png")))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="where summary.json and the packed results go")
    parser.add_argument("--work", type=Path, default=Path("/tmp/pretrain"))
    parser.add_argument("--total", type=float, default=540, help="seconds for everything, packing included")
    parser.add_argument("--post", type=float, default=40, help="seconds kept for exporting and packing")
    parser.add_argument("--calibration-steps", type=int, default=600)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES), help="a subset of the candidates")
    parser.add_argument("--max-steps", type=int, default=60000)
    parser.add_argument("--no-score", action="store_true", help="train and export only (score elsewhere later)")
    parser.add_argument("--score-only", action="store_true", help="only score the exports already in WORK/stage")
    args = parser.parse_args()
    began = time.time()
    names = args.only or list(CANDIDATES)
    work = args.work
    for folder in (work / "logs", work / "stage"):
        folder.mkdir(parents=True, exist_ok=True)
    summary_path = work / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    if not args.score_only:
        summary.update(train_candidates(names, args, began))
        export_all(work)
        summary_path.write_text(json.dumps(summary, indent=2))
    if not args.no_score:
        summary["results"] = score_all(work)
        summary_path.write_text(json.dumps(summary, indent=2))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
        pack(args.out, work, work / "stage")
    log(f"done in {time.time() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
