# Shared by scripts/up, scripts/test, scripts/bench: install what is missing, build.
# Every step is idempotent: a second run finds everything in place and does nothing.

NEFELE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NEFELE_CONFIG="${NEFELE_CONFIG:-Release}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say() { printf '%s\n' "$*" >&2; }

# Debian packages the build and the tests need. Looked up by command/file, installed only if absent.
# Optional extras: "redis" (redis-server, for cluster mode and the multi-node tests),
# "netns" (ip, nsenter, flock: scripts/cluster's network namespaces and bridge),
# "tls" (openssl: the cluster's CA and certificates), "release" (dpkg-shlibdeps: scripts/publish's
# package dependencies), "images" (busybox-static: the image tests' root filesystem),
# "systemd" (systemd, dbus-daemon and systemd-nspawn: scripts/systemd-testbed).
nefele_install_deps() {
  local missing=() extra
  command -v protoc-c >/dev/null 2>&1 || missing+=(protobuf-c-compiler)
  [ -e /usr/include/protobuf-c/protobuf-c.h ] || missing+=(libprotobuf-c-dev)
  command -v make >/dev/null 2>&1 || missing+=(make)
  command -v cc >/dev/null 2>&1 || missing+=(gcc)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkgconf)   # the C examples build with pkg-config
  [ -e /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -e /usr/include/curl/curl.h ] \
    || missing+=(libcurl4-openssl-dev)   # examples/c/nefele-rest calls the REST API over libcurl
  [ -x /usr/bin/python3 ] || missing+=(python3)   # tests run it as a real memory-hungry process
  [ -e /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)   # tests build a static binary
  # nef is a native AOT executable: the .NET toolchain links it with the C compiler (gcc or clang),
  # objcopy (binutils) strips it, and it links against zlib.
  command -v objcopy >/dev/null 2>&1 || missing+=(binutils)
  [ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
  command -v zsh >/dev/null 2>&1 || missing+=(zsh)   # the tests run nef's zsh completion in zsh
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)   # the tests drive nef attach in a real terminal
  for extra in "$@"; do
    case "$extra" in
      redis) command -v redis-server >/dev/null 2>&1 || missing+=(redis-server) ;;
      netns)
        command -v ip >/dev/null 2>&1 || missing+=(iproute2)
        command -v nft >/dev/null 2>&1 || missing+=(nftables)   # hostd's tenant networks: the tunnels' firewall
        { command -v nsenter >/dev/null 2>&1 && command -v flock >/dev/null 2>&1; } || missing+=(util-linux) ;;
      tls) command -v openssl >/dev/null 2>&1 || missing+=(openssl) ;;
      release) command -v dpkg-shlibdeps >/dev/null 2>&1 || missing+=(dpkg-dev) ;;
      images)   # the image tests' busybox root (a static busybox: no loader, no libraries in the image)
        dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static) ;;
      systemd)   # scripts/systemd-testbed: systemd as PID 1 of a PID namespace, its bus, nspawn
        [ -x /lib/systemd/systemd ] || missing+=(systemd)
        command -v dbus-daemon >/dev/null 2>&1 || missing+=(dbus)
        command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container)
        command -v nsenter >/dev/null 2>&1 || missing+=(util-linux) ;;
      prometheus)   # charts-free-deploy/prometheus: promtool checks it, and a real Prometheus scrapes a cluster
        { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || missing+=(prometheus) ;;
      containers)   # tenant containers: systemd-nspawn (their tests make an image of the static busybox: images)
        command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container) ;;
      *) say "nefele_install_deps: unknown extra $extra"; return 1 ;;
    esac
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing: ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
      say "error: need root to install ${missing[*]} (run as root or install them first)"
      return 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

nefele_build() {
  say "building native/ ..."
  make -s -C "$NEFELE_ROOT/native" >&2 || return 1
  say "building the solution ($NEFELE_CONFIG) ..."
  dotnet build "$NEFELE_ROOT/Nefele.Orleans.sln" -c "$NEFELE_CONFIG" -nologo -v q -clp:NoSummary >&2 || return 1
  nefele_build_nef
}

# Where bin/nef finds the native nef.
NEFELE_NEF="$NEFELE_ROOT/src/Nefele.Cli/bin/native/nef"

# nefele_build_nef: publishes nef as a native AOT executable (NEFELE_NEF) unless it is newer than
# every source it is built from (scripts/nef-stale.sh, the check bin/nef makes before each command).
# Native AOT links with the C toolchain nefele_install_deps installs.
. "$NEFELE_ROOT/scripts/nef-stale.sh"
nefele_build_nef() {
  nef_stale "$NEFELE_ROOT" "$NEFELE_NEF" || return 0
  say "building nef (native) ..."
  dotnet publish "$NEFELE_ROOT/src/Nefele.Cli" -c Release -nologo -v q -clp:NoSummary -o "$(dirname "$NEFELE_NEF")" >&2 || return 1
  # A publish with nothing to recompile keeps the old binary and its time: mark it current.
  touch "$NEFELE_NEF"
}

