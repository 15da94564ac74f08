import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import yaml from "js-yaml";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../../components/cluster";
import { etcdctl as realEtcdctl, kubeadmOf, kubernetesFull, realTool } from "../../scripts/real-tools";
import { LAB_SKIPS } from "../../scripts/rehearsal-config";
import { ClusterSpec } from "../../spec/types";
import { CONTROL_PLANE_IMAGES, haproxyBackends, Lab, labHosts } from "../lab/lab";
import { LabCommandRunner } from "../lab/runtime";
import { recordedObjects, serverSideApply } from "../support/kube-apply";
import { deployInLab } from "../support/lab-deploy";
import { EngineState, MockRuntime, valueOf } from "../support/mocks";
import { openssl, tempDir } from "../support/openssl";

/**
 * Control planes that run for real (issue 18): on three control planes behind HAProxy, the lab's
 * kubelet runs the static pods a `Cluster` places with the real kube-apiserver,
 * kube-controller-manager and kube-scheduler of the newest release (and the real etcd, stacked),
 * with exactly the manifests' command and args (but for what one network namespace for every lab
 * host needs: see sharedNetwork in test/lab/kubelet.js, asserted below). The cluster objects the program
 * declares are applied to that API server as the Kubernetes provider applies them, and kubeadm's
 * tooling and the real API server answer for what we placed.
 */
const RELEASE = kubernetesFull()[0];
// kubeadm's HA shape with stacked etcd: 3 control planes behind HAProxy. worker-1 is not in the
// cluster: it only runs kubeadm join --dry-run against it.
const HOSTS = labHosts(["cp-1", "cp-2", "cp-3", "lb-1", "worker-1"]);
const CPS = HOSTS.filter(h => h.name.startsWith("cp-"));
const [CP] = CPS;
const LB = HOSTS.find(h => h.name === "lb-1")!;
const OUTSIDER = HOSTS.find(h => h.name === "worker-1")!;
const ENDPOINT = `${LB.address}:6443`;
const KUBECTL = realTool(`kubernetes-${RELEASE}`, "kubectl");

// A user's CNI manifest, as small as the API accepts: a namespace, its configuration and its agent.
const CNI_MANIFEST = `apiVersion: v1
kind: Namespace
metadata: {name: lab-cni}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: lab-cni-config, namespace: lab-cni}
data: {net-conf.json: '{"Network": "POD_SUBNET"}'}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: lab-cni, namespace: lab-cni}
spec:
  selector: {matchLabels: {app: lab-cni}}
  template:
    metadata: {labels: {app: lab-cni}}
    spec:
      hostNetwork: true
      tolerations: [{operator: Exists}]
      containers: [{name: agent, image: registry.example/lab-cni:v1}]
`;

let lab: Lab;
let runtime: MockRuntime;
let cluster: Cluster;

const state: EngineState = new Map();
let runner: LabCommandRunner;
const spec = (overrides: Partial<ClusterSpec> = {}): ClusterSpec => ({
    kubernetesVersion: RELEASE, controlPlaneEndpoint: ENDPOINT, networking: { podSubnet: "10.244.0.0/16" },
    hosts: [...CPS, LB].map(h => ({
        name: h.name, address: h.address, roles: [h === LB ? "load-balancer" : "control-plane"],
        ssh: { host: h.address, port: lab.sshPort, privateKey: pulumi.secret(lab.privateKey), hostKey: lab.knownHosts(h.name) },
    })),
    certificates: { encryptionAlgorithm: "ECDSA-P256" }, ignorePreflightErrors: LAB_SKIPS, loadBalancer: { bindAddress: LB.address },
    // The lab machine runs cgroups v1: a real kubelet of 1.35+ would need this (and the skipped SystemVerification).
    kubelet: { config: { failCgroupV1: false } },
    apiServer: { readinessTimeoutSeconds: 300 },
    cni: { manifest: CNI_MANIFEST, podSubnetPlaceholder: "POD_SUBNET" },
    ...overrides,
});

