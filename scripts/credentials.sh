# shellcheck shell=bash
# The cluster's credentials, made once on an admin machine: the first admin API key and the
# cluster's TLS material. Sourced by scripts/lib.sh in a checkout; the release installs it as
# /usr/lib/nefele/credentials.sh, which /usr/sbin/nefele-tls and charts-free-deploy/README.md use.
# Needs bash, openssl (TLS), sha256sum, base64, od.

type say >/dev/null 2>&1 || say() { printf '%s\n' "$*" >&2; }

# nefele_admin_key FILE: makes the node's first admin API key in FILE (mode 0600; a directory
# it has to make is 0700) unless FILE holds one already, as k3s writes its kubeconfig; prints what the silo's
# --admin-key takes: "<key id>:<SHA-256 of the secret>". The secret itself never leaves FILE.
nefele_admin_key() {
  local file="$1" id secret token
  if [ ! -s "$file" ]; then
    # A directory made here is root's alone; one that exists keeps its mode (the file is 0600).
    if [ ! -d "$(dirname "$file")" ]; then
      mkdir -p "$(dirname "$file")"
      chmod 0700 "$(dirname "$file")"
    fi
    id="$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    secret="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    (umask 077 && printf 'nfk_%s_%s\n' "$id" "$secret" >"$file.tmp" && mv "$file.tmp" "$file")
  fi
  chmod 0600 "$file"
  token="$(head -n 1 "$file")"
  id="${token:4:16}"
  secret="${token:21}"
  printf '%s:%s\n' "$id" "$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)"
}

# ---- the cluster's TLS material (PEM, made with openssl; see charts-free-deploy/README.md)

# nefele_tls_ca DIR [NAME]: makes the cluster's certificate authority, DIR/ca.pem and DIR/ca.key
# (0600), unless DIR/ca.pem exists. Keep ca.key off the nodes once their certificates are made.
nefele_tls_ca() {
  local dir="$1" name="${2:-nefele}"
  if [ -e "$dir/ca.pem" ] || [ -e "$dir/ca.key" ]; then
    [ -s "$dir/ca.pem" ] && [ -s "$dir/ca.key" ] && return 0
    say "$dir has only one of ca.pem and ca.key; remove it to make a new CA (every certificate then needs remaking)"; return 1
  fi
  mkdir -p "$dir"
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
    -subj "/CN=$name cluster CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null) \
    || { say "openssl could not make the CA in $dir"; return 1; }
  chmod 0644 "$dir/ca.pem"
}

# nefele_tls_cert DIR FILE KIND CN [IP]: makes DIR/FILE.pem and DIR/FILE.key (0600) signed by
# DIR/ca.pem unless they exist. KIND node: a silo's certificate (TLS server and client
# authentication; the IP in its subjectAltName); KIND client: a program's (client authentication
# only: it opens the gateways, never the silo-to-silo port).
nefele_tls_cert() {
  local dir="$1" file="$2" kind="$3" cn="$4" ip="${5:-}" eku san=""
  if [ -e "$dir/$file.pem" ] || [ -e "$dir/$file.key" ]; then
    [ -s "$dir/$file.pem" ] && [ -s "$dir/$file.key" ] && return 0
    say "$dir has only one of $file.pem and $file.key; remove it to make them anew"; return 1
  fi
  case "$kind" in
    node) eku="serverAuth,clientAuth"; san="subjectAltName=DNS:$cn${ip:+,IP:$ip}" ;;
    client) eku="clientAuth" ;;
    *) say "nefele_tls_cert: KIND is node or client, got '$kind'"; return 1 ;;
  esac
  (
    umask 077
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=$eku" ${san:+"$san"} >"$dir/$file.ext"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
      -keyout "$dir/$file.key" -out "$dir/$file.csr" 2>/dev/null &&
    openssl x509 -req -in "$dir/$file.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" \
      -sha256 -days 825 -extfile "$dir/$file.ext" -out "$dir/$file.pem" 2>/dev/null
  ) || { rm -f "$dir/$file.pem" "$dir/$file.key" "$dir/$file.csr" "$dir/$file.ext"; say "openssl could not make $dir/$file.pem"; return 1; }
  rm -f "$dir/$file.csr" "$dir/$file.ext"
  chmod 0644 "$dir/$file.pem"
}
