import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Preflight } from "../../components/preflight";
import { fingerprintOf, parseHostKey } from "../../spec/host-keys";
import { ClusterSpec, HostSpec, SshSpec } from "../../spec/types";
import { Lab, labHosts } from "../lab/lab";
import { CommandRun, LabCommandRunner } from "../lab/runtime";
import { deployInLab } from "../support/lab-deploy";
import { EngineState, MockRuntime, settle } from "../support/mocks";

// Host keys on real sshd: each lab host offers an ECDSA and an Ed25519 key, and the lab's SSH client
// asks for them in the provider's (Go's) order. Preflight is the component here: its steps only
// read. cp-1 trusts on first use, worker-1 is pinned by the fingerprint of its ECDSA key, worker-2
// by ssh-keyscan's lines. A reinstalled host (new keys) stops at its first step, before its command runs.
const HOSTS = labHosts(["cp-1", "worker-1", "worker-2"]);
const SKIPPED = ["all"];

let lab: Lab;
let runner: LabCommandRunner;
const state: EngineState = new Map();
const ecdsaLine = (host: string) => lab.knownHosts(host).split("\n").find(l => l.includes("ecdsa-sha2-nistp256"))!.split(" ").slice(1).join(" ");
const fingerprint = (line: string) => fingerprintOf((parseHostKey(line).pin as { keys: { type: string; blob: string }[] }).keys[0]);

function spec(ssh: (name: string) => Partial<SshSpec>): ClusterSpec {
    const hosts: HostSpec[] = HOSTS.map(h => ({
        name: h.name, address: h.address, roles: [h.name.startsWith("cp") ? "control-plane" : "worker"],
        ssh: { host: h.address, port: lab.sshPort, privateKey: pulumi.secret(lab.privateKey), ...ssh(h.name) },
    }));
    return {
        kubernetesVersion: "v1.33.2", controlPlaneEndpoint: `${HOSTS[0].address}:6443`, networking: { podSubnet: "10.244.0.0/16" }, hosts,
        loadBalancer: { type: "none" }, ignorePreflightErrors: SKIPPED,
    };
}
const pins = (name: string): Partial<SshSpec> => (name === "cp-1" ? { trustOnFirstUse: true } : name === "worker-1" ? { hostKey: fingerprint(ecdsaLine("worker-1")) } : { hostKey: lab.knownHosts("worker-2") });
const hostOf = (address: string) => HOSTS.find(h => h.address === address)!.name;
const checks = (runs: CommandRun[]) => runs.filter(r => !r.name.endsWith("-host-key"));

beforeAll(async () => {
    lab = await Lab.start(HOSTS);
    runner = new LabCommandRunner(lab);
}, 120_000);

afterAll(async () => {
    await lab?.stop();
}, 60_000);

