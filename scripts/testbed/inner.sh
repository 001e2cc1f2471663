#!/bin/bash
# The testbed's second stage, PID 1 of its own PID, mount and cgroup namespaces: a private /run
# with a minimal target (dbus only; every sysinit unit masked), the cgroup hierarchies rooted at
# the new cgroup namespace, /proc/sys and /sys read-only (as systemd-nspawn does, so nothing in it
# touches the host's settings), then systemd as PID 1. The host's /run/nefele (hostd's run
# directories) is mounted at the same place in the new /run.
#   inner.sh STATE_DIR
set -e
mount --make-rprivate /
# Built beside the old /run, then moved over it: the host's /run/nefele is still reachable while building.
new="$1/run"
mkdir -p "$new"
mount -n -t tmpfs -o mode=755,nosuid,nodev tmpfs "$new"
mkdir -p "$new/systemd/system" "$new/lock" "$new/dbus" "$new/nefele"
mount -n --bind /run/nefele "$new/nefele"
mount -n --move "$new" /run
U=/run/systemd/system
cat > $U/sysinit.target <<'X'
[Unit]
Description=System Initialization (testbed, minimal)
X
cat > $U/testbed.target <<'X'
[Unit]
Description=Nefele systemd testbed
Wants=dbus.socket dbus.service
AllowIsolate=yes
X
for f in /lib/systemd/system/sysinit.target.wants/* /etc/systemd/system/sysinit.target.wants/*; do
  [ -e "$f" ] || [ -L "$f" ] || continue
  ln -sf /dev/null "$U/$(basename "$f")"
done
mount -t tmpfs -o mode=755,nosuid,nodev,noexec tmpfs /sys/fs/cgroup
for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
  grep -qw "$c" /proc/cgroups || continue
  mkdir /sys/fs/cgroup/$c
  mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c
done
mkdir /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount -o remount,bind,ro /sys
export container=other
exec /lib/systemd/systemd --system --unit=testbed.target --log-target=console --log-level=info
