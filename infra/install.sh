#!/usr/bin/env bash
# Installs what Meshless needs on a fresh Debian/Ubuntu machine that has Node.js: npm packages, the
# Debian packages for NATS and for the real BGP daemons the interop tests peer with, and the native
# socket-option addon for TCP-MD5 and GTSM (services/bgp/native, built offline with gcc and Node's
# headers). Idempotent: it only installs or rebuilds what is missing or changed, so `npm start` and
# `.ci/run` can call it every time.
#   MESHLESS_SKIP_APT=1   never call apt-get (you installed the packages yourself)
#   MESHLESS_APT_MINIMAL=1 only what the local cluster needs (nats-server, bird2), not the test peers,
#                          Chromium or promtool
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1 || [[ -x "$1" ]]; }
have nats-server || need+=(nats-server)
have cc || need+=(gcc libc6-dev)
have make || need+=(make)
have bird || need+=(bird2)
if [[ "${MESHLESS_APT_MINIMAL:-0}" != 1 ]]; then
  have /usr/lib/frr/bgpd || need+=(frr)
  have gobgpd || need+=(gobgpd)
  have ping || need+=(iputils-ping)
  have ip || need+=(iproute2)
  have /usr/bin/chromium || need+=(chromium)   # the dashboard's browser test (headless)
  have promtool || need+=(prometheus)          # promtool: the alert rules' unit tests
  # CNI: the plugins meshless-cni is chained with and delegates to in tests (tuning, portmap,
  # host-local), and nsenter, which wires pods inside their network namespace.
  have /usr/lib/cni/tuning || need+=(containernetworking-plugins)
  have nsenter || need+=(util-linux)
  # `kubectl kustomize k8s/` in the manifest test.
  have kubectl || need+=(kubernetes-client)
fi

if (( ${#need[@]} )); then
  if [[ "${MESHLESS_SKIP_APT:-0}" == 1 ]]; then
    echo "missing Debian packages: ${need[*]} (MESHLESS_SKIP_APT=1, not installing)" >&2
  elif ! have apt-get; then
    echo "missing: ${need[*]}; install them with your package manager" >&2
    exit 1
  else
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    echo "installing Debian packages: ${need[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

# The packages' own services must not run: tests and the local cluster start each daemon
# themselves, with their own configs, sockets and ports.
for svc in bird frr gobgpd nats-server prometheus; do
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# The addon is required: a BGPPeer with a password or ttlSecurity stays down without it, and its
# tests fail. make rebuilds only when services/bgp/native/sockopt.c (or its Makefile) changed.
if ! make -s -C services/bgp/native NODE="$(command -v node)"; then
  echo "building the native socket-option addon (services/bgp/native) failed; see the compiler output above" >&2
  exit 1
fi