# nefele_install_native ROOT LIBDIR NEFELE_LIBDIR: installs the built native/ parts under the staging
# root ROOT as a package lays them out: the C library (nefele.h, libnefele.so.1, nefele.pc) under
# /usr and LIBDIR, the shim and hostd's spawn library in NEFELE_LIBDIR (native/Makefile's install).
nefele_install_native() {
  local root="$1" libdir="$2" nefele_libdir="$3"
  make -s -C "$NEFELE_ROOT/native" install DESTDIR="$root" PREFIX=/usr LIBDIR="$libdir" NEFELE_LIBDIR="$nefele_libdir" >&2
}

nefele_dll() { # nefele_dll PROJECT ASSEMBLY
  printf '%s/src/%s/bin/%s/net10.0/%s.dll' "$NEFELE_ROOT" "$1" "$NEFELE_CONFIG" "$2"
}

# ---- the silo's user: only hostd needs root; the silo runs as an unprivileged system user.

NEFELE_SILO_USER="${NEFELE_SILO_USER:-nefele}"
NEFELE_SILO_HOME="${NEFELE_SILO_HOME:-/var/lib/nefele}"
# A command prefix that runs what follows as the silo's user: its uid, gid and groups, no
# capabilities, no new privileges, HOME its own (a simple command, so $! is the program's pid).
NEFELE_AS_SILO_USER=(setpriv --reuid "$NEFELE_SILO_USER" --regid "$NEFELE_SILO_USER" --init-groups
  --no-new-privs --inh-caps=-all --bounding-set=-all -- env HOME="$NEFELE_SILO_HOME")

# nefele_silo_user: makes the silo's system user and group (NEFELE_SILO_USER, default nefele;
# no login, home NEFELE_SILO_HOME 0700) unless they exist; prints its uid (hostd's --silo-uid).
nefele_silo_user() {
  if ! id -u "$NEFELE_SILO_USER" >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || { say "error: need root to create the system user $NEFELE_SILO_USER"; return 1; }
    say "creating the system user $NEFELE_SILO_USER (the silo runs as it; hostd stays root)"
    useradd --system --user-group --home-dir "$NEFELE_SILO_HOME" --no-create-home \
      --shell /usr/sbin/nologin --comment "Nefele silo" "$NEFELE_SILO_USER" >&2 \
      || { say "error: useradd $NEFELE_SILO_USER failed"; return 1; }
  fi
  if [ ! -d "$NEFELE_SILO_HOME" ]; then
    install -d -m 0700 -o "$NEFELE_SILO_USER" -g "$(id -g "$NEFELE_SILO_USER")" "$NEFELE_SILO_HOME" || return 1
  fi
  id -u "$NEFELE_SILO_USER"
}

# nefele_open_path DIR...: every directory above each DIR (and DIR) lets other users pass (o+x),
# so the silo's user and tenants' uids reach the build and the run directory; the ones that did
# not are opened, and named. Nothing is made readable: o+x only traverses.
nefele_open_path() {
  local dir
  for dir in "$@"; do
    dir="$(cd "$dir" && pwd -P)" || return 1
    while [ "$dir" != / ]; do
      if [ "$(( 0$(stat -c %a "$dir") & 1 ))" -eq 0 ]; then
        say "other users must reach the build and run directory: chmod o+x $dir"
        chmod o+x "$dir"
      fi
      dir="$(dirname "$dir")"
    done
  done
}

# nefele_start_node NODE RUN_DIR API_URL SILO_PORT GATEWAY_PORT [hostd flags...]
# Starts hostd and the silo in the background (sets NEFELE_HOSTD_PID, NEFELE_SILO_PID) and
# waits until the API answers /healthz (hostd attached). Returns 1 if either exits first.
# Extra silo flags (cluster mode: --redis, --advertise, ...) come from the array NEFELE_SILO_ARGS.
# hostd runs as root; the silo as the unprivileged NEFELE_SILO_USER (nefele_silo_user).
nefele_start_node() {
  local node="$1" run_dir="$2" api="$3" silo_port="$4" gateway_port="$5" silo_uid; shift 5
  silo_uid="$(nefele_silo_user)" || return 1
  mkdir -p "$run_dir"
  nefele_open_path "$NEFELE_ROOT" "$run_dir"
  dotnet "$(nefele_dll Nefele.HostAgent nefele-hostd)" --node "$node" --run-dir "$run_dir" \
    --shim "$NEFELE_ROOT/native/build/libnefele-shim.so" --spawn-lib "$NEFELE_ROOT/native/build/libnefele-spawn.so" \
    --silo-uid "$silo_uid" --control-secret-file "$run_dir/control.secret" "$@" &
  NEFELE_HOSTD_PID=$!
  "${NEFELE_AS_SILO_USER[@]}" dotnet "$(nefele_dll Nefele.Silo nefele-silo)" --node "$node" --hostd-socket "$run_dir/control.sock" \
    --hostd-secret-file "$run_dir/control.secret" --api "$api" \
    --silo-port "$silo_port" --gateway-port "$gateway_port" ${NEFELE_SILO_ARGS[@]+"${NEFELE_SILO_ARGS[@]}"} \
    --Logging:LogLevel:Default=Warning --Logging:LogLevel:Nefele=Information &
  NEFELE_SILO_PID=$!
  local _
  for _ in $(seq 1 600); do
    curl -fsS "$api/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$NEFELE_SILO_PID" 2>/dev/null || { say "the silo exited during start-up"; return 1; }
    kill -0 "$NEFELE_HOSTD_PID" 2>/dev/null || { say "hostd exited during start-up"; return 1; }
    sleep 0.1
  done
  say "node $node did not become healthy within 60 s"
  return 1
}

