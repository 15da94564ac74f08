/**
 * Runs @pulumi/command's remote commands for real, over SSH, for Pulumi's mock runtime: pass
 * `new LabCommandRunner(lab).handle` as MockRuntime's `extra` hook.
 *
 * It uses the OpenSSH client and emulates the provider where it shows:
 *   - outputs are `{stdout, stderr}` with one trailing newline trimmed;
 *   - a non-zero exit fails with `Process exited with status N: running "<create>":\n<output>`;
 *   - a non-empty `environment` fails as the provider's SSH Setenv does against an sshd without
 *     AcceptEnv (the lab's): `could not set environment variable "K": ssh: setenv failed`;
 *   - connection failures are retried (at most 3 attempts, 1 s apart) and fail naming host:port:
 *     `after 3 failed attempts: dial tcp 127.0.1.11:2222: connect: connection refused`;
 *   - in preview (pulumi.runtime.isDryRun()) nothing runs and nothing is returned.
 * It refuses every host outside 127.0.0.0/8.
 */
import * as pulumi from "@pulumi/pulumi";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Lab } from "./lab";

export interface CommandRun {
    /** The resource name. */
    name: string;
    host: string;
    port: number;
    user: string;
    /** The create text, as sent. */
    command: string;
    stdinLength: number;
    startedAt: number;
    durationMs: number;
    /** Whether the connection pinned a host key (ssh refuses a host that presents another). */
    hostKeyPinned: boolean;
    /** The key it pinned. */
    hostKey?: string;
    /** The remote exit code; null when it did not run (connection, environment). */
    exitCode: number | null;
    stdout: string;
    stderr: string;
    /** The error the resource failed with, if any. */
    error?: string;
}

interface Connection {
    host: string;
    port?: number;
    user?: string;
    privateKey?: string;
    privateKeyPassword?: string;
    password?: string;
    hostKey?: string;
    dialErrorLimit?: number;
    proxy?: Connection;
}

/**
 * golang.org/x/crypto/ssh's defaultHostKeyAlgos (v0.59, ssh/common.go) without certificates: what the
 * provider's client offers when its config names none (assumed; see test/lab/README.md).
 */
const GO_HOST_KEY_ALGORITHMS = "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-256,rsa-sha2-512,ssh-rsa,ssh-ed25519";
const MAX_DIAL_ATTEMPTS = 3;
const DIAL_INTERVAL_MS = 1000;

/** Go's %q for the strings that matter here (JSON's escapes are close to Go's). */
function goQuote(s: string): string {
    return JSON.stringify(s);
}

function trimOne(s: string): string {
    return s.endsWith("\n") ? s.slice(0, -1) : s;
}

function assertLoopback(host: string, what: string): void {
    if (!(net.isIPv4(host) && host.split(".")[0] === "127")) {
        throw new Error(`LabCommandRunner: refusing to connect to ${what} ${JSON.stringify(host)}: the lab only targets 127.0.0.0/8`);
    }
}

interface SshResult { code: number; stdout: string; stderr: string; combined: string }

export class LabCommandRunner {
    readonly runs: CommandRun[] = [];

    constructor(readonly lab?: Lab) {}

