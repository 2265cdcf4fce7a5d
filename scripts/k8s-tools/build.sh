#!/usr/bin/env bash
# Build the pinned binaries of the Kubernetes test tier from the Go module proxy:
# kube-apiserver, kube-controller-manager and kubectl (k8s.io/kubernetes), etcd 3.6
# (go.etcd.io/etcd/server/v3) and helm v4 (helm.sh/helm/v4).
#
# Binaries go to a cache outside the repo, keyed by version:
#   ${TELESNIFF_CACHE:-$HOME/.cache/telesniff}/bin/<name>-<version>
# with stable symlinks in
#   ${TELESNIFF_CACHE:-$HOME/.cache/telesniff}/k8s/bin/<name>
# A binary already in the cache is not rebuilt (the fast path runs no `go` at all).
# Logs go to stderr; the last line of stdout is the symlink directory.
#
# Usage: scripts/k8s-tools/build.sh [TOOL...]
#   TOOL is one of: kube-apiserver etcd helm kube-controller-manager kubectl
#   (default: all of them). A cold build of everything takes a while on 2 cores:
#   see scripts/k8s-tools/README.md.
#
# k8s.io/kubernetes is consumed as a dependency of a throwaway module generated in a
# temporary directory under the cache: every k8s.io/* staging module that its go.mod
# points at ./staging/src/... is replaced with the published v0.X.Y of the same release.
set -euo pipefail

# Pinned versions. Change them here (and nowhere else).
KUBE_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
HELM_VERSION=v4.3.2

ALL_TOOLS=(kube-apiserver etcd helm kube-controller-manager kubectl)

CACHE="${TELESNIFF_CACHE:-$HOME/.cache/telesniff}"
BIN_CACHE="$CACHE/bin"
LINK_DIR="$CACHE/k8s/bin"

log() { printf '[k8s-tools] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

version_of() {
  case "$1" in
    kube-apiserver | kube-controller-manager | kubectl) echo "$KUBE_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    *) return 1 ;;
  esac
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
}

tools=()
for arg in "$@"; do
  case "$arg" in
    -h | --help) usage; exit 0 ;;
    *) version_of "$arg" >/dev/null || die "unknown tool '$arg' (known: ${ALL_TOOLS[*]})"
       tools+=("$arg") ;;
  esac