beforeAll(async () => {
    lab = await Lab.start(HOSTS, { realControlPlane: true, kubeletVersion: RELEASE });
    runner = new LabCommandRunner(lab);
    runtime = await new MockRuntime(runner.handle, state).start();
    cluster = new Cluster("r", spec());
    try {
        await runtime.registered("r-deployed-versions");
        // Registered once the API serves, after the record: the Node's marks and the CNI manifest.
        for (const h of CPS) await runtime.registered(`r-mark-control-plane-${h.name}`);
        await runtime.registered("r-addons-cni");
    } catch (e) {
        throw new Error(`${(e as Error).message}\n${podReport()}`);
    }
}, 900_000);

/** Each static pod's state and the tail of its log (what a failed deploy is told). */
function podReport(): string {
    return CPS.flatMap(h => Object.entries(lab.pods(h.name)).map(([name, p]) => {
        const log = lab.path(h.name, `/var/lib/lab/pods/${name}.log`);
        const tail = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").slice(-15).join("\n") : "";
        return `--- ${h.name} ${name}: ${JSON.stringify({ state: p.state, reason: p.reason, restarts: p.restarts, translated: p.translated })}\n${tail}`;
    })).join("\n");
}

afterAll(async () => {
    await lab?.stop();
}, 60_000);

const conf = (file: string) => lab.path(CP.name, `/etc/kubernetes/${file}`);
/** The real kubectl with ARGS: its exit code and all it printed. */
function runKubectl(args: string[]): { code: number; out: string } {
    const r = spawnSync(KUBECTL, args, { encoding: "utf8", timeout: 60_000 });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}
