import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../../components/cluster";
import { etcdctl as realEtcdctl, kubeadmOf, kubernetesFull, realTool } from "../../scripts/real-tools";
import { LAB_SKIPS } from "../../scripts/rehearsal-config";
import { ClusterSpec } from "../../spec/types";
import { CONTROL_PLANE_IMAGES, Lab, labHosts } from "../lab/lab";
import { LabCommandRunner } from "../lab/runtime";
import { recordedObjects, serverSideApply } from "../support/kube-apply";
import { MockRuntime, valueOf } from "../support/mocks";

/**
 * A control plane that runs for real (issue 18): the lab's kubelet runs the static pods a
 * `Cluster` places with the real kube-apiserver, kube-controller-manager and kube-scheduler of
 * the newest release (and the real etcd, stacked), with exactly the manifests' command and args
 * (the lab only moves 127.0.0.1 to the host's own loopback address and binds kube-apiserver to its
 * advertise address, as lab hosts share one network namespace). The cluster objects the program
 * declares are applied to that API server as the Kubernetes provider applies them, and kubeadm's
 * tooling and the real API server answer for what we placed.
 */
const RELEASE = kubernetesFull()[0];
// worker-1 is not in the cluster: it only runs kubeadm join --dry-run against it.
const HOSTS = labHosts(["cp-1", "worker-1"]);
const [CP, OUTSIDER] = HOSTS;
const KUBECTL = realTool(`kubernetes-${RELEASE}`, "kubectl");

let lab: Lab;
let runtime: MockRuntime;
let cluster: Cluster;

beforeAll(async () => {
    lab = await Lab.start(HOSTS, { realControlPlane: true, kubeletVersion: RELEASE });
    runtime = await new MockRuntime(new LabCommandRunner(lab).handle).start();
    const spec: ClusterSpec = {
        kubernetesVersion: RELEASE, controlPlaneEndpoint: `${CP.address}:6443`, networking: { podSubnet: "10.244.0.0/16" },
        hosts: [{ name: CP.name, address: CP.address, roles: ["control-plane"], ssh: { host: CP.address, port: lab.sshPort, privateKey: pulumi.secret(lab.privateKey), hostKey: lab.knownHosts(CP.name) } }],
        certificates: { encryptionAlgorithm: "ECDSA-P256" }, ignorePreflightErrors: LAB_SKIPS, loadBalancer: { type: "none" },
        // The lab machine runs cgroups v1: a real kubelet of 1.35+ would need this (and the skipped SystemVerification).
        kubelet: { config: { failCgroupV1: false } },
        apiServer: { readinessTimeoutSeconds: 300 },
    };
    cluster = new Cluster("r", spec);
    try {
        await runtime.registered("r-deployed-versions");
        await runtime.registered("r-mark-control-plane-cp-1");
    } catch (e) {
        throw new Error(`${(e as Error).message}\n${podReport()}`);
    }
}, 900_000);

/** Each static pod's state and the tail of its log (what a failed deploy is told). */
function podReport(): string {
    return Object.entries(lab.pods(CP.name)).map(([name, p]) => {
        const log = lab.path(CP.name, `/var/lib/lab/pods/${name}.log`);
        const tail = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").slice(-15).join("\n") : "";
        return `--- ${name}: ${JSON.stringify({ state: p.state, reason: p.reason, restarts: p.restarts, translated: p.translated })}\n${tail}`;
    }).join("\n");
}

afterAll(async () => {
    await lab?.stop();
}, 60_000);

const conf = (file: string) => lab.path(CP.name, `/etc/kubernetes/${file}`);
function kubectl(kubeconfig: string, ...args: string[]): { code: number; out: string } {
    const r = spawnSync(KUBECTL, ["--kubeconfig", conf(kubeconfig), ...args], { encoding: "utf8", timeout: 60_000 });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}
/** Polls until `ok` holds (a loaded machine: no fixed sleeps). */
async function until<T>(what: string, get: () => T, ok: (v: T) => boolean, timeoutMs = 180_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
        const v = get();
        if (ok(v)) return v;
        if (Date.now() > end) throw new Error(`${what}: still not so after ${timeoutMs / 1000} s; last: ${JSON.stringify(v).slice(0, 2000)}`);
        await new Promise(r => setTimeout(r, 1000));
    }
}

