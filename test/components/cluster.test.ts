import { createHmac, X509Certificate } from "node:crypto";
import yaml from "js-yaml";
import { Cluster } from "../../components/cluster";
import { ClusterSpec } from "../../spec/types";
import { haSpec, host } from "../support/fixtures";
import { validateObjects } from "../support/k8s-validate";
import { MockRuntime, Registration, settle, valueOf } from "../support/mocks";

// Remote commands do not run here: preflights answer with a host's facts, as the real script prints them.
const FACTS = 'facts {"hostname":"%s","caCertDirs":["/etc/ca-certificates"],"resolvConf":""}';
const runtime = new MockRuntime(async (type, _inputs, name) => {
    if (type !== "command:remote:Command") return undefined;
    const node = /-((?:cp|worker)-\d)-preflight$/.exec(name)?.[1];
    return { stdout: node ? FACTS.replace("%s", node) : "ok", stderr: "" };
});

const dedicated = (overrides: Partial<ClusterSpec> = {}): ClusterSpec => haSpec({ etcd: { topology: "dedicated" }, ...overrides });

/** Runs the program until every resource has registered: the record, which waits for every other step, then until the count stops growing. */
async function run(spec: ClusterSpec): Promise<Cluster> {
    const c = new Cluster("c", spec);
    await Promise.race([runtime.registered("c-deployed-versions"), runtime.failure]);
    let last = -1;
    for (let quiet = 0; quiet < 10; quiet = runtime.registrations.length === last ? quiet + 1 : 0) {
        last = runtime.registrations.length;
        await new Promise(r => setTimeout(r, 50));
        await settle();
    }
    if (runtime.failures.length) throw runtime.failures[0];
    return c;
}

const byName = (name: string): Registration => {
    const r = runtime.registrations.find(x => x.name === name);
    if (!r) throw new Error(`no registration ${name}: ${runtime.registrations.map(x => x.name).join(", ")}`);
    return r;
};