# Stops the silo, then hostd (which stops its processes: SIGTERM, SIGKILL after its grace).
nefele_stop_node() {
  [ -n "${NEFELE_SILO_PID:-}" ] && kill -TERM "$NEFELE_SILO_PID" 2>/dev/null && wait "$NEFELE_SILO_PID" 2>/dev/null
  [ -n "${NEFELE_HOSTD_PID:-}" ] && kill -TERM "$NEFELE_HOSTD_PID" 2>/dev/null && wait "$NEFELE_HOSTD_PID" 2>/dev/null
  NEFELE_SILO_PID="" NEFELE_HOSTD_PID=""
  return 0
}

# The cluster's credentials: nefele_admin_key, nefele_tls_ca, nefele_tls_cert (the release carries
# the same file as /usr/lib/nefele/credentials.sh, for nefele-tls and operators without a checkout).
. "$NEFELE_ROOT/scripts/credentials.sh"

# nefele_check_openapi: checks the REST API's OpenAPI document with the npm project tests/openapi.
# Starts a node on free ports, fetches /openapi/v1.json with a throwaway admin key, stops the node,
# then three checks: Redocly lints it with 0 errors, openapi-typescript generates types from it, and
# tsc type-checks a client that calls spawn, ps and kill against them. Installs node and npm when
# missing and the pinned packages (npm ci) when node_modules is missing or stale. Ends with
# "N passed, M failed".
# nefele_install_node: node and npm (Debian's), for the checks that run npm packages.
nefele_install_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    say "installing: nodejs npm"
    if [ "$(id -u)" -ne 0 ]; then
      say "error: need root to install nodejs and npm (run as root or install them first)"
      return 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null || return 1
  fi
}

