import { createHash } from "node:crypto";

/**
 * Shell scripts for remote steps. Every script: bash with `set -euo pipefail`, idempotent (files
 * are replaced atomically only when content, mode or owner differ, and it says what changed),
 * failures name the host and the step. Secret file contents never appear in the script: they
 * arrive on stdin, one "path base64" line each.
 */

export interface PlacedFile {
    path: string;
    /** Octal mode, e.g. "0644"; keys are "0600" as kubeadm writes them. */
    mode: string;
    /** Public content, written into the script (and so visible in `pulumi preview --diff`). */
    content?: string;
    /** The content comes on stdin; the script only names the file. */
    secret?: boolean;
    /** A shell function run as `NAME PATH TMP` before TMP replaces PATH; it fails the step to keep PATH as it is. */
    check?: { name: string; definition: string };
}

export interface ScriptContext {
    host: string;
    step: string;
}

/** The text a remote.Command runs: bash with the script verbatim, leaving stdin free for secrets. */
export function remoteBash(script: string, ctx: ScriptContext): string {
    const end = heredocDelimiter(script, `PULUMI_KUBEADM_${digest(script).slice(0, 12).toUpperCase()}`);
    return `bash -c "$(cat <<'${end}'\n${script}${script.endsWith("\n") ? "" : "\n"}${end}\n)" ${shellWord(`${ctx.host}/${ctx.step}`)}`;
}

export function scriptHeader(ctx: ScriptContext): string {
    return [
        "set -euo pipefail",
        "umask 077",
        `HOST=${shellWord(ctx.host)}`,
        `STEP=${shellWord(ctx.step)}`,
        "fail() { printf '[%s] %s: %s\\n' \"$HOST\" \"$STEP\" \"$*\" >&2; exit 1; }",
        "",
    ].join("\n");
}

/**
 * Where a host lists the files a step placed and has not yet acted on (restarts, reloads): a path
 * is added before its file is moved into place and removed once the step got to its end, so a run
 * that stopped in between (a dropped connection) acts on it the next time, though the file is
 * already identical.
 */
export const RESTART_PENDING = "/var/lib/pulumi-kubeadm/restart-pending";

/**
 * Places files atomically; `$changed` then lists the paths that changed, and those a stopped run
 * placed without acting on them (RESTART_PENDING). Every file is staged (written beside its path,
 * checked) before any moves: a failed check or a missing secret changes nothing. `beforeMove`
 * runs between, with the paths about to change in `$staged_targets`. Secret files are read
 * from stdin and must all be present there (stdin is read once: one call per script places
 * secrets). `continued`: more files placed later in a script that already placed some (the
 * functions exist, `$changed` goes on). The script ends with summary() or pendingDone().
 */
export function placeFilesScript(files: PlacedFile[], continued = false, beforeMove = ""): string {
    const lines: string[] = continued ? [] : ["changed=()", ...fileFunctions()];
    return placeLines(files, lines, beforeMove);
}

/**
 * `stage PATH MODE TMP` (TMP queued to replace PATH unless identical), `place_staged` (every
 * queued path marked pending, then moved into place; each joins `$changed`), `place PATH MODE TMP`
 * (both at once), `tmpfile PATH` (a temporary file beside PATH) and `pending_done` (what
 * `$changed` lists is no longer pending): atomic writes
 * of content made on the host.
 */