    /** MockRuntime's `extra` hook. */
    handle = async (type: string, inputs: Record<string, any>, name: string): Promise<Record<string, any> | undefined> => {
        if (type !== "command:remote:Command") return undefined;
        if (pulumi.runtime.isDryRun()) return undefined;
        const create: string | undefined = inputs.create;
        if (create === undefined || create === "") return {};
        const conn = this.connection(inputs.connection);
        const stdin: string = inputs.stdin ?? "";
        const record: CommandRun = {
            name, host: conn.host, port: conn.port ?? 22, user: conn.user ?? "root", command: create, stdinLength: stdin.length,
            hostKeyPinned: Boolean(conn.hostKey) && (!conn.proxy || Boolean(conn.proxy.hostKey)), hostKey: conn.hostKey, startedAt: Date.now(), durationMs: 0, exitCode: null, stdout: "", stderr: "",
        };
        this.runs.push(record);
        const fail = (message: string): never => {
            record.durationMs = Date.now() - record.startedAt;
            record.error = message;
            throw new Error(message);
        };
        // Inside the lab's state dir (removed by stop(), also after an aborted run): it holds a copy of the key.
        const tmp = fs.mkdtempSync(path.join(this.lab?.stateDir ?? os.tmpdir(), "lab-ssh-"));
        try {
            const args = this.sshArgs(conn, tmp);
            const environment: Record<string, string> = inputs.environment ?? {};
            const envKeys = Object.keys(environment).sort();
            if (envKeys.length > 0) {
                // The provider dials, then sends Setenv, which an sshd without AcceptEnv refuses.
                const dial = await this.dial(conn, args, "exit 0", "");
                if (dial.error) fail(dial.error);
                fail(`could not set environment variable ${goQuote(envKeys[0])}: ssh: setenv failed`);
            }
            const r = await this.dial(conn, args, create, stdin);
            if (r.error) fail(r.error);
            const res = r.result!;
            record.exitCode = res.code;
            record.stdout = res.stdout;
            record.stderr = res.stderr;
            record.durationMs = Date.now() - record.startedAt;
            if (res.code !== 0) fail(`Process exited with status ${res.code}: running ${goQuote(create)}:\n${res.combined}`);
            return { stdout: trimOne(res.stdout), stderr: trimOne(res.stderr) };
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    };

    private connection(c: any): Connection {
        if (!c || typeof c.host !== "string") throw new Error("LabCommandRunner: the command has no connection.host");
        assertLoopback(c.host, "host");
        if (c.proxy) assertLoopback(c.proxy.host, "proxy host");
        if (c.privateKeyPassword) throw new Error("LabCommandRunner: encrypted private keys (privateKeyPassword) are not supported by the lab");
        return c as Connection;
    }

    /** ssh's arguments up to the destination; key and known-hosts files in `tmp`. */
    private sshArgs(c: Connection, tmp: string, tag = "target"): string[] {
        const port = c.port ?? 22;
        const args = [
            "-F", "/dev/null", "-T", "-p", String(port),
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "ConnectionAttempts=1", "-o", "LogLevel=ERROR",
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4",
        ];
        if (c.privateKey) {
            const key = path.join(tmp, `${tag}_key`);
            fs.writeFileSync(key, c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`, { mode: 0o600 });
            args.push("-i", key);
        } else {
            args.push("-o", "PubkeyAuthentication=no");
        }
        if (c.hostKey) {
            const known = path.join(tmp, `${tag}_known_hosts`);
            const hostPattern = port === 22 ? c.host : `[${c.host}]:${port}`;
            fs.writeFileSync(known, `${hostPattern} ${c.hostKey.trim()}\n`);
            // Go's client asks for host keys in its own order, not the pinned key's type first as OpenSSH does.
            args.push("-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${known}`, "-o", `HostKeyAlgorithms=${GO_HOST_KEY_ALGORITHMS}`);
        } else {
            args.push("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null");
        }
        if (c.proxy) {
            const proxyArgs = this.sshArgs(c.proxy, tmp, "proxy");
            args.push("-o", `ProxyCommand=ssh ${proxyArgs.map(shellQuote).join(" ")} -W %h:%p ${shellQuote(`${c.proxy.user ?? "root"}@${c.proxy.host}`)}`);
        }
        args.push(`${c.user ?? "root"}@${c.host}`);
        return args;
    }

    /** Runs `command` over ssh, retrying connection failures like the provider's dial loop. */
    private async dial(c: Connection, args: string[], command: string, stdin: string): Promise<{ result?: SshResult; error?: string }> {
        const port = c.port ?? 22;
        const attempts = Math.max(1, Math.min(c.dialErrorLimit && c.dialErrorLimit > 0 ? c.dialErrorLimit : MAX_DIAL_ATTEMPTS, MAX_DIAL_ATTEMPTS));
        let last = "";
        for (let attempt = 1; attempt <= attempts; attempt++) {
            const r = await ssh([...args, "--", command], stdin);
            const connErr = r.code === 255 ? connectionError(r.stderr, c.host, port) : undefined;
            if (!connErr) return { result: r };
            if (connErr.fatal) return { error: connErr.message };
            last = connErr.message;
            if (attempt < attempts) await new Promise(res => setTimeout(res, DIAL_INTERVAL_MS));
        }
        return { error: `after ${attempts} failed attempts: ${last}` };
    }
}

function shellQuote(s: string): string {
    return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The provider's (Go's) wording for an OpenSSH client connection error; undefined if ssh connected. */
function connectionError(stderr: string, host: string, port: number): { message: string; fatal: boolean } | undefined {
    const at = `${host}:${port}`;
    if (/Connection refused/.test(stderr)) return { message: `dial tcp ${at}: connect: connection refused`, fatal: false };
    if (/Connection timed out|Operation timed out/.test(stderr)) return { message: `dial tcp ${at}: i/o timeout`, fatal: false };
    if (/No route to host|Network is unreachable/.test(stderr)) return { message: `dial tcp ${at}: connect: no route to host`, fatal: false };
    if (/kex_exchange_identification|Connection reset|Connection closed by|banner exchange/.test(stderr)) {
        return { message: `ssh: handshake failed: EOF (${at}: ${stderr.trim().split("\n").pop()})`, fatal: false };
    }
    if (/Permission denied \(/.test(stderr)) {
        return { message: `ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain (${at})`, fatal: true };
    }
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
        return { message: `ssh: handshake failed: ssh: host key mismatch (${at})`, fatal: true };
    }
    if (/^ssh: /m.test(stderr)) return { message: `${stderr.trim().split("\n").pop()} (${at})`, fatal: true };
    return undefined;
}

function ssh(args: string[], stdin: string): Promise<SshResult> {
    return new Promise((resolve, reject) => {
        const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" } });
        let stdout = "";
        let stderr = "";
        let combined = "";
        child.stdout.setEncoding("utf8").on("data", d => {
            stdout += d;
            combined += d;
        });
        child.stderr.setEncoding("utf8").on("data", d => {
            stderr += d;
            combined += d;
        });
        child.on("error", reject);
        child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 255 : 1), stdout, stderr, combined }));
        child.stdin.on("error", () => { /* the remote command did not read it */ });
        child.stdin.end(stdin);
    });
}
