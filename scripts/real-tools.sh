#!/usr/bin/env bash
# Builds the real tools the tests use from their Go modules, at the versions pinned in
# tools/versions.env, into a cache keyed by tool and version (outside git). A tool already in the
# cache is not built again. Prints each tool, its version line and how long it took.
#
#   bash scripts/real-tools.sh [SET...]      SET: kubernetes kubeadm etcd crictl pulumi all (default: all)
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

# finish KEY EXPECTED VERSION-COMMAND...: records the tool's own version line, which must name
# EXPECTED (the pinned version), and how long the build took.
finish() {
    local key=$1 expected=$2
    shift 2
    local line
    line=$("$@" 2>&1 | grep -m 1 -v '^\s*$' || true)
    case $line in
        *"$expected"*) ;;
        *) echo "version check: '$*' printed '${line:-nothing}', not $expected" >>"$buildlog"; fail "$key" "$key" "$expected" "$* (version check)" "$buildlog" ;;
    esac
    printf '%s\n' "$line" > "$cache/$key/built"
    printf '%-34s %s (built in %d s)\n' "$key" "$line" "$(( $(date +%s) - started ))"
    rm -rf "$work"
}

# linked_version BINARY VARIABLE: a plugin has no version flag (the engine asks it over gRPC), so
# the version the build linked into VARIABLE, as `go version -m` reads it from the binary.
linked_version() {
    go version -m "$1" | sed -n "s/.*-X $(printf '%s' "$2" | sed 's/[.\/]/\\&/g')=\([^ \"]*\).*/$(basename "$1") \1 (linked, go version -m)/p"
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
    finish "$key" "$version" "$cache/$key/bin/kubeadm" version -o short
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
        finish "$key" "${v#v}" "$cache/$key/bin/etcd" --version
    done
    v=$ETCDCTL_VERSION key=etcdctl-$ETCDCTL_VERSION
    begin "$key" && return 0
    wrapper etcdctl
    cd "$work"
    run "$key" go.etcd.io/etcd/etcdctl/v3 "$v" "go mod edit -require" "$buildlog" -- go mod edit -require="go.etcd.io/etcd/etcdctl/v3@$v" -require="go.etcd.io/etcd/etcdutl/v3@$v"
    run "$key" go.etcd.io/etcd/etcdctl/v3 "$v" "go mod tidy" "$buildlog" -- go mod tidy
    run "$key" go.etcd.io/etcd/etcdctl/v3 "$v" "go build etcdctl etcdutl" "$buildlog" -- go build -trimpath -ldflags "-s -w" -o "$cache/$key/bin/" go.etcd.io/etcd/etcdctl/v3 go.etcd.io/etcd/etcdutl/v3
    cd "$root"
    finish "$key" "${v#v}" "$cache/$key/bin/etcdctl" version
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
    finish "$key" "${v#v}" "$cache/$key/bin/crictl" --version
}

# --- Pulumi -----------------------------------------------------------------------------------
# The CLI: pkg/v3 replaces its sdk with ../sdk (required at the same version here instead) and
# atotto/clipboard with a fork (kept). Without the version ldflag `pulumi version` prints nothing
# and the Automation API refuses the CLI.
build_pulumi() {
    local v=$PULUMI_VERSION key=pulumi-$PULUMI_VERSION module=github.com/pulumi/pulumi/pkg/v3
    if ! begin "$key"; then
        wrapper pulumi
        cd "$work"
        run "$key" "$module" "$v" "go mod edit" "$buildlog" -- go mod edit -require="$module@$v" -require="github.com/pulumi/pulumi/sdk/v3@$v" \
            -replace=github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e
        run "$key" "$module" "$v" "go mod tidy" "$buildlog" -- go mod tidy
        run "$key" "$module" "$v" "go build pulumi" "$buildlog" -- go build -trimpath -tags osusergo \
            -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" -o "$cache/$key/bin/pulumi" "$module/cmd/pulumi"
        cd "$root"
        finish "$key" "$v" "$cache/$key/bin/pulumi" version
    fi

    v=$PULUMI_YAML_VERSION key=pulumi-language-yaml-$PULUMI_YAML_VERSION module=github.com/pulumi/pulumi-yaml
    if ! begin "$key"; then
        wrapper pulumi-yaml
        cd "$work"
        run "$key" "$module" "$v" "go mod edit -require" "$buildlog" -- go mod edit -require="$module@$v"
        run "$key" "$module" "$v" "go mod tidy" "$buildlog" -- go mod tidy
        # No -trimpath: with it Go leaves -ldflags out of the build info linked_version reads.
        run "$key" "$module" "$v" "go build pulumi-language-yaml" "$buildlog" -- go build \
            -ldflags "-s -w -X $module/pkg/version.Version=$v" -o "$cache/$key/bin/pulumi-language-yaml" "$module/cmd/pulumi-language-yaml"
        cd "$root"
        finish "$key" "$v" linked_version "$cache/$key/bin/pulumi-language-yaml" "$module/pkg/version.Version"
    fi

    # The Kubernetes provider: "<tag> <module version>"; its sdk is required at the tag instead of ../sdk.
    local tag
    read -r tag v <<<"$PULUMI_KUBERNETES"
    key=pulumi-resource-kubernetes-$tag module=github.com/pulumi/pulumi-kubernetes/provider/v4
    if ! begin "$key"; then
        wrapper pulumi-kubernetes
        cd "$work"
        run "$key" "$module" "$v" "go mod edit" "$buildlog" -- go mod edit -require="$module@$v" -require="github.com/pulumi/pulumi-kubernetes/sdk/v4@$tag"
        run "$key" "$module" "$v" "go mod download" "$buildlog" -- go mod download "$module"
        local cmd
        cmd=$(go list -m -f '{{.Dir}}' "$module")/cmd/pulumi-resource-kubernetes
        run "$key" "$module" "$v" "write schema-embed.json" "$buildlog" -- node -e '
            const fs = require("fs");
            const [dir, version] = process.argv.slice(1);
            const schema = JSON.parse(fs.readFileSync(dir + "/schema.json", "utf8"));
            schema.version = version;
            fs.writeFileSync("schema-embed.json", JSON.stringify(schema));
            fs.writeFileSync("terraform-mapping-embed.json", JSON.stringify(JSON.parse(fs.readFileSync(dir + "/terraform-mapping.json", "utf8"))));
        ' "$cmd" "${tag#v}"
        run "$key" "$module" "$v" "go mod tidy" "$buildlog" -- go mod tidy
        run "$key" "$module" "$v" "go build pulumi-resource-kubernetes" "$buildlog" -- go build \
            -ldflags "-s -w -X $module/pkg/version.Version=${tag#v}" -o "$cache/$key/bin/pulumi-resource-kubernetes" .
        cd "$root"
        finish "$key" "${tag#v}" linked_version "$cache/$key/bin/pulumi-resource-kubernetes" "$module/pkg/version.Version"
    fi
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
        pulumi) build_pulumi ;;
        all) build_etcd; build_crictl; build_kubeadm; build_kubernetes; build_pulumi ;;
        *) log "real-tools: unknown set '$s'; accepted: kubernetes kubeadm etcd crictl pulumi all"; exit 2 ;;
    esac
done
printf '%-34s %d s, cache %s (%s)\n' "real tools ready" "$(( $(date +%s) - total ))" "$cache" "$(du -sh "$cache" 2>/dev/null | cut -f1)"
