#!/usr/bin/env python3
"""scripts/bench messaging's driver: runs the messaging figures on a node (or a cluster) through
its REST API and writes the JSON. The programs are native/bench/nefele_msg_bench (Nefele
processes on libnefele) and native/bench/unix_pingpong (the plain floor), compiled by
scripts/bench; an Erlang round trip runs when erl is installed.

  messaging.py --api URL --key KEY --bench BIN --pingpong BIN --out FILE [--n N] [--flood N]
               [--cross-api URL]   (a second node's API: cross-node figures, name visibility)
               [--only-names]      (only register to visible, on one node and, with --cross-api, across)
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

TENANT = "bench-msg"
TERMINAL = {"Exited", "FailedToStart", "Lost"}


class Api:
    def __init__(self, url, key):
        self.url, self.key = url.rstrip("/"), key

    def call(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.key)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw and r.headers.get_content_type().endswith("json") else raw)
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def spawn(self, path, args, affinity=(), anti=()):
        task = {"path": path, "args": [str(a) for a in args]}
        if affinity:
            task["affinity"] = list(affinity)
        if anti:
            task["antiAffinity"] = list(anti)
        status, body = self.call("POST", f"/v1/tenants/{TENANT}/spawn", {"tasks": [task]})
        if status != 200:
            sys.exit(f"spawn {path} {args}: {status} {body}")
        return body["npids"][0]

    def info(self, npid):
        status, body = self.call("GET", f"/v1/tenants/{TENANT}/processes/{npid}")
        if status != 200:
            sys.exit(f"process {npid}: {status} {body}")
        return body

    def wait_end(self, npid, bound):
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            info = self.info(npid)
            if info["state"] in TERMINAL:
                return info
            time.sleep(0.05)  # a benchmark's poll for its own programs' end, bounded
        self.call("POST", f"/v1/tenants/{TENANT}/processes/{npid}/signal", {"signal": 9})
        sys.exit(f"{npid} did not end within {bound} s:\n{self.logs(npid)}")

    def logs(self, npid):
        status, body = self.call("GET", f"/v1/tenants/{TENANT}/processes/{npid}/logs")
        return body.decode(errors="replace") if isinstance(body, bytes) else str(body)

    def run(self, path, args, bound=300, **placement):
        """Spawns, waits for the end, and answers its output; exits with it unless it exited 0."""
        npid = self.spawn(path, args, **placement)
        info = self.wait_end(npid, bound)
        out = self.logs(npid)
        end = info.get("end") or {}
        if info["state"] != "Exited" or end.get("exitCode") != 0:
            sys.exit(f"{path} {args} ended {info['state']} {end}:\n{out}")
        return npid, out


def summary(method, samples_ns, **extra):
    s = sorted(samples_ns)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))] / 1e6
    return {"method": method, "n": len(s), "p50_ms": round(pick(0.50), 4), "p99_ms": round(pick(0.99), 4), **extra}


def lines(text, key):
    return [int(line.split()[1]) for line in text.splitlines() if line.startswith(key + " ")]


def round_trips(api, bench, n, where, **placement):
    echo = api.spawn(bench, ["echo"])
    place = {k: [f"npid:{echo}"] for k, v in placement.items() if v}
    _, out = api.run(bench, ["rtt", echo, n, 100], **place)
    api.wait_end(echo, 60)
    rtt = lines(out, "rtt_ns")
    return [summary(f"nefele_rtt_{where}", rtt, note="100-byte send and echoed reply between two processes, timed in the sender"),
            summary(f"nefele_one_way_{where}", [x / 2 for x in rtt], note="half the round trip")]


def throughput(api, bench, count, where, batch=False, **placement):
    sink = api.spawn(bench, ["sink-many" if batch else "sink", count])
    place = {k: [f"npid:{sink}"] for k, v in placement.items() if v}
    _, out = api.run(bench, ["flood-many" if batch else "flood", sink, count, 100], **place)
    api.wait_end(sink, 60)
    ns = lines(out, "flood_ns")[0]
    if batch:
        return {"method": f"nefele_throughput_batch_{where}", "n": count, "msgs_per_s": round(count / (ns / 1e9)),
                "note": "the same messages sent with nefele_message_many (1,000 a call, pipelined on one connection) "
                        "and taken with nefele_recv_many (up to 1,024 a call)"}
    return {"method": f"nefele_throughput_{where}", "n": count, "msgs_per_s": round(count / (ns / 1e9)),
            "note": "100-byte unacknowledged sends from one process to another until the receiver has taken them all, "
                    "one nefele_message and one nefele_recv per message"}


# A process holds at most Limits.MaxNamesPerProcess (64) names: the waiter holds one, so a
# registrar registers at most this many, and more names take more registrar/waiter pairs.
NAMES_PER_REGISTRAR = 60


def visibility(api, bench, count, cross):
    samples, stamp = [], time.time_ns()
    for round_no, start in enumerate(range(0, count, NAMES_PER_REGISTRAR)):
        samples += visibility_round(api, bench, min(NAMES_PER_REGISTRAR, count - start), cross, f"vis{stamp % 10**12}r{round_no}")
    where = "cross_node" if cross else "same_node"
    return summary(f"name_visible_{where}", samples,
                   note="register in one process to nefele_wait returning in a process on " + ("another node" if cross else "the same node"))


def visibility_round(api, bench, count, cross, prefix):
    waiter = api.spawn(bench, ["waiter", prefix, count])
    placement = {"anti": [f"npid:{waiter}"]} if cross else {"affinity": [f"npid:{waiter}"]}
    _, reg = api.run(bench, ["registrar", prefix, count], **placement)
    api.wait_end(waiter, 120)
    seen = dict((int(l.split()[1]), int(l.split()[2])) for l in api.logs(waiter).splitlines() if l.startswith("visible "))
    made = dict((int(l.split()[1]), int(l.split()[2])) for l in reg.splitlines() if l.startswith("registered "))
    return [seen[i] - made[i] for i in made if i in seen]


def pingpong(binary, n):
    out = subprocess.run([binary, str(n), "100"], check=True, capture_output=True, text=True).stdout
    rtt = [int(x) for x in out.split()]
    return [summary("unix_socket_rtt", rtt, note="two plain processes, a 100-byte ping-pong over a unix socket pair"),
            summary("unix_socket_one_way", [x / 2 for x in rtt], note="half the round trip")]


ERLANG = r"""
Echo = spawn(fun Loop() -> receive {P, B} -> P ! {self(), B}, Loop(); stop -> ok end end),
Bin = binary:copy(<<0>>, 100),
N = list_to_integer(os:getenv("BENCH_N")),
Warm = N div 10 + 10,
T = [begin S = erlang:monotonic_time(nanosecond), Echo ! {self(), Bin},
      receive {Echo, _} -> ok end, erlang:monotonic_time(nanosecond) - S end || _ <- lists:seq(1, Warm + N)],
