# nef_stale ROOT NEF: true when NEF (the native nef) is missing, or older than one of the sources it is
# built from: the .cs, .csproj, .proto and .props files of src/Nefele.Cli, src/Nefele.Abstractions,
# src/Nefele.Protocol, src/Nefele.Process and protos/ (their bin/ and obj/ left out), the root Directory.*.props and
# global.json. POSIX sh with shell built-ins only (no process is started): bin/nef runs it before
# every command, and scripts/lib.sh's nefele_build_nef uses it too, so the two agree.
nef_stale() {
  [ -x "$2" ] || return 0
  for _nef_f in "$1"/Directory.*.props "$1"/global.json; do
    [ "$_nef_f" -nt "$2" ] && return 0
  done
  _nef_newer_under "$1/src/Nefele.Cli" "$2" || _nef_newer_under "$1/src/Nefele.Abstractions" "$2" \
    || _nef_newer_under "$1/src/Nefele.Protocol" "$2" || _nef_newer_under "$1/src/Nefele.Process" "$2" \
    || _nef_newer_under "$1/protos" "$2"
}

# _nef_newer_under DIR NEF: true at the first source file under DIR newer than NEF.
_nef_newer_under() {
  local f
  for f in "$1"/*; do
    case "$f" in
      */bin | */obj) ;;
      *.cs | *.csproj | *.proto | *.props) [ "$f" -nt "$2" ] && return 0 ;;
      *) [ -d "$f" ] && _nef_newer_under "$f" "$2" && return 0 ;;
    esac
  done
  return 1
}