export function fileFunctions(): string[] {
    return [
        `PENDING=${RESTART_PENDING}`,
        "staged_targets=()",
        "staged_tmps=()",
        "is_pending() { [ -f \"$PENDING\" ] && grep -qxF -- \"$1\" \"$PENDING\"; }",
        "stage() { # stage PATH MODE TMP: queue TMP to replace PATH unless identical (content, mode, owner root)",
        "    local target=$1 mode=$2 tmp=$3",
        "    if [ -f \"$target\" ] && cmp -s \"$tmp\" \"$target\" && [ \"$(stat -c '%a %u %g' \"$target\")\" = \"${mode#0} 0 0\" ]; then",
        "        rm -f \"$tmp\"",
        "        if is_pending \"$target\"; then",
        "            changed+=(\"$target\")",
        "            echo \"changed $target (placed by a run that stopped before acting on it)\"",
        "        fi",
        "        return 0",
        "    fi",
        "    if ! { chown 0:0 \"$tmp\" && chmod \"$mode\" \"$tmp\"; }; then rm -f \"$tmp\"; fail \"cannot write $target\"; fi",
        "    staged_targets+=(\"$target\")",
        "    staged_tmps+=(\"$tmp\")",
        "}",
        "place_staged() { # place_staged: mark every staged path pending, then move each into place",
        "    local i p",
        "    [ \"${#staged_targets[@]}\" -gt 0 ] || return 0",
        "    install -d -m 0700 -o 0 -g 0 \"$(dirname \"$PENDING\")\" || fail \"cannot create $(dirname \"$PENDING\")\"",
        "    for p in \"${staged_targets[@]}\"; do is_pending \"$p\" || printf '%s\\n' \"$p\" >>\"$PENDING\" || fail \"cannot write $PENDING\"; done",
        "    for i in \"${!staged_targets[@]}\"; do",
        "        mv -f \"${staged_tmps[$i]}\" \"${staged_targets[$i]}\" || fail \"cannot write ${staged_targets[$i]}\"",
        "        changed+=(\"${staged_targets[$i]}\")",
        "        echo \"changed ${staged_targets[$i]}\"",
        "    done",
        "    staged_targets=()",
        "    staged_tmps=()",
        "}",
        "place() { # place PATH MODE TMP: move TMP over PATH unless identical",
        "    stage \"$@\"",
        "    place_staged",
        "}",
        "tmpfile() { # tmpfile PATH: a temporary file beside PATH, for an atomic rename",
        "    local dir",
        "    dir=$(dirname \"$1\")",
        "    [ -d \"$dir\" ] || install -d -m 0755 -o 0 -g 0 \"$dir\" || fail \"cannot create $dir\"",
        "    mktemp \"$dir/.pulumi-kubeadm.XXXXXX\"",
        "}",
        "pending_done() { # pending_done: the step acted on what it changed; those paths are no longer pending",
        "    local tmp",
        "    [ -f \"$PENDING\" ] || return 0",
        "    tmp=$(mktemp \"$PENDING.XXXXXX\")",
        "    grep -vxF -f <(printf '%s\\n' ${changed[@]+\"${changed[@]}\"}) \"$PENDING\" >\"$tmp\" || true",
        "    if [ -s \"$tmp\" ]; then mv -f \"$tmp\" \"$PENDING\"; else rm -f \"$tmp\" \"$PENDING\"; fi",
        "}",
    ];
}

function placeLines(files: PlacedFile[], lines: string[], beforeMove: string): string {
    const checks = new Map(files.flatMap(f => (f.check ? [[f.check.name, f.check.definition] as const] : [])));
    lines.push(...[...checks.values()].map(d => d.replace(/\n$/, "")));
    const secrets = files.filter(f => f.secret);
    const checked = secrets.filter(f => f.check);
    if (secrets.length > 0) {
        lines.push(
            "declare -A secret_mode=(" + secrets.map(f => `[${shellWord(f.path)}]=${f.mode}`).join(" ") + ")",
            "declare -A secret_seen=()",
            ...(checked.length ? ["declare -A secret_check=(" + checked.map(f => `[${shellWord(f.path)}]=${f.check!.name}`).join(" ") + ")"] : []),
            "while IFS=' ' read -r target data; do",
            "    [ -n \"$target\" ] || continue",
            "    [ -n \"${secret_mode[$target]:-}\" ] || fail \"unexpected secret file on stdin: $target\"",
            "    tmp=$(tmpfile \"$target\")",
            "    printf '%s' \"$data\" | base64 -d > \"$tmp\" || fail \"secret for $target is not base64\"",
            ...(checked.length ? ["    [ -z \"${secret_check[$target]:-}\" ] || \"${secret_check[$target]}\" \"$target\" \"$tmp\""] : []),
            "    stage \"$target\" \"${secret_mode[$target]}\" \"$tmp\"",
            "    secret_seen[$target]=1",
            "done",
            "for target in \"${!secret_mode[@]}\"; do",
            "    [ -n \"${secret_seen[$target]:-}\" ] || fail \"secret file $target missing from stdin\"",
            "done",
        );
    }
    for (const f of files.filter(x => !x.secret)) {
        const content = f.content ?? "";
        lines.push(`tmp=$(tmpfile ${shellWord(f.path)})`);
        if (content.endsWith("\n") && !content.includes("\r")) {
            const end = heredocDelimiter(content, `EOF_${digest(content).slice(0, 10).toUpperCase()}`);
            lines.push(`cat > "$tmp" <<'${end}'`, content.replace(/\n$/, ""), end);
        } else {
            lines.push(`printf '%s' ${shellWord(Buffer.from(content).toString("base64"))} | base64 -d > "$tmp"`);
        }
        if (f.check) lines.push(`${f.check.name} ${shellWord(f.path)} "$tmp"`);
        lines.push(`stage ${shellWord(f.path)} ${f.mode} "$tmp"`);
    }
    if (beforeMove) lines.push(beforeMove.replace(/\n$/, ""));
    lines.push("place_staged");
    return lines.join("\n") + "\n";
}

