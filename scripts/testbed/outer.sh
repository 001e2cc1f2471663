#!/bin/bash
# The testbed's first stage (run by scripts/systemd-testbed up, detached): moves itself into a
# sub-cgroup of its own in every hierarchy, so that what the testbed's systemd does stays under it
# and can be removed, then starts inner.sh as PID 1 of new PID, mount and cgroup namespaces.
#   outer.sh STATE_DIR CGROUP_NAME
set -e
state="$1" name="$2"
echo $$ > "$state/outer-pid"
: > "$state/cgroups"
while IFS=: read -r _ ctl path; do
  case "$ctl" in
    "") d=/sys/fs/cgroup/unified$path ;;
    name=systemd) d=/sys/fs/cgroup/systemd$path ;;
    *) d=/sys/fs/cgroup/$ctl$path ;;
  esac
  [ -d "$d" ] || continue
  d=${d%/}/$name
  mkdir -p "$d"
  echo "$d" >> "$state/cgroups"
  if [ "$ctl" = cpuset ]; then
    cat "${d%/"$name"}/cpuset.cpus" > "$d/cpuset.cpus"
    cat "${d%/"$name"}/cpuset.mems" > "$d/cpuset.mems"
  fi
  echo $$ > "$d/cgroup.procs"
done <<< "$(cat /proc/self/cgroup)"   # read whole first: the file changes as this moves
# hostd's run directories live under /run/nefele, which the testbed's own /run would hide: inner.sh
# mounts it back at the same place.
mkdir -p /run/nefele
exec unshare --pid --fork --mount --cgroup --mount-proc "$(dirname "$0")/inner.sh" "$state"