done
((${#tools[@]})) || tools=("${ALL_TOOLS[@]}")

target_of() { echo "$BIN_CACHE/$1-$(version_of "$1")"; }

missing_tools() {
  local t
  for t in "${tools[@]}"; do
    [[ -x "$(target_of "$t")" ]] || echo "$t"
  done
}

link_all() {
  mkdir -p "$LINK_DIR"
  local t target link
  for t in "${tools[@]}"; do
    target="$(target_of "$t")"
    link="$LINK_DIR/$t"
    if [[ "$(readlink "$link" 2>/dev/null || true)" != "$target" ]]; then
      ln -sfn "$target" "$link.tmp.$$"
      mv -Tf "$link.tmp.$$" "$link"
    fi
  done
}

# ---------------------------------------------------------------------------
# Fast path: everything is in the cache.
mapfile -t missing < <(missing_tools)
if ((${#missing[@]} == 0)); then
  link_all
  echo "$LINK_DIR"
  exit 0
fi

# ---------------------------------------------------------------------------
# Slow path: build what is missing, one builder at a time. Everything the tools print
# goes to stderr; fd 3 keeps the real stdout for the final line.
exec 3>&1 1>&2
command -v go >/dev/null || die "the go command is needed to build ${missing[*]}"
command -v flock >/dev/null || die "flock (util-linux) is needed"
mkdir -p "$BIN_CACHE" "$CACHE/build"
exec 9>"$CACHE/build/.lock"
flock 9
mapfile -t missing < <(missing_tools) # another builder may have finished meanwhile

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="-trimpath -buildvcs=false"
export CGO_ENABLED=0
unset GOOS GOARCH GOWORK
export GOWORK=off

go_major_minor="$(go env GOVERSION)"
log "using $go_major_minor ($(command -v go)), GOTOOLCHAIN=$GOTOOLCHAIN"

WORK="$(mktemp -d "$CACHE/build/work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

want() { # is tool $1 among the missing ones?
  local t
  for t in "${missing[@]}"; do [[ "$t" == "$1" ]] && return 0; done
  return 1
}

# Commit time of a module version as the proxy reports it (reproducible build date).
module_time() { # module@version
  go mod download -json "$1" | sed -n 's/^\s*"Time": "\(.*\)",\{0,1\}$/\1/p' | head -n1
}

module_gomod() { # module@version -> path of its downloaded go.mod
  go mod download -json "$1" | sed -n 's/^\s*"GoMod": "\(.*\)",\{0,1\}$/\1/p' | head -n1
}

install_binary() { # built-file tool
  local built="$1" tool="$2" target
  target="$(target_of "$tool")"
  chmod 0755 "$built"
  mv -f "$built" "$target.tmp.$$"
  mv -f "$target.tmp.$$" "$target"
  log "installed $target"
}

check_version() { # binary expected-substring args...
  local bin="$1" expect="$2" out
  shift 2
  out="$("$bin" "$@" 2>&1)" || die "$bin $* failed: $out"
  [[ "$out" == *"$expect"* ]] || die "$bin $* printed '$out', expected '$expect'"
}

quiet() { # cmd... : show its output only when it fails
  local out rc=0
  out="$("$@" 2>&1)" || rc=$?
  ((rc == 0)) || printf '%s\n' "$out" >&2
  return "$rc"
}

timed() { # label cmd...
  local label="$1" start rc=0
  shift
  start=$SECONDS
  "$@" || rc=$?
  log "$label: $((SECONDS - start)) s (exit $rc)"
  return "$rc"
}

# ---------------------------------------------------------------------------
build_kube() {
  local pkgs=() t
  for t in kube-apiserver kube-controller-manager kubectl; do
    want "$t" && pkgs+=("k8s.io/kubernetes/cmd/$t")
  done
  ((${#pkgs[@]})) || return 0

  local mod="$WORK/kubernetes" staging="v0.${KUBE_VERSION#v1.}"
  mkdir -p "$mod/out"
  log "resolving k8s.io/kubernetes@$KUBE_VERSION (staging modules at $staging)"
  local gomod build_date major minor
  gomod="$(cd "$mod" && module_gomod "k8s.io/kubernetes@$KUBE_VERSION")"
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@$KUBE_VERSION"
  build_date="$(cd "$mod" && module_time "k8s.io/kubernetes@$KUBE_VERSION")"
  major="${KUBE_VERSION#v}"; major="${major%%.*}"
  minor="${KUBE_VERSION#v*.}"; minor="${minor%%.*}"
  {
    printf 'module telesniff.invalid/k8s-tools/kubernetes\n\ngo 1.26.0\n\n'
    printf 'require k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
    sed -n "s#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/.*#\t\1 => \1 $staging#p" "$gomod"
    printf ')\n'
  } >"$mod/go.mod"
  grep -q "k8s.io/apiserver => k8s.io/apiserver $staging" "$mod/go.mod" ||
    die "no staging replace directives derived from $gomod"
  (cd "$mod" && timed "go get (kubernetes)" quiet go get "${pkgs[@]/%/@$KUBE_VERSION}")

  local ldflags="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=$build_date"
  done
  log "building ${pkgs[*]}"
  (cd "$mod" && timed "go build (${pkgs[*]##*/})" go build -ldflags "$ldflags" -o "$mod/out/" "${pkgs[@]}")

  for t in kube-apiserver kube-controller-manager kubectl; do
    want "$t" || continue
    if [[ "$t" == kubectl ]]; then
      check_version "$mod/out/$t" "$KUBE_VERSION" version --client
    else
      check_version "$mod/out/$t" "Kubernetes $KUBE_VERSION" --version
    fi
    install_binary "$mod/out/$t" "$t"
  done
}

build_etcd() {
  want etcd || return 0
  # The etcd program is the main package at the root of go.etcd.io/etcd/server/v3. That
  # module's go.mod replaces its sibling modules with relative paths, so it cannot be
  # `go install`ed directly: it is required from a throwaway module instead.
  local mod="$WORK/etcd"
  mkdir -p "$mod/out"
  printf 'module telesniff.invalid/k8s-tools/etcd\n\ngo 1.26.0\n' >"$mod/go.mod"
  (cd "$mod" && timed "go get (etcd)" quiet go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
  local ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-proxy-$ETCD_VERSION"
  (cd "$mod" && timed "go build (etcd)" go build -ldflags "$ldflags" -o "$mod/out/etcd" go.etcd.io/etcd/server/v3)
  check_version "$mod/out/etcd" "etcd Version: ${ETCD_VERSION#v}" --version
  install_binary "$mod/out/etcd" etcd
}

build_helm() {
  want helm || return 0
  # helm's go.mod has no replace directives: `go install pkg@version` builds it with
  # exactly the dependency versions upstream pinned.
  local gobin="$WORK/helm"
  mkdir -p "$gobin"
  local ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v4/internal/version.metadata="
  ldflags+=" -X helm.sh/helm/v4/internal/version.gitCommit=module-proxy-$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
  (cd "$WORK" && timed "go install (helm)" env GOBIN="$gobin" go install -ldflags "$ldflags" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION")
  check_version "$gobin/helm" "Version:\"$HELM_VERSION\"" version
  install_binary "$gobin/helm" helm
}

if ((${#missing[@]})); then
  log "building into $BIN_CACHE: ${missing[*]}"
  build_etcd
  build_helm
  build_kube
fi

mapfile -t missing < <(missing_tools)
((${#missing[@]} == 0)) || die "still missing after the build: ${missing[*]}"
link_all
echo "$LINK_DIR" >&3