/** kubectl with one of cp-1's kubeconfigs. */
const kubectl = (kubeconfig: string, ...args: string[]) => runKubectl(["--kubeconfig", conf(kubeconfig), ...args]);
/** kube-apiserver's /readyz through the load balancer: the HTTP status, or curl's error. */
function readyz(): Promise<string> {
    return new Promise(resolve => execFile("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "--cacert", conf("pki/ca.crt"), `https://${ENDPOINT}/readyz`],
        (err, stdout, stderr) => resolve(err ? `${stdout} ${stderr}`.trim() : stdout.trim())));
}
/** etcdctl get with the API server's own etcd client certificate: the raw bytes etcd stores. */
function etcdGet(key: string, ...flags: string[]) {
    const pki = lab.path(CP.name, "/etc/kubernetes/pki");
    return spawnSync(realEtcdctl(), [`--endpoints=https://${CP.address}:2379`, `--cacert=${pki}/etcd/ca.crt`, `--cert=${pki}/apiserver-etcd-client.crt`, `--key=${pki}/apiserver-etcd-client.key`, "get", key, ...flags]);
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

describe(`a Cluster of ${RELEASE} whose control planes run for real, in the lab`, () => {
    test("the static pods run the real binaries of their images, with the manifests' flags", () => {
        for (const h of CPS) {
            const pods = lab.pods(h.name);
            for (const name of ["etcd", ...CONTROL_PLANE_IMAGES]) {
                expect([h.name, name, pods[name]?.state, pods[name]?.standIn]).toEqual([h.name, name, "running", undefined]);
            }
            // What the lab changes of kube-apiserver's flags (one network namespace for every host; see test/lab/kubelet.js), and nothing more.
            expect(pods["kube-apiserver"].translated).toEqual({ "etcd-servers": h.address, "bind-address": h.address, "endpoint-reconciler-type": "none" });
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
            const holder = await until(`the ${lease} lease`, () => kubectl("super-admin.conf", "-n", "kube-system", "get", "lease", lease, "-o", "jsonpath={.spec.holderIdentity}"), r => r.code === 0 && /^cp-\d_/.test(r.out));
            expect(holder.out).toMatch(/^cp-\d_[0-9a-f-]+$/);
        }
    });

    describe("the cluster objects, applied as the Kubernetes provider applies them", () => {
        let applied: string[];
        let adminBefore: { code: number; out: string };
        beforeAll(() => {
            adminBefore = kubectl("admin.conf", "auth", "can-i", "*", "*");
            const { objects, skipped } = recordedObjects(runtime.registrations);
            // It labels and taints the Node, which only a real kubelet registers (the lab's does not yet).
            expect(skipped).toEqual(CPS.map(h => `r-mark-control-plane-${h.name} (NodePatch)`));
            // What the super-admin provider creates comes first: everything else depends on it (kubeadm:cluster-admins).
            const superAdminFirst = [...objects.filter(o => o.provider.endsWith("-super-admin")), ...objects.filter(o => !o.provider.endsWith("-super-admin"))];
            applied = superAdminFirst.map(o => {
                const file = o.provider.endsWith("-super-admin") ? "super-admin.conf" : "admin.conf";
                return `${o.name}: ${serverSideApply(KUBECTL, conf(file), o.objects).trim()}`;
            });
        }, 300_000);

        test("the API server accepts every object (its own validation), admin.conf only once kubeadm:cluster-admins is bound", () => {
            expect(applied.length).toBeGreaterThan(20);
            expect(adminBefore).toEqual({ code: 1, out: "no\n" });
            expect(applied[0]).toMatch(/clusterrolebinding.*kubeadm:cluster-admins serverside-applied/);
            expect(kubectl("admin.conf", "auth", "whoami", "-o", "jsonpath={.status.userInfo.groups}").out).toContain("kubeadm:cluster-admins");
            expect(kubectl("admin.conf", "auth", "can-i", "*", "*")).toEqual({ code: 0, out: "yes\n" });
            expect(kubectl("admin.conf", "-n", "lab-cni", "get", "configmap", "lab-cni-config", "-o", "jsonpath={.data.net-conf\\.json}").out).toBe('{"Network": "10.244.0.0/16"}');
            for (const [kind, ns, name] of [["daemonset", "lab-cni", "lab-cni"], ["configmap", "kube-system", "kubeadm-config"], ["configmap", "kube-system", "kubelet-config"], ["configmap", "kube-public", "cluster-info"], ["daemonset", "kube-system", "kube-proxy"], ["deployment", "kube-system", "coredns"]]) {
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
            for (const key of ["/registry/secrets/default/probe", "/registry/secrets/kube-system/bootstrap-token-zz9abc"]) {
                const raw = etcdGet(key, "--print-value-only");
                expect([key, raw.status, raw.stdout.subarray(0, 23).toString("latin1")]).toEqual([key, 0, "k8s:enc:aescbc:v1:key1:"]);
                expect(raw.stdout.includes("plain-value")).toBe(false);
            }
            expect(kubectl("admin.conf", "-n", "default", "get", "secret", "probe", "-o", "jsonpath={.data.k}").out).toBe(Buffer.from("plain-value").toString("base64"));
        });

        test("raising keyVersion rotates the key for real, one control plane at a time while the API serves: every Secret rewritten under key2, still readable, key1 dropped", async () => {
            const secrets = () => etcdGet("/registry/secrets/", "--prefix", "--keys-only").stdout.toString().split("\n").filter(Boolean);
            // The bootstrap tokens and the probe above.
            expect(secrets()).toEqual(expect.arrayContaining(["/registry/secrets/default/probe", "/registry/secrets/kube-system/bootstrap-token-zz9abc"]));
            // The API through the load balancer, asked every half second while the key rotates.
            const answers: string[] = [];
            let rotating = true;
            const polling = (async () => {
                while (rotating) {
                    answers.push(await readyz());
                    await new Promise(r => setTimeout(r, 500));
                }
            })();
            const run = await deployInLab(runner, state, "r-deployed-versions", () => { cluster = new Cluster("r", spec({ encryptionAtRest: { keyVersion: 2 } })); });
            rotating = false;
            await polling;
            expect(run.failures).toEqual([]);
            // One control plane at a time, each restart out of the load balancer.
            const around = (step: string) => [`${step}-deregister-lb-1`, step, `${step}-register-lb-1`];
            expect(run.runs.map(r => r.name).filter(n => /-key2-/.test(n))).toEqual([
                ...CPS.flatMap(h => around(`r-control-plane-key2-add-${h.name}`)), ...CPS.flatMap(h => around(`r-control-plane-key2-promote-${h.name}`)), "r-control-plane-key2-rewrite"]);
            expect(answers.length).toBeGreaterThan(20);
            expect(answers.filter(a => a !== "200")).toEqual([]);
            const prefixes = secrets().map(k => [k, etcdGet(k, "--print-value-only").stdout.subarray(0, 23).toString("latin1")]);
            expect(prefixes.filter(([, p]) => p !== "k8s:enc:aescbc:v1:key2:")).toEqual([]);
            expect(kubectl("admin.conf", "-n", "default", "get", "secret", "probe", "-o", "jsonpath={.data.k}").out).toBe(Buffer.from("plain-value").toString("base64"));
            const keys = (yaml.load(fs.readFileSync(conf("enc/encryption-config.yaml"), "utf8")) as any).resources[0].providers[0].aescbc.keys.map((k: any) => k.name);
            expect(keys).toEqual(["key2"]);
        }, 600_000);

        test("a flag the real kube-apiserver rejects: cp-1 is rolled back to its manifests and serves again, the error quotes the process's own last words, cp-2 and cp-3 are not touched", async () => {
            const manifest = (h: string) => fs.readFileSync(lab.path(h, "/etc/kubernetes/manifests/kube-apiserver.yaml"), "utf8");
            const before = CPS.map(h => manifest(h.name));
            const bad = spec({ encryptionAtRest: { keyVersion: 2 }, apiServer: { readinessTimeoutSeconds: 30, extraArgs: [{ name: "max-requests-inflight", value: "-1" }] } });
            const run = await deployInLab(runner, state, "r-deployed-versions", () => { cluster = new Cluster("r", bad); });
            expect(run.failures.map(f => f.message)).toEqual([expect.stringContaining("r-control-plane-cp-1-upgraded")]);
            // The step's whole error (the engine's message above is cut to its head and tail).
            const message = run.runs.find(r => r.name === "r-control-plane-cp-1-upgraded")!.stderr;
            expect(message).toContain("[cp-1] control-plane upgrade: kube-apiserver was not ready within 30s with the new manifests, so they were rolled back");
            expect(message).toMatch(/kube-apiserver last wrote \(\/var\/log\/pods\/kube-system_kube-apiserver-cp-1_[^/]+\/kube-apiserver\/0\.log\):/);
            expect(message).toContain("--max-requests-inflight can not be negative value");
            expect(run.runs.map(r => r.name)).not.toContain("r-control-plane-cp-2-install");
            expect(CPS.map(h => manifest(h.name))).toEqual(before);
            expect(await readyz()).toBe("200");
            expect(Object.values(await haproxyBackends(lab, LB.name))).toEqual(["UP", "UP", "UP"]);
        }, 600_000);
    });

    describe("a kubelet's TLS bootstrap through our RBAC, done with kubectl and openssl (no kubelet here runs against a real API server yet)", () => {
        const t = tempDir("real-cp-");
        afterAll(() => t.remove());
        const none = path.join(t.dir, "empty.kubeconfig");
        fs.writeFileSync(none, "apiVersion: v1\nkind: Config\n");
        /** kubectl against the endpoint with only the credentials given (a bootstrap token, or a client certificate). */
        const kubectlAs = (auth: string[], ...args: string[]) =>
            runKubectl(["--kubeconfig", none, `--server=https://${ENDPOINT}`, `--certificate-authority=${conf("pki/ca.crt")}`, ...auth, ...args]);
        const token = async () => /--token (\S+)/.exec(await valueOf(cluster.joinCommand))![1];

        /** What a kubelet does with bootstrap-kubelet.conf: a key, a CSR for system:node:NODE created with the token; the controller-manager approves and signs it. */
        async function bootstrap(node: string): Promise<string[]> {
            const key = path.join(t.dir, `${node}.key`), crt = path.join(t.dir, `${node}.crt`);
            openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
            const request = openssl(["req", "-new", "-key", key, "-subj", `/O=system:nodes/CN=system:node:${node}`]);
            const csr = { apiVersion: "certificates.k8s.io/v1", kind: "CertificateSigningRequest", metadata: { name: `node-csr-${node}` },
                spec: { request: Buffer.from(request).toString("base64"), signerName: "kubernetes.io/kube-apiserver-client-kubelet", usages: ["digital signature", "client auth"] } };
            fs.writeFileSync(path.join(t.dir, `${node}.csr.json`), JSON.stringify(csr));
            expect(kubectlAs([`--token=${await token()}`], "create", "-f", path.join(t.dir, `${node}.csr.json`))).toMatchObject({ code: 0 });
            const issued = await until(`${node}'s certificate`, () => kubectl("admin.conf", "get", "csr", `node-csr-${node}`, "-o", "jsonpath={.status.certificate}"), r => r.code === 0 && r.out.length > 0);
            fs.writeFileSync(crt, Buffer.from(issued.out, "base64"));
            return [`--client-certificate=${crt}`, `--client-key=${key}`];
        }
        let worker1: string[];
        let worker2: string[];

        test("a CSR made with the bootstrap token is approved by the real controller-manager and signed by the cluster CA", async () => {
            worker1 = await bootstrap("worker-1");
            worker2 = await bootstrap("worker-2");
            const crt = worker1[0].split("=")[1];
            expect(openssl(["verify", "-CAfile", conf("pki/ca.crt"), crt]).trim()).toBe(`${crt}: OK`);
            expect(openssl(["x509", "-in", crt, "-noout", "-subject", "-issuer"])).toBe("subject=O = system:nodes, CN = system:node:worker-1\nissuer=CN = kubernetes\n");
            const approved = kubectl("admin.conf", "get", "csr", "node-csr-worker-1", "-o", "jsonpath={.status.conditions[0].type} {.status.conditions[0].reason}");
            expect(approved.out).toBe("Approved AutoApproved");
            expect(kubectlAs(worker1, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").out).toBe("system:node:worker-1");
        }, 240_000);

        test("NodeRestriction: worker-1's credentials register and label worker-1's Node, not worker-2's", () => {
            for (const [node, auth] of [["worker-1", worker1], ["worker-2", worker2]] as const) {
                fs.writeFileSync(path.join(t.dir, `${node}.node.json`), JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: node } }));
                expect([node, kubectlAs(auth, "create", "-f", path.join(t.dir, `${node}.node.json`))]).toEqual([node, { code: 0, out: `node/${node} created\n` }]);
            }
            expect(kubectlAs(worker1, "label", "node", "worker-1", "lab=own")).toEqual({ code: 0, out: "node/worker-1 labeled\n" });
            // kubectl label and patch read the Node first, which the Node authorizer of 1.34+ refuses already; a kubelet's own PATCH, as curl sends it:
            const [cert, key] = worker1.map(a => a.split("=")[1]);
            const patch = spawnSync("curl", ["-sS", "--cacert", conf("pki/ca.crt"), "--cert", cert, "--key", key, "-X", "PATCH", "-H", "Content-Type: application/merge-patch+json",
                "-d", '{"metadata":{"labels":{"lab":"other"}}}', "-w", "\n%{http_code}", `https://${ENDPOINT}/api/v1/nodes/worker-2`], { encoding: "utf8" });
            expect(patch.stdout.trim().split("\n").pop()).toBe("403");
            expect(JSON.parse(patch.stdout.trim().split("\n").slice(0, -1).join("\n")).message).toBe('nodes "worker-2" is forbidden: node "worker-1" is not allowed to modify node "worker-2"');
            expect(kubectl("admin.conf", "get", "node", "worker-2", "-o", "jsonpath={.metadata.labels.lab}").out).toBe("");
        });

        test("an expired bootstrap token is refused, and the real tokencleaner deletes its Secret", async () => {
            expect(kubectlAs([`--token=${await token()}`], "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").out).toMatch(/^system:bootstrap:[a-z0-9]{6}$/);
            expect(kubectl("admin.conf", "-n", "kube-system", "create", "secret", "generic", "bootstrap-token-exp123", "--type=bootstrap.kubernetes.io/token",
                "--from-literal=token-id=exp123", "--from-literal=token-secret=0123456789abcdef", "--from-literal=usage-bootstrap-authentication=true",
                "--from-literal=auth-extra-groups=system:bootstrappers:kubeadm:default-node-token", "--from-literal=expiration=2020-01-01T00:00:00Z")).toMatchObject({ code: 0 });
            const refused = kubectlAs(["--token=exp123.0123456789abcdef"], "auth", "whoami");
            expect([refused.code, refused.out]).toEqual([1, expect.stringContaining("Unauthorized")]);
            await until("the tokencleaner deleting bootstrap-token-exp123", () => kubectl("admin.conf", "-n", "kube-system", "get", "secret", "bootstrap-token-exp123"), r => r.code === 1 && r.out.includes("NotFound"));
        }, 240_000);
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