describe(`a Cluster of ${RELEASE} whose control plane runs for real, in the lab`, () => {
    test("the static pods run the real binaries of their images, with the manifests' flags", () => {
        const pods = lab.pods(CP.name);
        for (const name of ["etcd", ...CONTROL_PLANE_IMAGES]) {
            expect([name, pods[name]?.state, pods[name]?.standIn]).toEqual([name, "running", undefined]);
        }
        expect(kubectl("admin.conf", "version", "-o", "json")).toMatchObject({ code: 0 });
        const version = JSON.parse(kubectl("admin.conf", "version", "-o", "json").out);
        expect(version.serverVersion.gitVersion).toBe(RELEASE);
        const readyz = kubectl("admin.conf", "get", "--raw", "/readyz?verbose");
        expect(readyz.out).toContain("[+]etcd ok");
        expect(readyz.out).toContain("readyz check passed");
    });

    test("the controller-manager and the scheduler run with our kubeconfigs: each holds its leader lease", async () => {
        for (const lease of ["kube-controller-manager", "kube-scheduler"]) {
            const holder = await until(`the ${lease} lease`, () => kubectl("super-admin.conf", "-n", "kube-system", "get", "lease", lease, "-o", "jsonpath={.spec.holderIdentity}"), r => r.code === 0 && r.out.startsWith(`${CP.name}_`));
            expect(holder.out).toMatch(new RegExp(`^${CP.name}_`));
        }
    });

    describe("the cluster objects, applied as the Kubernetes provider applies them", () => {
        let applied: string[];
        beforeAll(() => {
            const { objects, skipped } = recordedObjects(runtime.registrations);
            // It labels and taints the Node, which only a real kubelet registers (the lab's does not yet).
            expect(skipped).toEqual(["r-mark-control-plane-cp-1 (NodePatch)"]);
            // What the super-admin provider creates comes first: everything else depends on it (kubeadm:cluster-admins).
            const superAdminFirst = [...objects.filter(o => o.provider.endsWith("-super-admin")), ...objects.filter(o => !o.provider.endsWith("-super-admin"))];
            applied = superAdminFirst.map(o => {
                const file = o.provider.endsWith("-super-admin") ? "super-admin.conf" : "admin.conf";
                return `${o.name}: ${serverSideApply(KUBECTL, conf(file), o.objects).trim()}`;
            });
        }, 300_000);

        test("the API server accepts every object (its own validation), admin.conf only once kubeadm:cluster-admins is bound", () => {
            expect(applied.length).toBeGreaterThan(20);
            expect(applied[0]).toMatch(/clusterrolebinding.*kubeadm:cluster-admins serverside-applied/);
            expect(kubectl("admin.conf", "auth", "whoami", "-o", "jsonpath={.status.userInfo.groups}").out).toContain("kubeadm:cluster-admins");
            expect(kubectl("admin.conf", "auth", "can-i", "*", "*")).toEqual({ code: 0, out: "yes\n" });
            for (const [kind, ns, name] of [["configmap", "kube-system", "kubeadm-config"], ["configmap", "kube-system", "kubelet-config"], ["configmap", "kube-public", "cluster-info"], ["daemonset", "kube-system", "kube-proxy"], ["deployment", "kube-system", "coredns"]]) {
                expect([kind, name, kubectl("admin.conf", "-n", ns, "get", kind, name, "-o", "name").out]).toEqual([kind, name, `${kind === "configmap" ? "configmap" : `${kind}.apps`}/${name}\n`]);
            }
        });

        test("kubeadm's own tooling reads them: kubeadm token list lists our bootstrap token", () => {
            const tokens = spawnSync(kubeadmOf(RELEASE), ["token", "list", "--kubeconfig", conf("admin.conf"), "-o", "json"], { encoding: "utf8" });
            expect(tokens.stderr).toBe("");
            const ids = tokens.stdout.trim().split(/\n(?=\{)/).map(t => JSON.parse(t).token.split(".")[0]);
            const ours = runtime.registrations.find(r => r.name === "r-objects-bootstrap-token-0")!.inputs.metadata.name.replace(/^bootstrap-token-/, "");
            expect(ids).toEqual([ours]);
        });

        test("the real bootstrap signer signs cluster-info as we did: a new signing token gets its JWS, ours keeps the one we computed", async () => {
            const ours = JSON.parse(kubectl("admin.conf", "-n", "kube-public", "get", "configmap", "cluster-info", "-o", "json").out).data;
            const ourKeys = Object.keys(ours).filter(k => k.startsWith("jws-kubeconfig-"));
            expect(ourKeys.length).toBeGreaterThan(0);
            const created = kubectl("admin.conf", "-n", "kube-system", "create", "secret", "generic", "bootstrap-token-zz9abc", "--type=bootstrap.kubernetes.io/token",
                "--from-literal=token-id=zz9abc", "--from-literal=token-secret=0123456789abcdef", "--from-literal=usage-bootstrap-signing=true");
            expect(created.code).toBe(0);
            const signed = await until("the signer's JWS for zz9abc", () => JSON.parse(kubectl("admin.conf", "-n", "kube-public", "get", "configmap", "cluster-info", "-o", "json").out).data,
                d => typeof d["jws-kubeconfig-zz9abc"] === "string");
            for (const k of ourKeys) expect([k, signed[k]]).toEqual([k, ours[k]]);
        });

        test("kubeadm join --dry-run with our joinCommand passes token discovery: the signed cluster-info, the CA hash, kubeadm-config through our RBAC", async () => {
            const join = (await valueOf(cluster.joinCommand)).replace(/^kubeadm /, "");
            const dryRun = (args: string) => lab.exec(OUTSIDER.name, `${kubeadmOf(RELEASE)} ${args} --dry-run --ignore-preflight-errors=all --node-name ${OUTSIDER.name} --v=1 2>&1`, undefined, 180_000);
            const r = await dryRun(join);
            expect(r.stdout).toContain("[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots");
            expect(r.stdout).toContain("[preflight] Reading configuration from the \"kubeadm-config\" ConfigMap");
            expect([r.code, r.stdout]).toEqual([0, expect.stringContaining("This node has joined the cluster")]);
            // The CA hash is what pins it: another one is refused.
            const wrong = await dryRun(join.replace(/sha256:[0-9a-f]{64}/, `sha256:${"0".repeat(64)}`));
            expect([wrong.code, wrong.stdout]).toEqual([1, expect.stringContaining("are pinned")]);
        }, 240_000);

        test("Secrets are stored encrypted: etcd holds k8s:enc:aescbc:v1:key1: for the bootstrap token and a new Secret", () => {
            expect(kubectl("admin.conf", "-n", "default", "create", "secret", "generic", "probe", "--from-literal=k=plain-value")).toMatchObject({ code: 0 });
            const pki = lab.path(CP.name, "/etc/kubernetes/pki");
            const get = (key: string) => spawnSync(realEtcdctl(), [`--endpoints=https://${CP.address}:2379`, `--cacert=${pki}/etcd/ca.crt`, `--cert=${pki}/apiserver-etcd-client.crt`, `--key=${pki}/apiserver-etcd-client.key`, "get", key, "--print-value-only"]);
            for (const key of ["/registry/secrets/default/probe", "/registry/secrets/kube-system/bootstrap-token-zz9abc"]) {
                const raw = get(key);
                expect([key, raw.status, raw.stdout.subarray(0, 23).toString("latin1")]).toEqual([key, 0, "k8s:enc:aescbc:v1:key1:"]);
                expect(raw.stdout.includes("plain-value")).toBe(false);
            }
            expect(kubectl("admin.conf", "-n", "default", "get", "secret", "probe", "-o", "jsonpath={.data.k}").out).toBe(Buffer.from("plain-value").toString("base64"));
        });
    });

    test("kubeadm certs check-expiration reads every certificate and kubeconfig we placed", async () => {
        const r = await lab.exec(CP.name, `${kubeadmOf(RELEASE)} certs check-expiration 2>&1`);
        expect(r.code).toBe(0);
        for (const name of ["admin.conf", "super-admin.conf", "apiserver", "apiserver-etcd-client", "apiserver-kubelet-client", "controller-manager.conf", "etcd-server", "front-proxy-client", "scheduler.conf"]) {
            expect([name, r.stdout]).toEqual([name, expect.stringMatching(new RegExp(`^${name.replace(/\./g, "\\.")}\\s+\\w{3} \\d{2}, \\d{4}`, "m"))]);
        }
        expect(fs.existsSync(conf("super-admin.conf"))).toBe(true);
    });
});
