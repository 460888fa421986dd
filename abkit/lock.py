"""The lock of an experiment folder and the clean-up of what killed runs left in it.

``abkit assign`` and ``abkit report`` (and the demo) write into an experiment folder under its
lock, ``DIR/.abkit.lock`` (an ``flock``, released by the system when the holder exits, even when
killed): a second run on the same experiment fails at once, naming it. Whoever takes the lock
first removes the hidden temporaries and staging folders of earlier, killed runs of that
experiment, which no live run can be writing any more.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from abkit._io import experiment_lock, remove_stale
from abkit.experiment import Experiment

__all__ = ["experiment_locked", "remove_stale_temporaries"]


@contextmanager
def experiment_locked(exp: Experiment) -> Iterator[None]:
    """Hold the experiment's lock (``DIR/.abkit.lock``) and remove what killed runs left behind.

    ``abkit assign`` and ``abkit report`` run under it, so two runs on one experiment never
    interleave: the second fails at once with :class:`~abkit._io.ExperimentBusyError`.

    >>> import tempfile
    >>> from abkit.workflow import init_experiment
    >>> exp = Experiment.load(init_experiment("spring", parent=tempfile.mkdtemp()))
    >>> with experiment_locked(exp):
    ...     print((exp.folder / ".abkit.lock").exists())
    True
    """
    with experiment_lock(exp.folder, name=exp.name) as outermost:
        if outermost:
            remove_stale_temporaries(exp)
        yield


def remove_stale_temporaries(exp: Experiment) -> list[Path]:
    """Delete the hidden temporaries and staging folders killed runs of ``exp`` left; return them.

    Call it only under :func:`experiment_locked` (no live run of the experiment is writing then).

    >>> import tempfile
    >>> from abkit.workflow import init_experiment
    >>> exp = Experiment.load(init_experiment("spring", parent=tempfile.mkdtemp()))
    >>> (exp.folder / "reports" / ".spring-2026-06-20.k3j9").mkdir(parents=True)
    >>> [p.name for p in remove_stale_temporaries(exp)]
    ['.spring-2026-06-20.k3j9']
    """
    name = glob.escape(exp.name)
    gone = remove_stale(exp.folder / "reports", [f".{name}-*"])
    targets = [exp.data_path("assignment")] if exp.data.assignment else []
    for target in targets:
        meta = target.with_name(f"{target.name}.meta.json")
        patterns = [f".abkit-assign-{name}.*", f".{glob.escape(target.name)}.*"]
        patterns.append(f".{glob.escape(meta.name)}.*")
        gone += remove_stale(target.parent, patterns)
    gone += remove_stale(exp.send_lists_dir, [f".abkit-assign-{name}.*", ".send_list_*.csv.*"])
    gone += remove_stale(exp.folder, [".targeting.*"])  # abkit target's staging folder
    return gone
