#!/usr/bin/env bash
# Builds the real tools the tests use from their Go modules, at the versions pinned in
# tools/versions.env, into a cache keyed by tool and version (outside git). A tool already in the
# cache is not built again. Prints each tool, its version line and how long it took.
#
#   bash scripts/real-tools.sh [SET...]      SET: kubernetes kubeadm etcd crictl all (default: all)
#   bash scripts/real-tools.sh --dir         prints the cache directory
#
# The cache is $PULUMI_KUBEADM_TOOLS (default ~/.cache/pulumi-kubeadm/tools); Go's own caches
# (GOMODCACHE, GOCACHE) are wherever `go env` says. Each tool lands in <cache>/<tool>-<version>/bin.
# PULUMI_KUBEADM_TOOL_VERSIONS names another versions file (the tests use it to try an unserved version).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/versions.env
source "${PULUMI_KUBEADM_TOOL_VERSIONS:-$root/tools/versions.env}"
cache=${PULUMI_KUBEADM_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-kubeadm/tools}
wrappers=$root/tools/go

if [ "${1:-}" = "--dir" ]; then echo "$cache"; exit 0; fi

export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
command -v go >/dev/null 2>&1 || { echo "real-tools: no go on PATH; install Go 1.26.8 or newer (scripts/install.sh does)" >&2; exit 1; }

log() { printf '%s\n' "$*" >&2; }

# Stops the build naming the tool, the module and version, the step and Go's own words.
fail() {
    local tool=$1 module=$2 version=$3 step=$4 output=$5
    log ""
    log "real-tools: cannot build $tool: $module@$version failed at '$step'."
    log "--- go said (last 25 lines; the whole output is in $output):"
    tail -n 25 "$output" >&2 || true
    log "---"
    log "Try: go list -m -json $module@$version   (is this version served by the module proxy?)"
    log "     then pin a served version in tools/versions.env, or fix the wrapper in tools/go/."
    exit 1
}

# run TOOL MODULE VERSION STEP LOG -- command...: runs one step, failing with its output.
run() {
    local tool=$1 module=$2 version=$3 step=$4 output=$5
    shift 6
    if ! "$@" >>"$output" 2>&1; then fail "$tool" "$module" "$version" "$step" "$output"; fi
}

# begin KEY: 0 when <cache>/KEY is already built (and says so), else prepares an empty work dir.
begin() {
    local key=$1
    started=$(date +%s)
    if [ -f "$cache/$key/built" ]; then
        printf '%-34s %s (cached)\n' "$key" "$(head -n 1 "$cache/$key/built")"
        return 0
    fi
    work=$cache/.work/$key
    rm -rf "${work:?}" "${cache:?}/${key:?}"
    mkdir -p "$work" "$cache/$key/bin"
    buildlog=$work/build.log
    : > "$buildlog"
    return 1
}

# finish KEY VERSION-COMMAND...: records the tool's own version line and how long the build took.
finish() {
    local key=$1
    shift
    local line
    line=$("$@" 2>&1 | grep -m 1 -v '^\s*$' || true)
    [ -n "$line" ] || { echo "(no version output)" >>"$buildlog"; fail "$key" "$key" "" "$* (version check)" "$buildlog"; }
    printf '%s\n' "$line" > "$cache/$key/built"
    printf '%-34s %s (built in %d s)\n' "$key" "$line" "$(( $(date +%s) - started ))"
    rm -rf "$work"
}

# A wrapper module of ours: tools/go/FAMILY's files (if any) copied into the work dir, then `go mod init`.
wrapper() {
    local family=$1
    if [ -d "$wrappers/$family" ]; then cp -r "$wrappers/$family/." "$work/"; chmod -R u+w "$work"; fi
    (cd "$work" && go mod init "pulumi-kubeadm.tools/$family" >/dev/null 2>&1)
}

