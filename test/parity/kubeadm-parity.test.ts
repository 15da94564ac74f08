import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import yaml from "js-yaml";
import { ClusterPki } from "../../components/pki";
import { clusterConfigurationYaml, controlPlaneAdditions } from "../../render/cluster-configuration";
import { controlPlaneFiles, controlPlaneTaints } from "../../render/control-plane-files";
import { VERSION_ROWS } from "../../render/versions";
import { kubeadmOf } from "../../scripts/real-tools";
import { ClusterSpec } from "../../spec/types";
import { DEFAULTS, ResolvedCluster, validateCluster } from "../../spec/validate";
import { haSpec } from "../support/fixtures";
import { KubeadmRoot } from "../support/kubeadm-root";
import { MockRuntime, valueOf } from "../support/mocks";
import { tempDir } from "../support/openssl";
import { Difference, ParityReport, compareCertificate, compareKubeconfig, compareObjects, compareFlagsEnv } from "./compare";
import { ALLOWED, allowedFor, staleAllowances } from "./allowed";

/**
 * Parity against the real kubeadm of every supported minor (issue 17, item 3). For the
 * ClusterConfiguration a Cluster uploads as kubeadm-config, the real `kubeadm init phase certs all`,
 * `kubeconfig all`, `control-plane all`, `etcd local` and `kubelet-start` run in a throwaway root
 * (`--rootfs`), on the node's InitConfiguration and with our CAs and service-account key, so that
 * they sign what ours signs. What kubeadm wrote is compared, file by file and fact by fact, with
 * what a ControlPlane places on the same node (its renderer, on ClusterPki's certificates). Every
 * difference must be fixed or listed in allowed.ts with the reason; an allowance nothing needs fails too.
 */

const runtime = new MockRuntime();
const CA_DIRS = ["/etc/ca-certificates", "/usr/share/ca-certificates", "/usr/local/share/ca-certificates"];
const TOPOLOGIES: [string, (s: ClusterSpec) => ClusterSpec][] = [
    ["dedicated etcd", s => s],
    ["stacked etcd", s => ({ ...s, hosts: s.hosts.filter(h => !h.roles.includes("etcd")) })],
];
const seen: Difference[] = [];
const reports: ParityReport[] = [];

/** kubeadm's InitConfiguration for a node of ours: the same name, address, CRI socket, taints and --node-ip. */
function initConfiguration(cluster: ResolvedCluster, node: ResolvedCluster["controlPlanes"][0]): string {
    return yaml.dump({
        apiVersion: "kubeadm.k8s.io/v1beta4", kind: "InitConfiguration",
        localAPIEndpoint: { advertiseAddress: node.address, bindPort: cluster.spec.apiServer?.bindPort ?? DEFAULTS.bindPort },
        nodeRegistration: {
            name: node.name, criSocket: node.criSocket ?? DEFAULTS.criSocket, taints: controlPlaneTaints(cluster),
            kubeletExtraArgs: [{ name: "node-ip", value: node.address }],
        },
    });
}

async function pkiOf(cluster: ResolvedCluster) {
    const s = cluster.spec;
    const pki = new ClusterPki(`pki-${cluster.version.minor}-${cluster.etcdTopology}`, {
        controlPlaneEndpoint: s.controlPlaneEndpoint!, networking: s.networking,
        controlPlanes: cluster.controlPlanes.map(h => ({ name: h.name, address: h.address })),
        etcdMembers: cluster.etcdMembers.map(h => ({ name: h.name, address: h.address })),
        externalEtcd: cluster.etcdTopology === "external", apiServerCertSANs: s.apiServer?.certSANs, certificates: s.certificates, kubeconfigs: true,
    });
    const [pub, priv, nodePub, nodePriv, kcCerts, kcKeys] = await Promise.all([
        valueOf(pki.publicFiles), valueOf(pki.privateFiles), valueOf(pki.nodePublicFiles), valueOf(pki.nodePrivateFiles),
        valueOf(pki.nodeKubeconfigCerts), valueOf(pki.nodeKubeconfigKeys),
    ]) as Record<string, any>[];
    return { pub, priv, nodePub, nodePriv, kcCerts, kcKeys };
}