[io:format("~B~n", [X]) || X <- lists:nthtail(Warm, T)],
Echo ! stop, halt().
"""


def erlang(n):
    erl = shutil.which("erl")
    if not erl:
        return None, "erl is not installed (apt-get install erlang-base)"
    out = subprocess.run([erl, "-noshell", "-eval", ERLANG], check=True, capture_output=True, text=True,
                         env={**os.environ, "BENCH_N": str(n)}, timeout=300).stdout
    rtt = [int(x) for x in out.split()]
    return [summary("erlang_rtt", rtt, note="two Erlang processes in one VM, a 100-byte binary ping-pong"),
            summary("erlang_one_way", [x / 2 for x in rtt], note="half the round trip")], None


def measured(results, skipped, method, run):
    """A figure that needs the name service: when its programs fail, the JSON says why instead of having none of the figures."""
    try:
        results.append(run())
    except SystemExit as e:
        skipped.append({"method": method, "reason": f"failed: {str(e.code).strip()[-400:]}"})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--api", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--cross-api")
    p.add_argument("--bench", required=True)
    p.add_argument("--pingpong", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--flood", type=int, default=50000)
    p.add_argument("--names", type=int, default=50)
    p.add_argument("--only-names", action="store_true")
    a = p.parse_args()

    api = Api(a.api, a.key)
    status, body = api.call("POST", "/v1/tenants", {"name": TENANT})
    if status not in (201, 409):
        sys.exit(f"tenant {TENANT}: {status} {body}")

    if a.only_names:
        return names_only(api, a)

    results, skipped = [], []
    results += pingpong(a.pingpong, a.n)
    erl, why = erlang(a.n)
    if erl:
        results += erl
    else:
        skipped.append({"method": "erlang_rtt", "reason": why})

    results += round_trips(api, a.bench, a.n, "same_node", affinity=True)
    results.append(throughput(api, a.bench, a.flood, "same_node", affinity=True))
    results.append(throughput(api, a.bench, a.flood, "same_node", batch=True, affinity=True))
    measured(results, skipped, "name_visible_same_node", lambda: visibility(api, a.bench, a.names, cross=False))
    if a.cross_api:
        results += round_trips(api, a.bench, a.n, "cross_node", anti=True)
        results.append(throughput(api, a.bench, a.flood, "cross_node", anti=True))
        results.append(throughput(api, a.bench, a.flood, "cross_node", batch=True, anti=True))
        measured(results, skipped, "name_visible_cross_node", lambda: visibility(api, a.bench, a.names, cross=True))
    else:
        for m in ("nefele_rtt_cross_node", "nefele_throughput_cross_node", "nefele_throughput_batch_cross_node", "name_visible_cross_node"):
            skipped.append({"method": m, "reason": "run with --cluster for the figures across two nodes of scripts/cluster"})

    by = {r["method"]: r for r in results}
    floor = by["unix_socket_rtt"]["p50_ms"]
    ratios = {m: round(by[m]["p50_ms"] / floor, 2)
              for m in ("nefele_rtt_same_node", "nefele_rtt_cross_node", "erlang_rtt") if m in by}
    targets = {
        "one_way_same_node_p50_le_0.15ms": by["nefele_one_way_same_node"]["p50_ms"] <= 0.15,
        "throughput_same_node_ge_50000": by["nefele_throughput_same_node"]["msgs_per_s"] >= 50000,
        "throughput_batch_same_node_ge_50000": by["nefele_throughput_batch_same_node"]["msgs_per_s"] >= 50000,
    }
    if "nefele_one_way_cross_node" in by:
        targets["one_way_cross_node_p50_le_0.5ms"] = by["nefele_one_way_cross_node"]["p50_ms"] <= 0.5
    targets.update(name_targets(by))
    write_doc(a.out, "messaging", {"n": a.n, "flood": a.flood, "names": a.names, "cluster": bool(a.cross_api), "bytes": 100},
              results, targets, skipped, {"rtt_p50_over_unix_socket": ratios})


def write_doc(out, benchmark, setup, results, targets, skipped, extra=None):
    """Writes a run's JSON (machine, time, setup, results, targets, what was skipped) and prints its lines."""
    doc = {
        "benchmark": benchmark,
        "machine": {"cores": os.cpu_count(), "os": platform.platform(), "load_average_1m": round(os.getloadavg()[0], 2)},
        "at": datetime.now(timezone.utc).isoformat(),
        "setup": setup,
        "results": results,
        **(extra or {}),
        "targets": targets,
        "skipped": skipped,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    for r in results:
        print(json.dumps(r))
    print(json.dumps({"targets": targets, "skipped": skipped}))


def name_targets(by):
    """A change is visible on every node of the tenant within 100 ms: held to the slowest percentile measured."""
    return {f"{m}_p99_le_100ms": by[m]["p99_ms"] <= 100 for m in ("name_visible_same_node", "name_visible_cross_node") if m in by}


def names_only(api, a):
    """--only-names: register to visible, on one node and (with --cross-api) across two; fails when a figure could not be taken."""
    results, skipped = [], []
    measured(results, skipped, "name_visible_same_node", lambda: visibility(api, a.bench, a.names, cross=False))
    if a.cross_api:
        measured(results, skipped, "name_visible_cross_node", lambda: visibility(api, a.bench, a.names, cross=True))
    else:
        skipped.append({"method": "name_visible_cross_node", "reason": "run with --cluster for the figure across two nodes of scripts/cluster"})
    targets = name_targets({r["method"]: r for r in results})
    write_doc(a.out, "messaging-names", {"names": a.names, "cluster": bool(a.cross_api), "gap_ms": 20}, results, targets, skipped)
    if any(s["reason"].startswith("failed") for s in skipped):
        sys.exit("a names figure could not be taken (see skipped above)")


if __name__ == "__main__":
    main()