/** Everything a registration waits for, following the recorded dependsOn lists through the graph. */
function closure(name: string): Set<string> {
    const byUrn = new Map(runtime.registrations.map(r => [r.urn, r]));
    const seen = new Set<string>();
    const stack = [...byName(name).dependsOn];
    while (stack.length) {
        const urn = stack.pop()!;
        if (seen.has(urn)) continue;
        seen.add(urn);
        stack.push(...(byUrn.get(urn)?.dependsOn ?? []));
    }
    return new Set([...seen].map(u => byUrn.get(u)?.name ?? u));
}
const waitsFor = (name: string, ...others: string[]) => expect([...closure(name)]).toEqual(expect.arrayContaining(others));
const kube = () => runtime.resources.filter(r => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:yaml"));

describe("Cluster under the mock runtime: kubeadm's order, read from the recorded dependency graph", () => {
    let c: Cluster;
    beforeAll(async () => {
        await runtime.start();
        c = await run(dedicated());
    });

    const preflights = ["c-etcd-etcd-1-preflight", "c-etcd-etcd-2-preflight", "c-etcd-etcd-3-preflight",
        "c-control-plane-cp-1-preflight", "c-control-plane-cp-2-preflight", "c-control-plane-cp-3-preflight",
        "c-workers-worker-1-preflight", "c-workers-worker-2-preflight"];
    const objects = () => kube().filter(r => r.name.startsWith("c-objects-") && !r.name.includes("mark-control-plane")).map(r => r.name);

    test("every host's preflight before etcd changes anything", () => {
        for (const m of ["etcd-1", "etcd-2", "etcd-3"]) waitsFor(`c-etcd-${m}-install`, ...preflights);
    });

    test("etcd healthy before the load balancer and the first control plane", () => {
        waitsFor("c-control-plane-lb-1-haproxy", "c-etcd-health");
        waitsFor("c-control-plane-cp-1-install", "c-etcd-health", "c-control-plane-lb-1-haproxy", ...preflights);
    });

    test("the cluster objects after the first control plane is registered; the cluster-admins binding first", () => {
        expect(objects().length).toBeGreaterThanOrEqual(12);
        for (const o of objects()) waitsFor(o, "c-control-plane-cp-1-register-lb-1");
        for (const o of objects().filter(n => n !== "c-objects-clusterrolebinding-kubeadm-cluster-admins")) waitsFor(o, "c-objects-clusterrolebinding-kubeadm-cluster-admins");
    });

    test("deleting an object's resource (a rename, a re-parent, a component removed) leaves the object in the cluster; a bootstrap token's Secret is deleted with it", () => {
        const named = (n: string) => kube().find(r => r.name === n)!;
        for (const n of [...objects().filter(x => !x.includes("bootstrap-token-")), "c-addons-service-kube-system-kube-dns", "c-addons-daemonset-kube-system-kube-proxy"]) {
            expect([n, named(n).retainOnDelete]).toEqual([n, true]);
        }
        expect(named("c-objects-bootstrap-token-0").retainOnDelete).toBe(false);
    });

    test("the other control planes after the objects, one at a time", () => {
        waitsFor("c-control-plane-cp-2-install", ...objects(), "c-control-plane-cp-1-register-lb-1");
        waitsFor("c-control-plane-cp-3-install", "c-control-plane-cp-2-register-lb-1");
        expect(closure("c-control-plane-cp-1-install")).not.toContain("c-objects-clusterrolebinding-kubeadm-cluster-admins");
    });

    test("workers join in parallel after every control plane and the objects", () => {
        for (const w of ["worker-1", "worker-2"]) {
            waitsFor(`c-workers-${w}-join`, `c-workers-${w}-preflight`, "c-control-plane-cp-3-register-lb-1", ...objects());
        }
        expect(closure("c-workers-worker-2-join")).not.toContain("c-workers-worker-1-join");
        expect(closure("c-workers-worker-1-join")).not.toContain("c-workers-worker-2-join");
    });

    test("add-ons after every control plane (kubeadm's addon phase), not after the workers; each control plane labelled once it is registered, through the cluster-admins binding", () => {
        const addons = kube().filter(r => r.name.startsWith("c-addons-"));
        expect(addons.length).toBe(12);
        for (const a of addons) {
            waitsFor(a.name, "c-control-plane-cp-3-upgraded", "c-objects-clusterrolebinding-kubeadm-cluster-admins");
            expect([...closure(a.name)]).not.toContain("c-workers-worker-1-join");
        }
        for (const cp of ["cp-1", "cp-2", "cp-3"]) waitsFor(`c-mark-control-plane-${cp}`, `c-control-plane-${cp}-register-lb-1`, "c-objects-clusterrolebinding-kubeadm-cluster-admins");
        expect(byName("c-mark-control-plane-cp-2").inputs.metadata).toEqual({
            name: "cp-2", labels: { "node-role.kubernetes.io/control-plane": "", "node.kubernetes.io/exclude-from-external-load-balancers": "" },
            annotations: { "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock" },
        });
    });

    test("two resources per worker; seven per control plane", () => {
        expect(runtime.resources.filter(r => r.name.includes("worker-1")).map(r => r.name).sort()).toEqual(["c-workers-worker-1-join", "c-workers-worker-1-preflight"]);
        expect(runtime.resources.filter(r => /-cp-2(-|$)/.test(r.name) && !r.name.startsWith("c-pki-")).map(r => r.name).sort()).toEqual([
            "c-control-plane-cp-2-deregister-lb-1", "c-control-plane-cp-2-install", "c-control-plane-cp-2-preflight",
            "c-control-plane-cp-2-ready", "c-control-plane-cp-2-register-lb-1", "c-control-plane-cp-2-upgraded", "c-mark-control-plane-cp-2",
        ]);
    });

    test("providers: admin.conf and super-admin.conf at the endpoint, keyed by the cluster's identity, taking over existing objects", async () => {
        const providers = runtime.ofType("pulumi:providers:kubernetes");
        expect(providers.map(p => p.name).sort()).toEqual(["c-objects-admin", "c-objects-super-admin"]);
        for (const p of providers) {
            expect(p.inputs.clusterIdentifier).toBe("kubernetes@k8s-api.example.internal:6443");
            expect(String(p.inputs.upsertExistingObjects)).toBe("true");
            expect(p.secretInputs).toContain("kubeconfig");
            const kc = yaml.load(p.inputs.kubeconfig) as any;
            expect(kc.clusters[0].cluster.server).toBe("https://k8s-api.example.internal:6443");
            const cert = new X509Certificate(Buffer.from(kc.users[0].user["client-certificate-data"], "base64"));
            expect(cert.subject).toContain(p.name.endsWith("super-admin") ? "O=system:masters" : "O=kubeadm:cluster-admins");
        }
        const crb = byName("c-objects-clusterrolebinding-kubeadm-cluster-admins");
        expect(crb.provider).toContain("::c-objects-super-admin::");
        expect(byName("c-objects-clusterrolebinding-kubeadm-get-nodes").provider).toContain("::c-objects-admin::");
        expect(await valueOf(c.adminKubeconfig)).toBe(providers.find(p => p.name === "c-objects-admin")!.inputs.kubeconfig);
    });

    test("the bootstrap token: kubeadm's format, its Secret, and the join command", async () => {
        const secret = byName("c-objects-bootstrap-token-0");
        const data = secret.inputs.stringData;
        expect(secret.secretInputs).toContain("stringData");
        expect(data["token-id"]).toMatch(/^[a-z0-9]{6}$/);
        expect(data["token-secret"]).toMatch(/^[a-z0-9]{16}$/);
        expect(secret.inputs.metadata).toEqual({ name: `bootstrap-token-${data["token-id"]}`, namespace: "kube-system" });
        expect(secret.inputs.type).toBe("bootstrap.kubernetes.io/token");
        expect(data).toMatchObject({
            "usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
            "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
            description: "The default bootstrap token generated by 'kubeadm init'.",
        });
        const issued = Date.parse(byName("c-objects-token-0-issued").state.output);
        expect(Date.parse(data.expiration) - issued).toBe(24 * 3600 * 1000);
        expect(data.expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        const hash = await valueOf(c.discoveryTokenCaCertHash);
        expect(await valueOf(c.joinCommand)).toBe(`kubeadm join k8s-api.example.internal:6443 --token ${data["token-id"]}.${data["token-secret"]} --discovery-token-ca-cert-hash ${hash}`);
        expect(byName("c").state).toBeDefined();
    });

    test("cluster-info: the endpoint and CA for anonymous discovery, and a JWS that verifies with the token (HS256 computed here)", async () => {
        const info = byName("c-configmap-kube-public-cluster-info".replace("c-", "c-objects-"));
        const token = byName("c-objects-bootstrap-token-0").inputs.stringData;
        const kc = info.inputs.data.kubeconfig as string;
        const parsed = yaml.load(kc) as any;
        expect(parsed.clusters).toEqual([{ name: "", cluster: { server: "https://k8s-api.example.internal:6443", "certificate-authority-data": Buffer.from(await valueOf(c.caCertPem)).toString("base64") } }]);
        const jws = info.inputs.data[`jws-kubeconfig-${token["token-id"]}`] as string;
        const [header, payload, signature] = jws.split(".");
        expect(payload).toBe("");
        expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual({ alg: "HS256", kid: token["token-id"] });
        const signingInput = `${header}.${Buffer.from(kc, "utf8").toString("base64").replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")}`;
        const expected = createHmac("sha256", Buffer.from(token["token-secret"], "utf8")).update(signingInput).digest("base64url");
        expect(signature).toBe(expected);
        expect(info.secretInputs).not.toContain("data");
    });

    test("the Cluster outputs the ClusterConfiguration it uploads", async () => {
        const text = await valueOf(c.clusterConfiguration);
        expect(text).toBe(byName("c-objects-configmap-kube-system-kubeadm-config").inputs.data.ClusterConfiguration);
        expect(yaml.load(text)).toMatchObject({ kind: "ClusterConfiguration", kubernetesVersion: "v1.33.2", etcd: { external: { endpoints: ["https://10.0.20.11:2379", "https://10.0.20.12:2379", "https://10.0.20.13:2379"] } } });
    });

    test("kubeadm-config and kubelet-config as kubeadm uploads them, kubelet-config signed with kubeadm's hash", () => {
        const kubeadmConfig = yaml.load(byName("c-objects-configmap-kube-system-kubeadm-config").inputs.data.ClusterConfiguration) as any;
        expect(kubeadmConfig).toMatchObject({ kind: "ClusterConfiguration", controlPlaneEndpoint: "k8s-api.example.internal:6443" });
        expect(kubeadmConfig.apiServer.extraArgs).toEqual([{ name: "encryption-provider-config", value: "/etc/kubernetes/enc/encryption-config.yaml" }]);
        const kubelet = byName("c-objects-configmap-kube-system-kubelet-config").inputs;
        const config = yaml.load(kubelet.data.kubelet) as any;
        expect(config).toMatchObject({ kind: "KubeletConfiguration", clusterDNS: ["10.96.0.10"], rotateCertificates: true });
        expect(config).not.toHaveProperty("resolvConf");
        const hash = require("node:crypto").createHash("sha256").update(kubelet.data.kubelet).digest("hex");
        expect(kubelet.metadata.annotations["kubeadm.kubernetes.io/component-config.hash"]).toBe(`sha256:${hash}`);
    });

    test("every Kubernetes object validates against Kubernetes 1.33's API types", () => {
        const objects = kube().map(r => {
            const m = /^kubernetes:([^:]+):(\w+?)(Patch)?$/.exec(r.type)!;
            const version = m[1].split("/").pop()!;
            const { provider: _p, ...object } = r.inputs;
            return { type: `${version[0].toUpperCase()}${version.slice(1)}${m[2]}`, object, name: r.name };
        });
        expect(objects.length).toBeGreaterThan(25);
        const errors = validateObjects("1.33", objects.map(({ type, object }) => ({ type, object })));
        expect(objects.map((o, i) => [o.name, errors[i]]).filter(([, e]) => e.length)).toEqual([]);
    });
});

describe("bad input is rejected while the program is evaluated", () => {
    test("a worker listed twice", () => {
        const spec = dedicated();
        spec.hosts.push(host("worker-1", "10.0.30.29", ["worker"]));
        expect(() => new Cluster("bad1", spec)).toThrow(/hosts\[9\] \(worker-1\)\.name: "worker-1" — a name no other host has \(hosts\[6\] \(worker-1\) has it too\)/);
    });

    test("a worker named like a control plane", () => {
        const spec = dedicated();
        spec.hosts[6] = host("cp-1", "10.0.30.21", ["worker"]);
        expect(() => new Cluster("bad2", spec)).toThrow(/hosts\[6\] \(cp-1\)\.name: "cp-1" — a name no other host has \(hosts\[3\] \(cp-1\) has it too\)/);
    });

    test("a host that is both control plane and worker", () => {
        const spec = dedicated();
        spec.hosts[3] = host("cp-1", "10.0.10.11", ["control-plane", "worker"]);
        expect(() => new Cluster("bad3", spec)).toThrow(/hosts\[3\] \(cp-1\)\.roles: \["control-plane","worker"\] — "control-plane" or "worker", not both/);
    });

    test("a CNI manifest that is not YAML, or not Kubernetes objects", () => {
        expect(() => new Cluster("bad4", dedicated({ cni: { manifest: "kind: [unclosed" } }))).toThrow(/cni\.manifest: "\(YAML that does not parse: .*\)" — valid YAML/);
        expect(() => new Cluster("bad5", dedicated({ cni: { manifest: "just: a map\n" } }))).toThrow(/cni\.manifest document 1: .* — a Kubernetes object with apiVersion, kind and metadata.name/);
        expect(() => new Cluster("bad6", dedicated({ cni: { manifestFile: "/nonexistent/cni.yaml" } }))).toThrow(/cni\.manifestFile: "\/nonexistent\/cni.yaml" — a readable file/);
    });

});

/** The content a step's script places at a path (public files are heredocs in the script). */
function placed(script: string, path: string): string {
    const at = script.indexOf(`tmp=$(tmpfile ${path})`);
    if (at < 0) throw new Error(`the script places no ${path}`);
    const m = /^cat > "\$tmp" <<'(EOF_\w+)'\n([\s\S]*?)\n\1$/m.exec(script.slice(at));
    return `${m![2]}\n`;
}

describe("etcd stacked on the control planes (kubeadm's default)", () => {
    beforeAll(async () => {
        await runtime.start();
        const spec = haSpec();
        spec.hosts = spec.hosts.filter(h => !h.roles.includes("etcd"));
        await run(spec);
    });
    const install = (cp: string) => byName(`c-control-plane-${cp}-install`);
    const etcdFlags = (cp: string) => (yaml.load(placed(install(cp).inputs.create, "/etc/kubernetes/manifests/etcd.yaml")) as any).spec.containers[0].command as string[];

    test("no etcd hosts' steps: each control plane carries its member; the gate over all members after the last one", () => {
        // Only the snapshot before a version change, on the first control plane, before any control plane changes.
        expect(runtime.resources.filter(r => r.name.startsWith("c-etcd")).map(r => r.name)).toEqual(["c-etcd-snapshot"]);
        expect(byName("c-etcd-snapshot").inputs.connection.host).toBe("10.0.10.11");
        waitsFor("c-control-plane-cp-1-install", "c-etcd-snapshot");
        waitsFor("c-etcd-snapshot", "c-upgrade-preflight", "c-workers-worker-2-preflight", "c-control-plane-cp-3-preflight");
        waitsFor("c-control-plane-etcd-health", "c-control-plane-cp-3-register-lb-1");
        expect(byName("c-control-plane-etcd-health").inputs.create).toMatch(/cp-1=https:\/\/10\.0\.10\.11:2379/);
        for (const w of ["worker-1", "worker-2"]) waitsFor(`c-workers-${w}-join`, "c-control-plane-etcd-health");
        waitsFor("c-control-plane-cp-2-install", "c-control-plane-cp-1-register-lb-1");
    });

    test("kubeadm init's one-member etcd on the first; each next one joins the members before it (reference §3.5)", () => {
        const first = etcdFlags("cp-1");
        expect(first).toContain("--initial-cluster=cp-1=https://10.0.10.11:2380");
        expect(first).toContain("--listen-client-urls=https://127.0.0.1:2379,https://10.0.10.11:2379");
        expect(first.some(f => f.startsWith("--initial-cluster-state"))).toBe(false);
        const third = etcdFlags("cp-3");
        expect(third).toContain("--initial-cluster=cp-1=https://10.0.10.11:2380,cp-2=https://10.0.10.12:2380,cp-3=https://10.0.10.13:2380");
        expect(third).toContain("--initial-cluster-state=existing");
        // The apiserver uses its local member, as kubeadm's stacked control plane.
        const apiserver = (yaml.load(placed(install("cp-2").inputs.create, "/etc/kubernetes/manifests/kube-apiserver.yaml")) as any).spec.containers[0].command as string[];
        expect(apiserver).toContain("--etcd-servers=https://127.0.0.1:2379");
    });

    test("a joining member is added (as a learner) before its manifest is written, and promoted after", () => {
        const text = install("cp-2").inputs.create as string;
        const add = text.indexOf("etcd_api cluster/member/add");
        expect(add).toBeGreaterThan(0);
        expect(text).toContain('isLearner\\":true');
        expect(add).toBeLessThan(text.indexOf("tmp=$(tmpfile /etc/kubernetes/manifests/etcd.yaml)"));
        expect(text.indexOf("cluster/member/promote")).toBeGreaterThan(text.indexOf("tmp=$(tmpfile /etc/kubernetes/manifests/etcd.yaml)"));
        expect(text).toContain("etcd_endpoints=(https://10.0.10.11:2379)");
        expect(install("cp-1").inputs.create).not.toContain("cluster/member/add");
    });

    test("each member's own certificates; keys only on stdin", () => {
        for (const cp of ["cp-1", "cp-2", "cp-3"]) {
            const r = install(cp);
            const pem = placed(r.inputs.create, "/etc/kubernetes/pki/etcd/server.crt");
            const cert = new X509Certificate(pem);
            expect(cert.subject).toBe(`CN=${cp}`);
            expect(cert.subjectAltName).toContain("IP Address:127.0.0.1");
            for (const key of ["etcd/server.key", "etcd/peer.key", "etcd/healthcheck-client.key", "etcd/ca.key"]) {
                expect(r.inputs.stdin).toMatch(new RegExp(`^/etc/kubernetes/pki/${key} \\S+$`, "m"));
                expect(r.inputs.create).not.toContain("PRIVATE KEY");
            }
        }
    });
});

describe("add-ons", () => {
    beforeEach(() => runtime.start());

    test("a CNI manifest with the pod subnet substituted where asked; kube-proxy and CoreDNS can be left out", async () => {
        const manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kube-flannel-cfg\n  namespace: kube-flannel\ndata:\n  net-conf.json: '{\"Network\": \"10.244.0.0/16\"}'\n";
        await run(dedicated({ networking: { podSubnet: "10.200.0.0/16" }, cni: { manifest, podSubnetPlaceholder: "10.244.0.0/16" }, proxy: { disabled: true }, dns: { disabled: true } }));
        const cni = byName("c-addons-cni");
        expect(cni.type).toBe("kubernetes:yaml/v2:ConfigGroup");
        expect(cni.inputs.yaml).toContain("\"Network\": \"10.200.0.0/16\"");
        expect(runtime.registrations.filter(r => r.name.startsWith("c-addons-") && r.custom).map(r => r.name)).toEqual([]);
    });
});

describe("with nodePreparation: every host's preflight, then every host's preparation, then any change", () => {
    const INSTALLER = "echo install-kubelet-marker";
    const HOSTS = ["etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3", "worker-1", "worker-2"];
    const stepOf = (h: string, what: string) => (h.startsWith("etcd") ? `c-etcd-${h}-${what}` : h.startsWith("cp") ? `c-control-plane-${h}-${what}` : `c-workers-${h}-${what}`);
    beforeAll(async () => {
        await runtime.start();
        await run(dedicated({ nodePreparation: { installer: "command", command: INSTALLER } }));
    });

    test("a preflight installs and writes nothing: it leaves the checks of what preparation provides to the preparation step", () => {
        for (const h of HOSTS) {
            const create = byName(stepOf(h, "preflight")).inputs.create as string;
            expect([h, create.includes("install-kubelet-marker") || create.includes("/etc/sysctl.d/k8s.conf <") || create.includes("modprobe")]).toEqual([h, false]);
            expect(create).toContain("[preflight] checked after nodePreparation, once every host passed its preflight: ");
            expect(create).not.toContain("check FileExisting-kubelet");
            const prepare = byName(stepOf(h, "prepare")).inputs.create as string;
            expect(prepare).toContain("install-kubelet-marker");
            expect(prepare).toContain("check FileExisting-kubelet");
        }
        expect(byName("c-control-plane-cp-1-prepare").inputs.create).toContain("check FileExisting-kubectl");
        expect(byName("c-workers-worker-1-prepare").inputs.create).toContain("check FileExisting-crictl");
    });

    test("each preparation waits for every host's preflight through the upgrade preflight (it names a few steps, not every host)", () => {
        for (const h of HOSTS) {
            waitsFor(stepOf(h, "prepare"), "c-upgrade-preflight", ...HOSTS.map(x => stepOf(x, "preflight")));
            expect([h, byName(stepOf(h, "prepare")).dependsOn.length <= 5]).toEqual([h, true]);
            for (const x of HOSTS) expect([...closure(stepOf(h, "prepare"))]).not.toContain(stepOf(x, "prepare"));
        }
    });

    test("nothing changes before every host is prepared: etcd, the control planes and the workers", () => {
        const preparations = HOSTS.map(h => stepOf(h, "prepare"));
        for (const changes of ["c-etcd-etcd-1-install", "c-control-plane-cp-1-install", "c-control-plane-cp-1-deregister-lb-1", "c-control-plane-lb-1-haproxy", "c-workers-worker-1-join", "c-workers-worker-2-join"]) {
            waitsFor(changes, ...preparations);
        }
    });

    test("three resources per worker (preflight, preparation, join); nine per control plane (its preparation, and the kubelet step of an installer)", () => {
        expect(runtime.resources.filter(r => r.name.includes("worker-1")).map(r => r.name).sort()).toEqual(["c-workers-worker-1-join", "c-workers-worker-1-preflight", "c-workers-worker-1-prepare"]);
        expect(runtime.resources.filter(r => /-cp-2(-|$)/.test(r.name) && !r.name.startsWith("c-pki-")).map(r => r.name).sort()).toEqual([
            "c-control-plane-cp-2-deregister-lb-1", "c-control-plane-cp-2-install", "c-control-plane-cp-2-kubelet", "c-control-plane-cp-2-preflight", "c-control-plane-cp-2-prepare",
            "c-control-plane-cp-2-ready", "c-control-plane-cp-2-register-lb-1", "c-control-plane-cp-2-upgraded", "c-mark-control-plane-cp-2",
        ]);
    });
});

describe("kube-vip: the first control plane's kube-vip leaves super-admin.conf once the cluster-admins binding exists", () => {
    beforeAll(async () => {
        await runtime.start();
        const spec = haSpec({ controlPlaneEndpoint: "10.0.10.5:6443", loadBalancer: { type: "kube-vip", kubeVip: { interface: "eth0" } } });
        spec.hosts = spec.hosts.filter(h => !h.roles.includes("load-balancer"));
        await run(spec);
    }, 120_000);
    const mounts = (text: string) => [...text.matchAll(/hostPath:\n\s+path: (\S+)/g)].map(m => m[1]);

    test("after the binding and cp-1's last step, one step on cp-1 moves kube-vip to admin.conf; the workers and add-ons wait for it", () => {
        const step = byName("c-control-plane-cp-1-kube-vip-admin-conf");
        waitsFor(step.name, "c-objects-clusterrolebinding-kubeadm-cluster-admins", "c-control-plane-cp-1-upgraded");
        expect(mounts(step.inputs.create)).toEqual(["/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"]);
        expect(step.inputs.create).toContain("https://10.0.10.5:6443/readyz");
        waitsFor("c-workers-worker-1-join", step.name);
        waitsFor("c-addons-daemonset-kube-system-kube-proxy", step.name);
    });

    test("cp-1's register step places the admin.conf variant once the binding is recorded on the host, else super-admin.conf; the others always admin.conf", () => {
        const first = byName("c-control-plane-cp-1-register-kube-vip").inputs.create as string;
        expect(first).toContain("if [ -f /var/lib/pulumi-kubeadm/cluster-admins-bound ]; then");
        expect(mounts(first)).toEqual(["/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"]);
        expect(mounts(byName("c-control-plane-cp-2-register-kube-vip").inputs.create)).toEqual(["/etc/kubernetes/admin.conf"]);
    });
});
