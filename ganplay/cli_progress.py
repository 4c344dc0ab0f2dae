"""What `python -m ganplay train` shows while a run trains: a progress bar, each alarm once, and how it ended."""

from __future__ import annotations

import sys
import time
from typing import Any


def follow(run: Any, quiet: bool = False) -> int:
    """Show a progress bar until the run ends; Ctrl-C stops it cleanly (checkpoint saved)."""
    from tqdm import tqdm

    from ganplay.run_state import RunState

    bar = None if quiet else tqdm(total=run.config.steps, unit="step", dynamic_ncols=True)
    announced: set[str] = set()
    _stop_on_sigterm()
    try:
        while run.is_alive():
            snap = run.snapshot()
            _update_bar(bar, snap)
            _announce_alarms(snap, announced)
            time.sleep(0.25)
    except KeyboardInterrupt:
        print("\nstopping: saving a checkpoint...", file=sys.stderr)
        run.stop()
        run.wait()
    snap = run.snapshot()
    _update_bar(bar, snap)
    _announce_alarms(snap, announced)
    if bar is not None:
        bar.close()
    if snap.data_note:
        print(f"data: {snap.data_note}")
    print(f"{snap.state.value} at step {snap.step}/{snap.total_steps}; checkpoint and samples in {snap.folder}")
    if snap.state == RunState.FAILED:
        print(f"error: {snap.error}", file=sys.stderr)
        return 1
    _print_toy_quality(run)
    return 0 if snap.state == RunState.FINISHED else 130


def _stop_on_sigterm() -> None:
    """SIGTERM (a service manager, `kill`) stops the run as Ctrl-C does: a checkpoint is saved first."""
    import signal
    import threading

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():  # only the main thread may set handlers
        signal.signal(signal.SIGTERM, interrupt)


def _announce_alarms(snap: Any, announced: set[str]) -> None:
    """Each kind of health alarm once, on stderr, above the progress bar."""
    from tqdm import tqdm

    for alarm in snap.alarms:
        if alarm.kind not in announced:
            announced.add(alarm.kind)
            tqdm.write(f"warning: {alarm.text()}", file=sys.stderr)


def _print_toy_quality(run: Any) -> None:
    """For the 2-D mixtures, the PacGAN protocol on the final checkpoint (2,500 samples)."""
    from ganplay.checkpoints import load_generator
    from ganplay.metrics import evaluate_toy_checkpoint

    if run.data is None or run.data.kind != "toy":
        return
    generator, ckpt = load_generator(run.folder)
    if "modes" in ckpt.data:
        print(f"quality (PacGAN protocol, EMA generator): {evaluate_toy_checkpoint(generator, ckpt).summary()}")


def _update_bar(bar: Any, snap: Any) -> None:
    if bar is None:
        return
    bar.n = snap.step
    latest = snap.latest
    if latest:
        bar.set_postfix_str(
            f"D {latest['loss_d']:.3f} G {latest['loss_g']:.3f} "
            f"D(x) {latest['d_real']:.2f} D(G(z)) {latest['d_fake']:.2f} "
            f"{snap.images_per_sec:,.0f} img/s",
            refresh=False,
        )
    bar.refresh()
