#!/usr/bin/env python3
"""Memory of a PostgreSQL backend during an index build, for the benchmark
(benches/hnsw_bench.py): fields of /proc/PID/status, the resident part of its dynamic
shared memory segments, and a sampler that keeps the peak over the backend and its
parallel workers.
"""
import os
import threading
import time


def proc_status_kb(pid, field):
    """A field of /proc/PID/status in kB (None when unreadable)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def dsm_rss_kb(pid):
    """Resident kB of a process's dynamic shared memory segments (the mappings of
    /dev/shm/PostgreSQL.*: a parallel build's graph), from /proc/PID/smaps."""
    total, in_dsm = 0, False
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                if line[0] in "0123456789abcdef" and "-" in line.split()[0]:
                    in_dsm = "/dev/shm/PostgreSQL." in line
                elif in_dsm and line.startswith("Rss:"):
                    total += int(line.split()[1])
    except OSError:
        return 0
    return total


class PeakPrivateMemory:
    """Samples the memory a build holds in a backend every 10 ms and keeps the peak,
    for the backend and its parallel workers (processes titled "parallel worker"):
    private resident memory (RssAnon: heap and memory contexts) plus the resident part
    of its dynamic shared memory segments (a parallel build's graph). Shared buffers
    the build touched are left out (VmHWM counts them too)."""

    def __init__(self, pid):
        self.pid, self.peak, self.dsm, self.stop = pid, {}, {}, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def pids(self):
        out = [self.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != self.pid:
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        if b"parallel worker" in f.read():
                            out.append(int(entry))
                except OSError:
                    pass
        return out

    def run(self):
        tick = 0
        while not self.stop.is_set():
            tick += 1
            for pid in self.pids():
                kb = proc_status_kb(pid, "RssAnon")
                if kb is not None:
                    # smaps walks the page tables (shared buffers too): costly, so the
                    # DSM part (which only grows until the build ends) every 0.25 s.
                    if tick % 25 == 1 or pid not in self.dsm:
                        self.dsm[pid] = dsm_rss_kb(pid)
                    self.peak[pid] = max(self.peak.get(pid, 0), kb + self.dsm[pid])
            time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