describe("host keys in the lab: every step pins its host's key", () => {
    let first: { runs: CommandRun[]; failures: Error[] };

    test("the preview says which hosts are recorded on this run, and connects to none", async () => {
        const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(async () => undefined);
        try {
            await new MockRuntime(runner.handle, state).start({ preview: true });
            new Preflight("preview", spec(pins));
            await settle();
            await new Promise(r => setTimeout(r, 500));
            await settle();
            const said = warn.mock.calls.map(c => String(c[0]));
            expect(said).toContainEqual(expect.stringMatching(new RegExp(`^hosts\\[0\\] \\(cp-1\\)\\.ssh\\.trustOnFirstUse: no host key is pinned for ${HOSTS[0].address}:${lab.sshPort} yet: this run records the key it presents \\(the step preview-cp-1-host-key reads its public keys and sends nothing else\\)`)));
            expect(said).toContainEqual(expect.stringMatching(new RegExp(`^hosts\\[1\\] \\(worker-1\\)\\.ssh\\.hostKey: this run reads the host key ${HOSTS[1].address}:${lab.sshPort} presents and goes on only if its fingerprint is SHA256:`)));
            expect(said.filter(s => s.includes("worker-2"))).toEqual([]);
            expect(runner.runs).toEqual([]);
        } finally {
            warn.mockRestore();
        }
    }, 60_000);

    test("the first run records cp-1's and worker-1's keys before anything else connects, and pins the ECDSA key everywhere", async () => {
        first = await deployInLab(runner, state, "hk-worker-2-worker", () => new Preflight("hk", spec(pins)));
        expect(first.failures).toEqual([]);
        const records = first.runs.filter(r => r.name.endsWith("-host-key"));
        expect(records.map(r => r.name).sort()).toEqual(["hk-cp-1-host-key", "hk-worker-1-host-key"]);
        for (const r of records) expect([r.name, r.hostKeyPinned, r.exitCode, r.stdinLength]).toEqual([r.name, false, 0, 0]);
        const recordedBy = new Map(records.map(r => [hostOf(r.host), r.startedAt + r.durationMs]));
        for (const r of checks(first.runs)) {
            const host = hostOf(r.host);
            // The key sshd presents to the provider's client order: the host's ECDSA key (of its two), whatever the config gave.
            expect([r.name, r.hostKeyPinned, r.hostKey, r.exitCode]).toEqual([r.name, true, ecdsaLine(host), 0]);
            if (recordedBy.has(host)) expect(r.startedAt).toBeGreaterThanOrEqual(recordedBy.get(host)!);
        }
        expect(checks(first.runs).map(r => r.name).sort()).toEqual(["hk-cp-1-control-plane", "hk-worker-1-worker", "hk-worker-2-worker"]);
    }, 180_000);

    test("a later run reads no key again: it pins the recorded one", async () => {
        const again = await deployInLab(runner, state, "hk-worker-2-worker", () => new Preflight("hk", spec(pins)));
        expect(again.failures).toEqual([]);
        expect(again.runs.filter(r => r.name.endsWith("-host-key"))).toEqual([]);
        for (const r of again.runs) expect([r.name, r.hostKey]).toEqual([r.name, ecdsaLine(hostOf(r.host))]);
    }, 180_000);

    test("a host with new keys (reinstalled, or another machine at its address) fails its step before its command runs, naming it; the others go on", async () => {
        const before = ecdsaLine("cp-1");
        await lab.replaceHostKeys("cp-1");
        expect(ecdsaLine("cp-1")).not.toBe(before);
        const sshdLog = path.join(lab.stateDir, "hosts", "cp-1", "sshd", "sshd.log");
        const logins = () => (fs.readFileSync(sshdLog, "utf8").match(/Accepted publickey/g) ?? []).length;
        const loginsBefore = logins();
        const changed = await deployInLab(runner, state, "hk-worker-2-worker", () => new Preflight("hk", spec(pins)));
        const cp = changed.runs.filter(r => hostOf(r.host) === "cp-1");
        expect(cp.map(r => [r.name, r.exitCode, r.error])).toEqual([
            ["hk-cp-1-control-plane", null, `ssh: handshake failed: ssh: host key mismatch (${HOSTS[0].address}:${lab.sshPort})`],
        ]);
        expect(changed.failures.map(f => f.message)).toEqual([expect.stringContaining("hk-cp-1-control-plane")]);
        expect(changed.runs.filter(r => hostOf(r.host) !== "cp-1").map(r => [r.name, r.exitCode])).toEqual(expect.arrayContaining([["hk-worker-1-worker", 0], ["hk-worker-2-worker", 0]]));
        // cp-1's sshd let no one log in: the client stopped at its key, before authenticating.
        expect(logins()).toBe(loginsBefore);
    }, 180_000);

    test("a fingerprint the host's keys do not have stops before any step of the host, naming what the host presents", async () => {
        const other = crypto.createHash("sha256").update("another host").digest("base64").replace(/=+$/, "");
        const wrong = await deployInLab(runner, new Map(), "fp-worker-2-worker", () => new Preflight("fp", spec(name => (name === "worker-1" ? { hostKey: `SHA256:${other}` } : { hostKey: lab.knownHosts(name) }))));
        const w1 = wrong.runs.filter(r => hostOf(r.host) === "worker-1");
        expect(w1.map(r => r.name)).toEqual(["fp-worker-1-host-key"]);
        expect(wrong.failures.map(f => f.message)).toEqual([expect.stringMatching(new RegExp(
            `\\[${HOSTS[1].address}:${lab.sshPort}\\] host key: this host presents( SHA256:\\S+){2}, not SHA256:${other.replace(/[+/]/g, "\\$&")}: nothing was sent to it\\.`,
        ))]);
        for (const line of lab.knownHosts("worker-1").split("\n")) expect(wrong.failures[0].message).toContain(` ${fingerprint(line)}`);
        expect(wrong.failures[0].message).toContain("fp-worker-1-host-key");
    }, 180_000);
});