/** stdin for placeFilesScript: one "path base64" line per secret file. */
export function secretStdin(files: { path: string; content: string }[]): string {
    return files.map(f => `${f.path} ${Buffer.from(f.content).toString("base64")}\n`).join("");
}

/** A directory created with kubeadm's mode when missing (an existing one is left as it is). */
export function ensureDir(dir: string, mode: string): string {
    return `[ -d ${shellWord(dir)} ] || { install -d -m ${mode} -o 0 -g 0 ${shellWord(dir)} && echo "created ${dir}"; }\n`;
}

/** `changed` contains any of these paths (after placeFilesScript). */
export function anyChanged(paths: string[]): string {
    return `watched=(${paths.map(shellWord).join(" ")})\n`
        + `any_changed() { local p c; for c in \${changed[@]+"\${changed[@]}"}; do for p in \${watched[@]+"\${watched[@]}"}; do [ "$c" = "$p" ] && return 0; done; done; return 1; }\n`;
}

/** After anyChanged(kubelet files): daemon-reload and a kubelet restart only if one changed; the kubelet enabled and running. */
export function kubeletRunning(): string {
    return `if any_changed; then
    systemctl daemon-reload || fail "systemctl daemon-reload failed"
    systemctl restart kubelet || fail "could not restart kubelet; see: journalctl -u kubelet"
    echo "restarted kubelet"
fi
systemctl is-enabled --quiet kubelet 2>/dev/null || systemctl enable kubelet >/dev/null 2>&1 || fail "could not enable kubelet"
systemctl is-active --quiet kubelet || systemctl start kubelet || fail "kubelet is not running and could not be started; see: journalctl -u kubelet"
`;
}

/** A line that differs on every run: steps that depend on this one's output run again after it ran. */
export function runStamp(): string {
    return "echo \"ran at $(date -u +%Y-%m-%dT%H:%M:%S.%NZ)\"\n";
}

/** At the end of a step that placed files: what it changed is acted on, so none of it is pending any more. */
export function pendingDone(): string {
    return "pending_done\n";
}

/** The end of a step that placed files: what changed, and nothing left pending (pendingDone). */
export function summary(): string {
    return pendingDone() + "if [ \"${#changed[@]}\" -eq 0 ]; then echo \"no changes\"; else echo \"${#changed[@]} file(s) changed\"; fi\n";
}

/**
 * `said TEXT`: what a tool said, in one line for a failure message. klog's lines (kubectl's
 * `E1202 10:00:00.000000 123 memcache.go:265] …` cache noise) are left out when it said anything
 * else; of a longer text the last 300 characters are kept (tools say what failed last).
 */
export const TOOL_SAID = `said() {
    local rest
    rest=$(grep -Ev '^[IWEF][0-9]{4} [0-9:.]+ +[0-9]+ [^ ]+:[0-9]+\\] ' <<< "$1" || true)
    [ -n "$rest" ] || rest=$1
    rest=$(tr '\\n' ' ' <<< "$rest")
    rest=\${rest% }
    if [ "\${#rest}" -gt 300 ]; then rest="…\${rest: -300}"; fi
    printf '%s' "$rest"
}
`;

/** Prints the installed kubelet's version without the "v" (nothing, and a failed status, when there is no kubelet). */
export const KUBELET_VERSION = `kubelet --version 2>/dev/null | awk '{ sub(/^v/, "", $2); print $2 }'`;

/** A word safe to paste into bash. */
export function shellWord(s: string): string {
    return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A heredoc delimiter no line of `content` equals, so no content can end the heredoc early and
 * run as shell: `base`, else `base_2`, `base_3`, … (a delimiter made from a hash alone can be
 * matched on purpose).
 */
export function heredocDelimiter(content: string, base: string): string {
    const lines = new Set(content.split("\n"));
    let end = base;
    for (let n = 2; lines.has(end); n++) end = `${base}_${n}`;
    return end;
}

export function digest(s: string): string {
    return createHash("sha256").update(s).digest("hex");
}