beforeAll(() => runtime.start());
afterAll(() => {
    if (reports.length) process.stdout.write(`kubeadm parity:\n${reports.map(r => `  ${r.label}: ${r.files} files, ${r.facts} facts compared, ${r.allowed} allowed differences`).join("\n")}\n`);
});

describe.each(VERSION_ROWS.map(r => [r.minor, r.latestKnownPatch]))("parity with the real kubeadm %s (%s)", (minor, release) => {
    describe.each(TOPOLOGIES)("%s", (topology, shape) => {
        const t = tempDir("kubeadm-parity-");
        // PARITY_KEEP=1 keeps the roots, to read what kubeadm wrote.
        afterAll(() => { if (!process.env.PARITY_KEEP) t.remove(); });
        let differences: Difference[] = [];
        let validateOutput = "";
        let expiration = "";

        beforeAll(async () => {
            const cluster = validateCluster(shape(haSpec({ kubernetesVersion: release })));
            const node = cluster.controlPlanes[0];
            const m = await pkiOf(cluster);
            const ours = controlPlaneFiles({
                cluster, node, first: true, facts: { hostname: os.hostname(), caCertDirs: CA_DIRS, resolvConf: "" },
                etcdServers: cluster.etcdMembers.map(h => `https://${h.address}:2379`),
                material: {
                    publicFiles: m.pub, privateFiles: m.priv, nodePublicFiles: m.nodePub[node.name], nodePrivateFiles: m.nodePriv[node.name],
                    kubeconfigCerts: m.kcCerts[node.name], kubeconfigKeys: m.kcKeys[node.name], encryptionConfig: "kind: EncryptionConfiguration\n",
                },
            });
            const oursByPath = new Map<string, string>();
            for (const f of ours.files) oursByPath.set(f.path, f.content ?? "");
            for (const s of ours.secrets) oursByPath.set(s.path, s.content);

            const root = new KubeadmRoot(path.join(t.dir, "root"), kubeadmOf(release));
            for (const d of CA_DIRS) fs.mkdirSync(root.path(d), { recursive: true });
            // Our CAs and service-account key, so kubeadm signs with them (it keeps a CA it finds).
            const pki = "/etc/kubernetes/pki";
            const cas = ["ca", "front-proxy-ca", ...(cluster.etcdTopology === "stacked" ? ["etcd/ca"] : [])];
            for (const ca of cas) {
                root.write(`${pki}/${ca}.crt`, m.pub[`${ca}.crt`]);
                root.write(`${pki}/${ca}.key`, m.priv[`${ca}.key`], 0o600);
            }
            root.write(`${pki}/sa.key`, m.priv["sa.key"], 0o600);
            root.write(`${pki}/sa.pub`, m.pub["sa.pub"], 0o600);
            root.write("/kubeadm.yaml", `${initConfiguration(cluster, node)}---\n${clusterConfigurationYaml(cluster, controlPlaneAdditions())}`);
            for (const phase of ["certs all", "kubeconfig all", "control-plane all", ...(cluster.etcdTopology === "stacked" ? ["etcd local"] : []), "kubelet-start"]) {
                root.run(["init", "phase", ...phase.split(" "), "--config", "/kubeadm.yaml"]);
            }

            // The ClusterConfiguration we upload, alone, as kubeadm upgrade reads it back from kubeadm-config.
            root.write("/cluster-configuration.yaml", clusterConfigurationYaml(cluster, controlPlaneAdditions()));
            validateOutput = root.run(["config", "validate", "--config", "/cluster-configuration.yaml"]);
            // kubeadm certs check-expiration on our files: a root with only what a ControlPlane places.
            const placed = new KubeadmRoot(path.join(t.dir, "placed"), root.kubeadm);
            for (const [p, content] of oursByPath) placed.write(p, content, /\.(key|conf)$/.test(p) ? 0o600 : 0o644);
            placed.write("/kubeadm.yaml", root.read("/kubeadm.yaml")!);
            expiration = placed.run(["certs", "check-expiration", "--config", "/kubeadm.yaml"]);

            const label = `${minor} ${topology}`;
            const report: ParityReport = { label, files: 0, facts: 0, allowed: 0 };
            const found: Difference[] = [];
            const theirsFiles = listFiles(root.path("/etc/kubernetes")).map(p => `/etc/kubernetes${p}`)
                .concat(listFiles(root.path("/var/lib/kubelet")).map(p => `/var/lib/kubelet${p}`))
                .filter(p => !p.endsWith(".key") && !p.startsWith("/etc/kubernetes/tmp"));
            for (const p of theirsFiles) {
                const theirs = root.read(p)!;
                const mine = oursByPath.get(p);
                report.files++;
                if (mine === undefined) { found.push({ file: p, path: "", ours: "(not placed)", kubeadm: "(written)" }); continue; }
                const file = p;
                if (p.endsWith(".crt")) found.push(...compareCertificate(file, mine, theirs, report));
                else if (p.endsWith(".conf")) found.push(...compareKubeconfig(file, mine, theirs, report));
                else if (p.endsWith(".env")) found.push(...compareFlagsEnv(file, mine, theirs, report));
                else if (p.endsWith(".yaml")) found.push(...compareObjects(file, yaml.load(mine), yaml.load(theirs), report));
            }
            for (const p of oursByPath.keys()) {
                if (p.endsWith(".key") || p.includes("/enc/")) continue;
                if ((p.startsWith("/etc/kubernetes/") || p.startsWith("/var/lib/kubelet/")) && !theirsFiles.includes(p)) found.push({ file: p, path: "", ours: "(placed)", kubeadm: "(not written)" });
            }
            differences = found.map(d => ({ ...d, minor, topology }));
            report.allowed = differences.filter(d => allowedFor(d)).length;
            reports.push(report);
            if (process.env.PARITY_DUMP) fs.writeFileSync(path.join(process.env.PARITY_DUMP, `${minor} ${topology}.json`), JSON.stringify(differences, null, 1));
            seen.push(...differences);
        });

        test("kubeadm config validate accepts the ClusterConfiguration we upload", () => {
            expect(validateOutput).toContain("ok");
        });

        test("kubeadm certs check-expiration reads every certificate and kubeconfig we place: a year left, CAs ten years, none missing", () => {
            const rows = expiration.split("\n").filter(l => /^\S+\s+\w{3} \d\d, \d{4} /.test(l)).map(l => l.split(/\s{2,}/));
            const byName = Object.fromEntries(rows.map(r => [r[0], r]));
            const names = ["admin.conf", "apiserver", "apiserver-kubelet-client", "controller-manager.conf", "front-proxy-client", "scheduler.conf", "super-admin.conf", "ca", "front-proxy-ca",
                ...(topology === "stacked etcd" ? ["apiserver-etcd-client", "etcd-healthcheck-client", "etcd-peer", "etcd-server", "etcd-ca"] : [])];
            expect(Object.keys(byName).sort()).toEqual(expect.arrayContaining(names.sort()));
            expect(expiration).not.toMatch(/MISSING|invalid|error/i);
            for (const n of names) expect({ n, left: byName[n][2] }).toEqual({ n, left: /^ca$|-ca$/.test(n) ? expect.stringMatching(/^(9y|10y)$/) : expect.stringMatching(/^36[45]d$/) });
        });

        test("every difference from kubeadm's files is fixed or allowed with its reason (test/parity/allowed.ts)", () => {
            expect(differences.filter(d => !allowedFor(d)).map(d => `${d.file} ${d.path}: ours ${d.ours} | kubeadm ${d.kubeadm}`)).toEqual([]);
        });
    });
});

describe("the allow-list", () => {
    test("every allowance still matches a difference (a fixed one goes from the list)", () => {
        expect(staleAllowances(seen)).toEqual([]);
        expect(ALLOWED.every(a => a.reason.length > 20)).toBe(true);
    });
});

function listFiles(dir: string, prefix = ""): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e =>
        e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}/${e.name}`) : [`${prefix}/${e.name}`]);
}

