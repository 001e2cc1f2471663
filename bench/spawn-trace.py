#!/usr/bin/env python3
"""Joins a spawn hop trace (see src/Nefele.Protocol/SpawnTrace.cs) and prints each hop's
p50/p90/p99 in ms, for spawns (silo's hostd call, client included when traced) and exits.

    python3 bench/spawn-trace.py PREFIX [SLOWEST]

PREFIX is what NEFELE_SPAWN_TRACE was set to; every PREFIX.* file is read. SLOWEST lists the
timelines of that many slowest spawns (each hop's offset in ms and the thread it ran on)."""
import collections
import glob
import sys

SPAWN = ['c.start', 's.launch_call', 's.written', 'h.frame_in', 'h.start_call', 'h.start_pool', 'h.clone',
         'h.clone_ret', 'h.start_ret', 'h.accept', 'h.hello_read', 'h.hello', 'h.launched_out', 's.reply_in',
         's.launch_ret', 'c.end']
EXIT = ['c.kill', 'h.reaped', 'h.exit_loop', 'h.exit_enq', 'h.exit_out', 's.exit_in', 'g.exit_in', 'g.watch_ret', 'r.watch_ret',
        'c.notified']
# The end's bookkeeping after the monitors were told: the process grain's call, until it returned to the channel.
EXIT_RECORD = ['g.exit_in', 's.exit_done']


def load(prefix):
    marks = []
    for name in glob.glob(prefix + '.*'):
        for line in open(name, encoding='utf-8'):
            parts = line.split()
            if len(parts) >= 4:
                marks.append((int(parts[0]), parts[1], ' '.join(parts[2:-1]), parts[-1]))
    marks.sort()
    return marks


def join(marks):
    """Each mark's NPID: directly, through the control request id, or through the pid."""
    by_id, by_pid = {}, {}
    for _, tag, key, _ in marks:
        if tag in ('h.frame_in', 's.written'):
            npid, rid = key.split()
            by_id[(tag[0], rid)] = npid
        elif tag == 'h.hello':
            npid, pid = key.split()
            by_pid[pid] = npid
    hops = collections.defaultdict(dict)
    for at, tag, key, thread in marks:
        first = key.split()[0]
        if tag == 'h.launched_out':
            npid = by_id.get(('h', first))
        elif tag == 's.reply_in':
            npid = by_id.get(('s', first))
        elif tag in ('h.accept', 'h.hello_read', 'h.reaped'):
            npid = by_pid.get(first)
        else:
            npid = first
        if npid is not None and tag not in hops[npid]:
            hops[npid][tag] = (at, thread)
    return hops


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def report(hops, order, first, last):
    rows = [n for n, h in hops.items() if first in h and last in h]
    if not rows:
        return []
    totals = sorted(((hops[n][last][0] - hops[n][first][0]) / 1e6, n) for n in rows)
    spans = collections.defaultdict(list)
    for n in rows:
        present = [t for t in order if t in hops[n]]
        for a, b in zip(present, present[1:]):
            spans[(a, b)].append((hops[n][b][0] - hops[n][a][0]) / 1e6)
    values = [t for t, _ in totals]
    print(f'{len(rows)} with {first} .. {last}: p50 {quantile(values, .5):.3f} p90 {quantile(values, .9):.3f} p99 {quantile(values, .99):.3f} ms')
    for (a, b), v in sorted(spans.items(), key=lambda kv: order.index(kv[0][0])):
        print(f'  {a:<15} -> {b:<15} n={len(v):5} p50 {quantile(v, .5):8.3f} p90 {quantile(v, .9):8.3f} p99 {quantile(v, .99):8.3f}')
    return totals


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    hops = join(load(sys.argv[1]))
    totals = report(hops, SPAWN, 's.launch_call', 's.launch_ret')
    if len(sys.argv) > 2:
        for total, npid in totals[-int(sys.argv[2]):]:
            base = hops[npid]['s.launch_call'][0]
            print(f'{total:8.2f}', ' '.join(f'{t.split(".")[1]}={(hops[npid][t][0] - base) / 1e6:.2f}/{hops[npid][t][1]}'
                                           for t in SPAWN if t in hops[npid]))
    if not report(hops, EXIT, 'c.kill', 'c.notified'):
        report(hops, EXIT, 'h.reaped', 'g.watch_ret')
    report(hops, EXIT_RECORD, 'g.exit_in', 's.exit_done')


if __name__ == '__main__':
    main()
