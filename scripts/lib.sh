# Shared by scripts/up, scripts/test, scripts/bench: install what is missing, build.
# Every step is idempotent: a second run finds everything in place and does nothing.

NEFELE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NEFELE_CONFIG="${NEFELE_CONFIG:-Release}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say() { printf '%s\n' "$*" >&2; }

# Debian packages the build and the tests need. Looked up by command/file, installed only if absent.
nefele_install_deps() {
  local missing=()
  command -v protoc-c >/dev/null 2>&1 || missing+=(protobuf-c-compiler)
  [ -e /usr/include/protobuf-c/protobuf-c.h ] || missing+=(libprotobuf-c-dev)
  command -v make >/dev/null 2>&1 || missing+=(make)
  command -v cc >/dev/null 2>&1 || missing+=(gcc)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
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
  make -s -C "$NEFELE_ROOT/native" >&2
  say "building the solution ($NEFELE_CONFIG) ..."
  dotnet build "$NEFELE_ROOT/Nefele.Orleans.sln" -c "$NEFELE_CONFIG" -nologo -v q -clp:NoSummary >&2
}

nefele_dll() { # nefele_dll PROJECT ASSEMBLY
  printf '%s/src/%s/bin/%s/net10.0/%s.dll' "$NEFELE_ROOT" "$1" "$NEFELE_CONFIG" "$2"
}
