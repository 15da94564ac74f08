import { shellWord } from "./scripts";

/**
 * Shell functions of a preflight: `check NAME MESSAGE` records a failure unless NAME is skipped
 * (kubeadm's --ignore-preflight-errors: case-insensitive names, or "all"); `report` lists every
 * failure with its name and exits 1, or lets the script go on.
 */
export function checkFunctions(ignore: string[]): string {
    return `ignored=(${ignore.map(x => shellWord(x.toLowerCase())).join(" ")})
failures=()
check() { # check NAME MESSAGE: record a failure unless NAME is ignored
    local lower name
    lower=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')
    for name in \${ignored[@]+"\${ignored[@]}"}; do
        if [ "$name" = all ] || [ "$name" = "$lower" ]; then echo "[preflight] ignored $1: $2"; return 0; fi
    done
    failures+=("$1: $2")
}
report() {
    if [ "\${#failures[@]}" -gt 0 ]; then
        printf '[%s] %s: %d check(s) failed:\\n' "$HOST" "$STEP" "\${#failures[@]}" >&2
        printf '  - %s\\n' "\${failures[@]}" >&2
        printf 'Fix them, or skip a check by adding its name to ignorePreflightErrors.\\n' >&2
        exit 1
    fi
}
`;
}

/**
 * kubeadm's Port-N checks: each "port@address" must be free there (or on a wildcard), unless
 * `$ours` is true (this cluster's own component already listens there).
 */
export function portChecks(listeners: string[], owner: string): string {
    return `command -v ss >/dev/null 2>&1 || fail "ss (iproute2) is needed to check which ports are in use; install iproute2"
listening=$(ss -Hltn)
listeners=(${listeners.map(shellWord).join(" ")})
for entry in "\${listeners[@]}"; do
    port=\${entry%@*} addr=\${entry#*@}
    in_use=$(printf '%s\\n' "$listening" | awk -v a="$addr" -v p="$port" '$4 == a":"p || $4 == "["a"]:"p || $4 == "0.0.0.0:"p || $4 == "*:"p || $4 == "[::]:"p')
    if [ -n "$in_use" ] && [ "$ours" != true ]; then
        check "Port-$port" "port $port is in use on $addr ($(printf '%s' "$in_use" | awk 'NR == 1 { print $4 }')) and ${owner} of this cluster is not what runs there; stop what listens there"
    fi
done
`;
}
