"""Peak memory of this process, measured so that a child process is not charged for its parent.

`getrusage(RUSAGE_SELF).ru_maxrss` survives `fork` + `exec` on Linux: a subprocess started by a
2.7 GB test worker reports at least 2.7 GB however little it uses. `VmHWM` in /proc/self/status
is the high-water mark of this process's own address space, which `exec` starts afresh.
"""

from __future__ import annotations

import resource


def peak_memory_mib() -> float:
    """Peak resident memory of this process's own address space, in MiB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # no procfs (Linux units: KiB)