# --- Kubernetes -------------------------------------------------------------------------------
# k8s.io/kubernetes replaces every staging module (k8s.io/api, ...) with ./staging/src/...; the
# wrapper replaces each with its published version (v1.37.2 -> v0.37.2), read from that version's
# own go.mod, and mirrors its godebug line.
kubernetes_build() {
    local version=$1 key=$2
    shift 2
    local commands=("$@")
    local module=k8s.io/kubernetes staging=v0.${version#v1.}
    begin "$key" && return 0
    wrapper kubernetes
    {
        printf '//go:build tools\n\npackage tools\n\nimport (\n'
        for c in "${commands[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
        printf ')\n'
    } > "$work/tools.go"
    cd "$work"
    run "$key" "$module" "$version" "go mod download" "$buildlog" -- go mod download -json "$module@$version"
    local gomod godebug
    gomod=$(go list -m -f '{{.GoMod}}' "$module@$version")
    run "$key" "$module" "$version" "go mod edit -require" "$buildlog" -- go mod edit -require="$module@$version"
    local edits=()
    while read -r p; do edits+=("-replace=$p=$p@$staging"); done < <(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$gomod")
    [ "${#edits[@]}" -gt 0 ] || { echo "no staging replaces in $gomod" >>"$buildlog"; fail "$key" "$module" "$version" "read staging replaces" "$buildlog"; }
    run "$key" "$module" "$version" "go mod edit -replace (staging)" "$buildlog" -- go mod edit "${edits[@]}"
    godebug=$(sed -n 's/^godebug \(.*\)/\1/p' "$gomod")
    [ -z "$godebug" ] || run "$key" "$module" "$version" "go mod edit -godebug" "$buildlog" -- go mod edit -godebug="$godebug"
    run "$key" "$module" "$version" "go mod tidy" "$buildlog" -- go mod tidy
    local minor=${version#v1.}; minor=${minor%%.*}
    local built
    built=$(go list -m -json "$module@$version" | sed -n 's/^[[:space:]]*"Time": "\(.*\)",$/\1/p')
    local x=""
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        x+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$built"
    done
    local packages=()
    for c in "${commands[@]}"; do packages+=("k8s.io/kubernetes/cmd/$c"); done
    run "$key" "$module" "$version" "go build ${commands[*]}" "$buildlog" -- go build -trimpath -ldflags "-s -w$x" -o "$cache/$key/bin/" "${packages[@]}"
    cd "$root"
    finish "$key" "$cache/$key/bin/kubeadm" version -o short
}

build_kubernetes() {
    for v in $KUBERNETES_FULL; do
        kubernetes_build "$v" "kubernetes-$v" kubeadm kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl
    done
}

build_kubeadm() {
    for v in $KUBERNETES_KUBEADM_ONLY; do kubernetes_build "$v" "kubeadm-$v" kubeadm; done
}

# --- etcd and crictl --------------------------------------------------------------------------
build_etcd() {
    local v key
    for v in $ETCD_VERSIONS; do
        key=etcd-$v
        begin "$key" && continue
        wrapper etcd
        cd "$work"
        run "$key" go.etcd.io/etcd/server/v3 "$v" "go mod edit -require" "$buildlog" -- go mod edit -require="go.etcd.io/etcd/server/v3@$v"
        run "$key" go.etcd.io/etcd/server/v3 "$v" "go mod tidy" "$buildlog" -- go mod tidy
        run "$key" go.etcd.io/etcd/server/v3 "$v" "go build etcd" "$buildlog" -- go build -trimpath -ldflags "-s -w" -o "$cache/$key/bin/etcd" go.etcd.io/etcd/server/v3
        cd "$root"
        finish "$key" "$cache/$key/bin/etcd" --version
    done
    v=$ETCDCTL_VERSION key=etcdctl-$ETCDCTL_VERSION
    begin "$key" && return 0
    wrapper etcdctl
    cd "$work"
    run "$key" go.etcd.io/etcd/etcdctl/v3 "$v" "go mod edit -require" "$buildlog" -- go mod edit -require="go.etcd.io/etcd/etcdctl/v3@$v" -require="go.etcd.io/etcd/etcdutl/v3@$v"
    run "$key" go.etcd.io/etcd/etcdctl/v3 "$v" "go mod tidy" "$buildlog" -- go mod tidy
    run "$key" go.etcd.io/etcd/etcdctl/v3 "$v" "go build etcdctl etcdutl" "$buildlog" -- go build -trimpath -ldflags "-s -w" -o "$cache/$key/bin/" go.etcd.io/etcd/etcdctl/v3 go.etcd.io/etcd/etcdutl/v3
    cd "$root"
    finish "$key" "$cache/$key/bin/etcdctl" version
}

build_crictl() {
    local v=$CRICTL_VERSION key=crictl-$CRICTL_VERSION module=sigs.k8s.io/cri-tools
    begin "$key" && return 0
    wrapper crictl
    cd "$work"
    run "$key" "$module" "$v" "go mod edit -require" "$buildlog" -- go mod edit -require="$module@$v"
    run "$key" "$module" "$v" "go mod tidy" "$buildlog" -- go mod tidy
    run "$key" "$module" "$v" "go build crictl" "$buildlog" -- go build -trimpath -ldflags "-s -w -X $module/pkg/version.Version=${v#v}" -o "$cache/$key/bin/crictl" "$module/cmd/crictl"
    cd "$root"
    finish "$key" "$cache/$key/bin/crictl" --version
}

sets=("$@")
[ "${#sets[@]}" -gt 0 ] || sets=(all)
mkdir -p "$cache"
total=$(date +%s)
for s in "${sets[@]}"; do
    case $s in
        kubernetes) build_kubernetes ;;
        kubeadm) build_kubeadm ;;
        etcd) build_etcd ;;
        crictl) build_crictl ;;
        all) build_etcd; build_crictl; build_kubeadm; build_kubernetes ;;
        *) log "real-tools: unknown set '$s'; accepted: kubernetes kubeadm etcd crictl all"; exit 2 ;;
    esac
done
printf '%-34s %d s, cache %s (%s)\n' "real tools ready" "$(( $(date +%s) - total ))" "$cache" "$(du -sh "$cache" 2>/dev/null | cut -f1)"