nefele_check_openapi() {
  local dir="$NEFELE_ROOT/tests/openapi" state ports api key passed=0 failed=0 check
  nefele_install_node || return 1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "npm ci (tests/openapi) ..."
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || { say "npm ci failed"; return 1; }
  fi

  state="$(mktemp -d)"
  read -r -a ports < <(python3 -c 'import socket
s=[socket.socket() for _ in range(3)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
  api="http://127.0.0.1:${ports[0]}"
  key="$(nefele_admin_key "$state/admin.key")"
  local NEFELE_SILO_ARGS=(--admin-key "$key")
  mkdir -p "$dir/build"
  rm -f "$dir/build/openapi.json"
  if nefele_start_node "openapi-$$" "$state/run" "$api" "${ports[1]}" "${ports[2]}" --stop-grace 2s >"$state/node.log" 2>&1; then
    curl -fsS -H "Authorization: Bearer $(head -n 1 "$state/admin.key")" "$api/openapi/v1.json" -o "$dir/build/openapi.json" \
      || say "could not fetch $api/openapi/v1.json"
  else
    tail -n 40 "$state/node.log" >&2
  fi
  nefele_stop_node
  rm -rf "$state"

  for check in lint types typecheck; do
    if [ -s "$dir/build/openapi.json" ] && (cd "$dir" && npm run --silent "$check"); then
      passed=$((passed + 1)); say "openapi $check: ok"
    else
      failed=$((failed + 1)); say "openapi $check: FAILED"
    fi
  done
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# ---- the release, installed and booted (scripts/test; scripts/publish makes it)

# nefele_check_release: packs the existing build with scripts/publish (--no-build --fast) and checks
# the .deb's control data and layout; then, in network and mount namespaces of its own
# (nefele_release_node), installs it with dpkg -i onto this machine's /usr, /etc and /var seen
# through overlays whose writes stay in a scratch directory, boots a node from it (hostd and the
# silo from the installed units' ExecStart and node.env), spawns through the installed nef, and
# removes and purges the package again. The node's Redis, API, silo and gateway ports are on the
# namespace's own loopback and its run directory on a private tmpfs, so it never meets another
# node, and nothing of it reaches the machine. Ends with "N passed, M failed".
nefele_check_release() {
  local state passed=0 failed=0 deb version line field
  state="$(mktemp -d /tmp/nefele-release.XXXXXX)"
  chmod 0755 "$state"
  _release_ok() { passed=$((passed + 1)); say "release: $1: ok"; }
  _release_bad() { failed=$((failed + 1)); say "release: $1: FAILED${2:+ ($2)}"; }

  if deb="$("$NEFELE_ROOT/scripts/publish" --no-build --fast --deb-only --out "$state/out" 2>"$state/publish.log")" && [ -f "$deb" ]; then
    _release_ok "scripts/publish packs the build into $(basename "$deb")"
  else
    tail -n 30 "$state/publish.log" >&2
    _release_bad "scripts/publish"
    echo "$passed passed, $((failed + 1)) failed"; rm -rf "$state"; return 1
  fi

  # The package: what dpkg reads (control, conffiles) and where its files go.
  version="$(dotnet msbuild "$NEFELE_ROOT/src/Nefele.Silo/Nefele.Silo.csproj" -nologo -getProperty:Version -p:Configuration="$NEFELE_CONFIG")"
  local want=() got
  [ "$(dpkg-deb -f "$deb" Package)" = nefele ] || want+=("Package is not nefele")
  [ "$(dpkg-deb -f "$deb" Version)" = "${version/-/\~}" ] || want+=("Version $(dpkg-deb -f "$deb" Version) is not the repository's $version")
  [ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] || want+=("Architecture")
  for field in libc6 libstdc++6 libssl3 passwd; do
    dpkg-deb -f "$deb" Depends | grep -q "$field" || want+=("Depends lacks $field")
  done
  dpkg-deb -f "$deb" Depends | grep -qi -E 'redis|dotnet|protobuf' && want+=("Depends names a package the node does not need: $(dpkg-deb -f "$deb" Depends)")
  dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles 2>/dev/null | grep -qx /etc/nefele/node.env || want+=("/etc/nefele/node.env is not a conffile")
  dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./shlibs 2>/dev/null | grep -qx "libnefele 1 nefele (>= ${version/-/\~})" || want+=("no shlibs entry for libnefele.so.1")
  got="$(dpkg-deb -c "$deb" | awk '{print $1, $6}')"
  for line in "-rwxr-xr-x ./usr/bin/nef" "-rw-r--r-- ./etc/nefele/node.env" "drwxr-xr-x ./etc/nefele/tls/" \
              "-rw-r--r-- ./usr/lib/systemd/system/nefele-hostd.service" "-rw-r--r-- ./usr/lib/systemd/system/nefele-silo.service" \
              "-rw-r--r-- ./usr/lib/nefele/silo/nefele-silo.dll" "-rw-r--r-- ./usr/lib/nefele/hostd/nefele-hostd.dll" \
              "-rwxr-xr-x ./usr/lib/nefele/dotnet/dotnet" "-rw-r--r-- ./usr/lib/nefele/libnefele-shim.so" \
              "-rw-r--r-- ./usr/lib/nefele/libnefele-spawn.so" "-rw-r--r-- ./usr/include/nefele.h" \
              "-rwxr-xr-x ./usr/sbin/nefele-tls" "-rw-r--r-- ./usr/lib/nefele/credentials.sh" "-rw-r--r-- ./usr/share/doc/nefele/copyright" \
              "-rw-r--r-- ./usr/lib/$(gcc -print-multiarch)/pkgconfig/nefele.pc" \
              "lrwxrwxrwx ./usr/lib/$(gcc -print-multiarch)/libnefele.so.1"; do
    grep -qxF -- "$line" <<<"$got" || want+=("no $line")
  done
  grep -q "$NEFELE_ROOT" <<<"$got" && want+=("a path of the build machine")
  dpkg-deb -c "$deb" | awk '$2 != "root/root"' | grep . >/dev/null && want+=("files not owned by root")
  if [ ${#want[@]} -eq 0 ]; then _release_ok "the package's control data and layout"; else _release_bad "the package" "$(IFS=';'; echo "${want[*]}")"; fi

  # Installed, booted, removed.
  local out rc=0
  out="$(unshare --net --mount --propagation private bash -c '. "$1/scripts/lib.sh"; nefele_release_node "$2" "$3" "$4"' _ \
    "$NEFELE_ROOT" "$state" "$deb" "$version" 2>"$state/node.log")" || rc=$?
  while IFS= read -r line; do
    case "$line" in
      "ok "*) _release_ok "${line#ok }" ;;
      "FAILED "*) _release_bad "${line#FAILED }" ;;
    esac
  done <<<"$out"
  if [ "$rc" -ne 0 ] || grep -q '^FAILED ' <<<"$out"; then
    say "release: the node's log ($state/node.log):"; tail -n 60 "$state/node.log" >&2
    [ "$rc" -ne 0 ] && ! grep -q '^FAILED ' <<<"$out" && _release_bad "the installed node ended abnormally (exit $rc)"
  fi
  rm -rf "$state"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# nefele_release_node STATE DEB VERSION: runs inside fresh network and mount namespaces (as root)
# made by nefele_check_release. /usr, /etc and /var become overlays of themselves whose writes go to
# STATE, and DEB is installed there with dpkg -i, as on a node: its Depends checked against this
# machine's packages, its postinst run. Then node.env is filled in as an operator would (one node,
# cluster mode on a Redis of its own, mutual TLS), hostd and the silo start with their units'
# ExecStart, the installed nef spawns on the node, and the package is removed and purged. Prints
# "ok CHECK" or "FAILED CHECK" lines; stops what it started by PID.
nefele_release_node() {
  local state="$1" deb="$2" version="$3" d npid out
  # Not local: the EXIT trap runs after this function has returned.
  redis_pid="" hostd_pid="" silo_pid=""
  report() { if [ "$1" -eq 0 ]; then echo "ok $2"; else echo "FAILED $2"; fi; }
  stop() { # stop PID: SIGTERM, then SIGKILL after 30 s
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || return 0
    local _ st
    for _ in $(seq 1 300); do
      st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
      [ -z "$st" ] || [ "$st" = Z ] && break
      sleep 0.1
    done
    [ "$st" = Z ] || [ -z "$st" ] || kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  }
  # The silo first, then hostd, which stops the node's processes and removes their cgroups.
  stop_node() { stop "$silo_pid"; stop "$hostd_pid"; stop "$redis_pid"; silo_pid="" hostd_pid="" redis_pid=""; }
  trap stop_node EXIT
  set -e
  ip link set lo up
  for d in usr etc var; do
    mkdir -p "$state/overlay/$d-upper" "$state/overlay/$d-work"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$state/overlay/$d-upper,workdir=$state/overlay/$d-work" "/$d"
  done
  # /run/nefele, the units' RuntimeDirectory, private to this namespace.
  mkdir -p /run/nefele
  mount -t tmpfs -o mode=0755 nefele-run /run/nefele
  set +e

  dpkg -i "$deb" >&2 && [ "$(dpkg-query -W -f '${Status} ${Version}' nefele)" = "install ok installed ${version/-/\~}" ] \
    && id -u nefele >/dev/null && [ -d /etc/nefele/tls ] && [ -x /usr/bin/nef ]
  report $? "dpkg -i installs the package (its Depends met here; the postinst makes the user nefele and /etc/nefele/tls)"
  # StateDirectory=nefele: the silo's home, which systemd would make.
  install -d -m 0700 -o nefele -g nefele /var/lib/nefele

  # node.env, the certificates and the admin key, as charts-free-deploy/README.md has an operator make them.
  # Made with the release's own tools (nefele-tls, credentials.sh), as on an admin machine without a checkout.
  local node="nrl-n1" key
  key="$(bash -c '. /usr/lib/nefele/credentials.sh && nefele_admin_key "$1"' _ "$state/admin.key")" \
    && /usr/sbin/nefele-tls ca "$state/tls" release >&2 && /usr/sbin/nefele-tls node "$state/tls" "$node" 127.0.0.1 >&2
  report $? "the installed nefele-tls and credentials.sh make the admin key, the CA and the node's certificate"
  install -m 0644 "$state/tls/ca.pem" /etc/nefele/tls/ca.pem
  install -m 0644 "$state/tls/$node.pem" /etc/nefele/tls/node.pem
  install -m 0600 "$state/tls/$node.key" /etc/nefele/tls/node.key
  sed -i -e "s/^NEFELE_NODE=.*/NEFELE_NODE=$node/" -e "s/^NEFELE_REDIS=.*/NEFELE_REDIS=127.0.0.1:6379/" \
    -e "s/^NEFELE_ADVERTISE=.*/NEFELE_ADVERTISE=127.0.0.1/" -e "s/^NEFELE_ADMIN_KEY=.*/NEFELE_ADMIN_KEY=$key/" /etc/nefele/node.env
  # LoadCredential=node.key:/etc/nefele/tls/node.key: a copy only the silo's user reads, at %d.
  install -d -m 0700 -o nefele -g nefele "$state/credentials"
  install -m 0600 -o nefele -g nefele /etc/nefele/tls/node.key "$state/credentials/node.key"

  mkdir -p "$state/redis"
  redis-server --bind 127.0.0.1 --port 6379 --dir "$state/redis" --save '' --appendonly no >"$state/redis.log" 2>&1 </dev/null &
  redis_pid=$!

  # Each unit's ExecStart, its continuation lines joined, run with the unit's EnvironmentFile
  # (systemd expands ${VAR} and $VAR the same way for these values, which hold no spaces).
  exec_start() { sed -n '/^ExecStart=/,/[^\\]$/p' "$1" | sed -e 's/^ExecStart=//' -e 's/\\$//' | tr '\n' ' '; }
  local hostd_cmd silo_cmd
  hostd_cmd="$(exec_start /usr/lib/systemd/system/nefele-hostd.service)"
  silo_cmd="$(exec_start /usr/lib/systemd/system/nefele-silo.service)"
  silo_cmd="${silo_cmd//%d/$state/credentials}"
  (
    set -a; . /etc/nefele/node.env; set +a
    eval "set -- $hostd_cmd"
    exec "$@"
  ) >"$state/hostd.log" 2>&1 </dev/null &
  hostd_pid=$!
  (
    set -a; . /etc/nefele/node.env; set +a
    eval "set -- $silo_cmd"
    # User=nefele, Environment=HOME=/var/lib/nefele
    exec "${NEFELE_AS_SILO_USER[@]}" "$@"
  ) >"$state/silo.log" 2>&1 </dev/null &
  silo_pid=$!

  local _ healthy=1
  for _ in $(seq 1 1200); do
    curl -fsS --max-time 2 http://127.0.0.1:7400/healthz >/dev/null 2>&1 && { healthy=0; break; }
    kill -0 "$hostd_pid" 2>/dev/null || { say "hostd exited:"; break; }
    kill -0 "$silo_pid" 2>/dev/null || { say "the silo exited:"; break; }
    sleep 0.1
  done
  report $healthy "a node boots from the installed units and node.env (silo as nefele, cluster mode, mutual TLS)"
  if [ "$healthy" -ne 0 ]; then
    tail -n 30 "$state/hostd.log" "$state/silo.log" >&2
    return 1
  fi

  out="$(/usr/bin/nef --version 2>&1)"
  [[ "$out" == "nef $version "* || "$out" == "nef $version" ]]
  report $? "the installed nef is version $version ($out)"

  export NEFELE_TOKEN
  NEFELE_TOKEN="$(head -n 1 "$state/admin.key")"
  npid="$(/usr/bin/nef spawn -- /bin/sh -c 'echo "ran from the release as $(id -u)"' 2>&1)"
  out="$(timeout 60 /usr/bin/nef monitor "$npid" 2>&1)"
  local logs
  logs="$(/usr/bin/nef logs "$npid" 2>&1)"
  [[ "$out" == *"exited 0"* && "$logs" == *"ran from the release as "* ]]
  report $? "the installed nef spawns on that node, and the process ran (NPID $npid: $out; $logs)"
  # A C program built against the installed header and library (through nefele.pc where the
  # release has it), then run as a Nefele process: libnefele reaches its node from inside.
  local cflags prog
  cflags="$(pkg-config --cflags --libs nefele)" || { echo "FAILED pkg-config finds the installed nefele.pc"; return 0; }
  prog="$state/self"
  printf '%s\n' '#include <nefele.h>' '#include <stdio.h>' \
    'int main(void) { npid_t me; int rc = nefele_self(&me);' \
    '  if (rc != 0) { printf("nefele_self: %d %s\n", rc, nefele_last_error()); return 1; }' \
    '  printf("libnefele: self ok\n"); return 0; }' >"$prog.c"
  # shellcheck disable=SC2086
  if cc -o "$prog" "$prog.c" $cflags >&2; then
    chmod 0755 "$prog"
    npid="$(/usr/bin/nef spawn -- "$prog" 2>&1)"
    out="$(timeout 60 /usr/bin/nef monitor "$npid" 2>&1)"
    logs="$(/usr/bin/nef logs "$npid" 2>&1)"
    [[ "$out" == *"exited 0"* && "$logs" == *"libnefele: self ok"* ]]
    report $? "a C program built with the installed nefele.pc ($cflags) runs on the node, linked to libnefele.so.1 ($out; $logs)"
  else
    echo "FAILED a C program builds with the installed nefele.h and libnefele ($cflags)"
  fi

  # Removal keeps the edited conffile until purge; purge removes it and the silo's state.
  stop_node
  dpkg -r nefele >&2 && [ ! -e /usr/bin/nef ] && [ ! -e /usr/lib/nefele/dotnet ] && [ ! -e /usr/lib/systemd/system/nefele-hostd.service ] \
    && grep -q "^NEFELE_NODE=$node\$" /etc/nefele/node.env \
    && dpkg -P nefele >&2 && [ ! -e /etc/nefele/node.env ] && [ ! -e /var/lib/nefele ] \
    && [ -z "$(dpkg-query -W -f '${Status}' nefele 2>/dev/null | grep -v not-installed)" ]
  report $? "dpkg -r removes the release and keeps the edited node.env; dpkg -P purges node.env and /var/lib/nefele"
  return 0
}

# nefele_check_images: scripts/images busybox builds the tiny image (about 2 s; cached by its
# inputs outside the checkout), and a second run answers the same tarball with the same digest.
# Ends with "N passed, M failed" (one check).
nefele_check_images() {
  local out="" first="" second="" config=""
  if out="$("$NEFELE_ROOT/scripts/images" busybox)" && first="$(printf '%s\n' "$out" | head -n 1)" \
    && config="$(printf '%s\n' "$out" | sed -n 2p)" && [ -s "$first" ] && [ -s "$config" ] \
    && tar -tf "$first" | grep -x './bin/sh' >/dev/null && python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c["cmd"]' "$config" \
    && second="$("$NEFELE_ROOT/scripts/images" path busybox)" && [ "$first" = "$second" ]; then
    say "scripts/images busybox: $first"
    echo "1 passed, 0 failed"
  else
    say "scripts/images busybox failed or gave another image the second time (first: ${first:-none}, config: ${config:-none}, second: ${second:-none})"
    [ -n "${first:-}" ] && { ls -l "$first" "${config:-/dev/null}" >&2; tar -tf "$first" 2>&1 | head -5 >&2; }
    echo "0 passed, 1 failed"
    return 1
  fi
}

# nefele_dotnet_test_summary OUTPUT EXIT: the failures of a `dotnet test` run's OUTPUT, then its
# "N passed, M failed" line (a test host that crashed with no failure counted counts as 1 failed; a
# filter that matched nothing as 0 and 0). Returns 0 when nothing failed.
nefele_dotnet_test_summary() {
  local out="$1" rc="$2" summary p f
  grep -E '^\s*(Failed|Passed!|Failed!|Skipped) |Error Message|Assert' <<<"$out" | head -n 100
  summary="$(grep -E '(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+' <<<"$out" | tail -n 1)"
  if [ -n "$summary" ]; then
    f="$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$summary")"
    p="$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")"
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1   # a test host that crashed
  elif grep -q 'No test matches' <<<"$out"; then
    p=0 f=0
  else
    tail -n 40 <<<"$out"
    p=0 f=1
  fi
  echo "$p passed, $f failed"
  [ "$f" -eq 0 ]
}

# nefele_check_tracing [dotnet test args]: tests/Nefele.Tracing.Tests against a real OTLP receiver
# (tests/otlp-receiver: Node.js decoding http/protobuf exports with @opentelemetry/otlp-transformer's
# generated protobuf root, pinned by its package-lock.json). Installs node and npm when missing and
# the receiver's packages (npm ci) when node_modules is missing or stale. The tests start their own
# node (own ports, run directory and node name) and receiver. Ends with "N passed, M failed".
nefele_check_tracing() {
  local dir="$NEFELE_ROOT/tests/otlp-receiver" rc=0 out
  nefele_install_node || { echo "0 passed, 1 failed"; return 1; }
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "npm ci (tests/otlp-receiver) ..."
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || { say "npm ci failed"; echo "0 passed, 1 failed"; return 1; }
  fi
  out="$(dotnet test "$NEFELE_ROOT/tests/Nefele.Tracing.Tests/Nefele.Tracing.Tests.csproj" \
    -c "$NEFELE_CONFIG" --no-build -nologo "$@" 2>&1)" || rc=$?
  nefele_dotnet_test_summary "$out" "$rc"
}

# nefele_check_systemd [dotnet test args...]: the systemd engine's tests (tests/Nefele.Systemd.Tests)
# against a systemd testbed of their own (scripts/systemd-testbed, state in NEFELE_SYSTEMD_TESTBED_DIR,
# default /run/nefele-testbed-test), started before and powered off after, whatever the tests did.
# Ends with "N passed, M failed"; a testbed that does not start counts as 1 failed.
nefele_check_systemd() {
  local dir="${NEFELE_SYSTEMD_TESTBED_DIR:-/run/nefele-testbed-test}" bus rc=0 out
  if ! NEFELE_TESTBED_DIR="$dir" "$NEFELE_ROOT/scripts/systemd-testbed" up; then
    echo "0 passed, 1 failed"
    return 1
  fi
  bus="$(NEFELE_TESTBED_DIR="$dir" "$NEFELE_ROOT/scripts/systemd-testbed" bus)"
  out="$(NEFELE_SYSTEMD_BUS="$bus" dotnet test "$NEFELE_ROOT/tests/Nefele.Systemd.Tests/Nefele.Systemd.Tests.csproj" \
    -c "$NEFELE_CONFIG" --no-build -nologo "$@" 2>&1)" || rc=$?
  NEFELE_TESTBED_DIR="$dir" "$NEFELE_ROOT/scripts/systemd-testbed" down
  nefele_dotnet_test_summary "$out" "$rc"
}

# nefele_check_prometheus: the shipped Prometheus rules and scrape configuration pass promtool, and a
# real Prometheus scrapes every node (silo and hostd) of a two-node scripts/cluster cluster of its own
# (prefix oto, subnet 10.81.0) every second, with the shipped alert rules: every node's scrape passes
# promtool check metrics; Prometheus' HTTP API answers the spawn latency (histogram_quantile over the
# buckets), the processes per node, every dashboard panel's query, and a stopped node (up = 0 and the
# NefeleNodeLost alert). Prints "N passed, M failed". About a minute on a quiet machine.
nefele_check_prometheus() (
  set -uo pipefail
  local deploy="$NEFELE_ROOT/charts-free-deploy" p=0 f=0 prom_pid="" dir port key node count
  export NEFELE_CLUSTER_PREFIX=oto NEFELE_CLUSTER_SUBNET=10.81.0 NEFELE_CLUSTER_DIR="${TMPDIR:-/tmp}/nefele-oto"
  export NEFELE_CLUSTER_NO_BUILD=1 NEFELE_CLUSTER_ID="oto-$$" NEFELE_CLUSTER_STOP_GRACE=1s
  dir="$NEFELE_CLUSTER_DIR/prometheus"
  check() { local what="$1"; shift; if "$@"; then p=$((p + 1)); say "ok: $what"; else f=$((f + 1)); say "FAILED: $what"; fi; }
  finish() {
    [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
    "$NEFELE_ROOT/scripts/cluster" down >/dev/null 2>&1
    rm -rf "$NEFELE_CLUSTER_DIR"
  }
  trap finish EXIT
  # query EXPR: the result vector of an instant query, one "labels value" a line (python3 reads the JSON).
  query() {
    curl -sfG --max-time 5 "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["status"] == "success", d
for r in d["data"]["result"]:
    print(",".join(f"{k}={v}" for k, v in sorted(r["metric"].items())), r["value"][1])'
  }
  # until SECONDS CMD...: polls CMD (Prometheus scrapes and evaluates every second) until it succeeds.
  until_ok() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.5; done; }

  check "promtool check rules (charts-free-deploy/prometheus/alerts.yml)" promtool check rules "$deploy/prometheus/alerts.yml"
  check "promtool check config --syntax-only (charts-free-deploy/prometheus/prometheus.yml)" promtool check config --syntax-only "$deploy/prometheus/prometheus.yml"

  "$NEFELE_ROOT/scripts/cluster" down >/dev/null 2>&1; rm -rf "$NEFELE_CLUSTER_DIR"
  if ! "$NEFELE_ROOT/scripts/cluster" up 2 >"${TMPDIR:-/tmp}/nefele-oto-up.log" 2>&1; then
    tail -n 30 "${TMPDIR:-/tmp}/nefele-oto-up.log"; f=$((f + 1)); echo "$p passed, $f failed"; return 1
  fi
  key="$NEFELE_CLUSTER_DIR/admin.key"
  mkdir -p "$dir"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

  # The shipped configuration with this cluster's targets and key, scraped and evaluated every second.
  sed -e 's/scrape_interval: 15s/scrape_interval: 1s/' -e 's/evaluation_interval: 15s/evaluation_interval: 1s/' \
      -e "s|  - alerts.yml|  - $deploy/prometheus/alerts.yml|" -e "s|/etc/nefele/metrics.key|$key|" \
      -e 's/10\.77\.0\.1\([0-9]\)/10.81.0.1\1/g' -e 's/, "10\.81\.0\.13:[0-9]*"//' \
      "$deploy/prometheus/prometheus.yml" >"$dir/prometheus.yml"
  check "promtool check config (the cluster's)" promtool check config "$dir/prometheus.yml"
  # promtool check metrics parses the scrape and lints its names. A parse error, or any complaint about
  # a Nefele family, fails; the lint's complaints about names Nefele does not choose are printed
  # (Orleans' millisecond and megabyte units, camelCase labels and missing help; the .NET runtime's and
  # process semantic conventions' *.count gauges: README, Observability).
  check_metrics() {
    local scrape out
    scrape="$(curl -sf --max-time 10 "$@")" || { say "no scrape from $*"; return 1; }
    [ -n "$scrape" ] || return 1
    out="$(printf '%s\n' "$scrape" | promtool check metrics 2>&1)" && return 0
    printf '%s\n' "$out" | sed 's/^/  promtool: /' >&2
    ! printf '%s\n' "$out" | grep -Ev '^(orleans|dotnet|process)_[a-z0-9_]+ (no help text|use base unit|label names should be written in|non-histogram and non-summary metrics should not have)' | grep . >/dev/null
  }
  for node in 1 2; do
    check "promtool check metrics: node $node's silo" check_metrics -H "Authorization: Bearer $(cat "$key")" "http://10.81.0.1$node:7400/metrics"
    check "promtool check metrics: node $node's hostd" check_metrics "http://10.81.0.1$node:9464/metrics"
  done

  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" --web.listen-address="127.0.0.1:$port" \
    >"$dir/prometheus.log" 2>&1 </dev/null &
  prom_pid=$!
  all_up() { [ "$(query 'count(up == 1)' 2>/dev/null | awk '{ print $NF }')" = 4 ]; }
  check "Prometheus scrapes all 4 targets (2 silos, 2 hostd)" until_ok 60 all_up

  # Four sleepers spread over both nodes, and two processes that exit.
  export NEFELE_API="http://10.81.0.11:7400"
  NEFELE_TOKEN="$(cat "$key")"; export NEFELE_TOKEN
  count=4
  check "tenant oto created" bash -c "'$NEFELE_ROOT/bin/nef' tenant create oto >/dev/null"
  check "spawn $count sleepers spread over the nodes" bash -c "'$NEFELE_ROOT/bin/nef' --tenant oto nspawn $count --spread -- /bin/sleep 300 >'$dir/npids'"
  check "spawn two that exit" bash -c "'$NEFELE_ROOT/bin/nef' --tenant oto nspawn 2 -- /bin/true >/dev/null"

  has_latency() { query 'histogram_quantile(0.99, sum by (le) (nefele_process_spawn_duration_seconds_bucket))' | awk '$NF + 0 > 0 && $NF != "NaN" { ok = 1 } END { exit !ok }'; }
  check "spawn latency p99 from the histogram's buckets" until_ok 30 has_latency
  say "spawn latency p99 (histogram_quantile): $(query 'histogram_quantile(0.99, sum by (le) (nefele_process_spawn_duration_seconds_bucket))')"
  per_node() { [ "$(query 'sum by (nefele_node) (nefele_node_processes)' | awk '$NF > 0 { n++; s += $NF } END { print n "/" s }')" = "2/$count" ]; }
  check "processes per node: both nodes, $count in all" until_ok 30 per_node
  say "processes per node: $(query 'sum by (nefele_node) (nefele_node_processes)' | tr '\n' ';')"

  # Every panel's query of the shipped dashboard is valid PromQL that Prometheus answers.
  check "every dashboard query answers" python3 - "$deploy/grafana/nefele-cluster.json" "$port" <<'PY'
import json, sys, urllib.parse, urllib.request
dash, port = json.load(open(sys.argv[1])), sys.argv[2]
for panel in dash["panels"]:
    for target in panel["targets"]:
        expr = target["expr"].replace("$__rate_interval", "1m")
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as r:
            assert json.load(r)["status"] == "success", expr
PY

  # Node 2 stops: its silo's scrape fails, and the node-lost alert's expression fires (pending for its minute).
  check "scripts/cluster stop 2" "$NEFELE_ROOT/scripts/cluster" stop 2
  lost() { query 'up{job="nefele-silo",instance="10.81.0.12:7400"} == 0' | grep -q . \
    && query 'ALERTS{alertname="NefeleNodeLost",instance="10.81.0.12:7400"}' | grep -q 'alertstate=\(pending\|firing\)'; }
  check "node lost: up == 0 and NefeleNodeLost pending" until_ok 60 lost
  alive() { query 'up{job="nefele-silo",instance="10.81.0.11:7400"} == 1' | grep -q .; }
  check "node 1 still scraped" alive

  echo "$p passed, $f failed"
  [ "$f" -eq 0 ]
)
