import * as fs from "node:fs";
import yaml from "js-yaml";
import { clusterConfigurationYaml, controlPlaneAdditions } from "../../render/cluster-configuration";
import { controlPlaneTaints } from "../../render/control-plane-files";
import { minorAtLeast } from "../../render/manifests/static-pod";
import { controlPlanePreflight, workerPreflight } from "../../render/host-preflight";
import { VERSION_ROWS } from "../../render/versions";
import { kubeadmOf } from "../../scripts/real-tools";
import { DEFAULTS, validateCluster } from "../../spec/validate";
import { host } from "../support/fixtures";
import { cgroupsV1, Lab, labHosts } from "../lab/lab";

/**
 * Preflight parity (issue 17, item 3): on the same lab host, with the kubelet of the same release
 * installed, the real `kubeadm init phase preflight` of each supported minor and our control-plane
 * preflight (told to ignore every error, so that it lists every check that fails) must give the
 * same checks the same verdicts: an error, or a warning. The host is made to fail some: a foreign
 * kube-apiserver manifest, a non-empty /var/lib/etcd, no container runtime answering, and the lab
 * machine's own cgroups v1 (SystemVerification: a warning before 1.35, an error from 1.35). The same
 * for `kubeadm join phase preflight` and our worker preflight, on a host holding another cluster's
 * kubelet.conf, bootstrap-kubelet.conf and ca.crt. Checks only one side runs are listed in
 * KUBEADM_ONLY / OURS_ONLY with the reason.
 */
const HOSTS = labHosts(["cp-1", "worker-1"]);
const [NODE, WORKER] = HOSTS;

/** kubeadm's checks we do not run, and why. */
const KUBEADM_ONLY: Record<string, string> = {
    "Service-kubelet": "kubeadm warns that kubelet.service is not enabled; our install enables and starts it itself",
    "Service-Kubelet": "the same check as kubeadm 1.33 and 1.34 name it",
    ContainerRuntimeVersion: "kubeadm asks the runtime for its CRI version; our CRI check (crictl info) only asks that it answers",
    ImagePull: "kubeadm pulls the control-plane images in preflight; the kubelet pulls them when the manifests land (no runtime answers in the lab)",
    KubeletVersion: "kubeadm compares `kubelet --version`; our install step checks the kubelet against the skew policy before anything is written",
    Hostname: "kubeadm resolves the hostname (in the lab's isolated namespace no resolver answers); we pass --hostname-override when it is not the node name",
    Firewalld: "kubeadm warns when firewalld is active; not implemented",
    Mem: "kubeadm wants 1700 MB of memory; not implemented",
    NumCPU: "kubeadm wants 2 CPUs; not implemented",
    HTTPProxy: "kubeadm warns about an HTTP proxy in the environment; the environment of a remote step is not the user's",
    "HTTPProxy-CIDR": "the same, for the service and pod subnets",
};
/** Checks only we run, and why. */
const OURS_ONLY: Record<string, string> = {
    "FileExisting-crictl": "our CRI check asks the runtime through crictl (kubeadm 1.37 asks over the CRI API itself), so we need crictl on the host",
};
/**
 * Checks both run whose verdicts differ in the lab, and why: the lab has a socket node where the
 * runtime's socket would be and nothing answers; kubeadm dials it, we ask with crictl, which the
 * lab's hosts do not have (FileExisting-crictl fails instead).
 */
const LAB_VERDICTS: Record<string, string> = {
    CRI: "without crictl our check only sees the socket exist; kubeadm dials it and is refused",
};
/**
 * kubeadm's Port-N checks listen on the wildcard address: on the lab's shared network another lab
 * host's API server on the same port (at its own address) makes them fail, so kubeadm runs in a
 * network namespace of its own and the ports are compared in test/components/preflight.lab.test.ts.
 */
const isPort = (name: string) => name.startsWith("Port-");
/**
 * That namespace's network: a veth pair whose address kubeadm advertises (it refuses a loopback
 * one, the lab's are 127.x, unless the default route's interface has another). The pair exists
 * only inside the namespace the test made, and nothing is sent to it.
 */
const KUBEADM_ADDRESS = "10.255.0.1";
const ISOLATED_NETWORK = `ip link set lo up && ip link add v0 type veth peer name v1 && ip addr add ${KUBEADM_ADDRESS}/24 dev v0 && ip link set v0 up && ip link set v1 up && ip route add default via 10.255.0.2 dev v0`;

let lab: Lab;
beforeAll(async () => {
    lab = await Lab.start(HOSTS);
    // A control plane that is not this cluster's: its manifest, and etcd data.
    const r = await lab.exec(NODE.name, `install -d /etc/kubernetes/manifests /var/lib/etcd/member
printf 'apiVersion: v1\\nkind: Pod\\nmetadata: {name: kube-apiserver}\\n' > /etc/kubernetes/manifests/kube-apiserver.yaml
touch /var/lib/etcd/member/snap`);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    // A node of another cluster: its kubeconfigs and CA.
    const w = await lab.exec(WORKER.name, `install -d /etc/kubernetes/pki
for f in kubelet.conf bootstrap-kubelet.conf pki/ca.crt; do echo "another cluster's $f" > "/etc/kubernetes/$f"; done`);
    expect(w).toMatchObject({ code: 0, stderr: "" });
}, 120_000);
afterAll(() => lab?.stop());

type Verdicts = Record<string, "error" | "warning">;
/** Each named check and its verdict, from lines whose first group is the verdict's word and second the name. */
function verdicts(text: string, re: RegExp, words: Record<string, "error" | "warning">): Verdicts {
    const out: Verdicts = {};
    for (const m of text.matchAll(re)) if (!isPort(m[2])) out[m[2]] = words[m[1]];
    return out;
}
const without = (v: Verdicts, ...lists: Record<string, string>[]) => Object.fromEntries(Object.entries(v).filter(([n]) => !lists.some(l => n in l)));

/** The lab kubelet on HOST reports RELEASE (kubeadm asks `kubelet --version`). */
async function installKubelet(hostName: string, release: string) {
    expect(await lab.exec(hostName, `sed -i "s/^LAB_KUBELET_VERSION=.*/LAB_KUBELET_VERSION=${release.slice(1)}/" /var/lib/lab/lab.env && kubelet --version`)).toMatchObject({ code: 0, stdout: `Kubernetes ${release}\n` });
}

/** Runs the real kubeadm in a network namespace of its own; without --ignore-preflight-errors it tells errors ([ERROR Name]) from warnings ([WARNING Name]). */
async function kubeadmPreflight(hostName: string, release: string, args: string): Promise<Verdicts> {
    const theirs = await lab.exec(hostName, `unshare --net sh -c '${ISOLATED_NETWORK} && exec "$0" "$@"' ${kubeadmOf(release)} ${args} 2>&1`, undefined, 120_000);
    // kubeadm stopped at its errors (and says why when it did not).
    expect(theirs.stdout.includes("[preflight] Some fatal errors occurred") ? "" : theirs.stdout + theirs.stderr).toBe("");
    return verdicts(theirs.stdout, /\[(ERROR|WARNING) ([A-Za-z0-9.-]+)\]/g, { ERROR: "error", WARNING: "warning" });
}

/** Our preflight, told to ignore every error: each failed check is "ignored", each warning "warning"; it ran to the end. */
async function ourPreflight(hostName: string, script: string): Promise<Verdicts> {
    const ours = await lab.exec(hostName, script);
    expect(ours.code ? ours.stdout + ours.stderr : "").toBe("");
    return verdicts(ours.stdout, /^\[preflight\] (ignored|warning) ([A-Za-z0-9.-]+):/gm, { ignored: "error", warning: "warning" });
}

const compared = (v: Verdicts) => without(v, KUBEADM_ONLY, OURS_ONLY, LAB_VERDICTS);
const cgroupsVerdict = (minor: string) => (minorAtLeast(minor, 1, 35) ? "error" : "warning");

describe.each(VERSION_ROWS.map(r => [r.minor, r.latestKnownPatch]))("preflight parity with the real kubeadm %s", (minor, release) => {
    test("kubeadm init phase preflight and our control-plane preflight fail the same checks", async () => {
        const cluster = validateCluster({
            kubernetesVersion: release, controlPlaneEndpoint: `${NODE.address}:6443`, networking: { podSubnet: "10.244.0.0/16" },
            hosts: [host(NODE.name, NODE.address, ["control-plane"])], loadBalancer: { type: "none" }, ignorePreflightErrors: ["all"],
        });
        const node = cluster.controlPlanes[0];
        const init = yaml.dump({
            apiVersion: "kubeadm.k8s.io/v1beta4", kind: "InitConfiguration",
            localAPIEndpoint: { advertiseAddress: KUBEADM_ADDRESS, bindPort: 6443 },
            nodeRegistration: { name: node.name, criSocket: DEFAULTS.criSocket, taints: controlPlaneTaints(cluster) },
        });
        fs.writeFileSync(lab.path(NODE.name, "/tmp/kubeadm.yaml"), `${init}---\n${clusterConfigurationYaml(cluster, controlPlaneAdditions())}`);
        await installKubelet(NODE.name, release);
        const kubeadm = await kubeadmPreflight(NODE.name, release, "init phase preflight --dry-run --config /tmp/kubeadm.yaml");
        const ours = await ourPreflight(NODE.name, controlPlanePreflight(cluster, node, { caSha256: "", prepare: false }));
        expect(compared(ours)).toEqual(compared(kubeadm));
        expect(Object.keys(ours)).toEqual(expect.arrayContaining(Object.keys(OURS_ONLY)));
        // The host is set up to fail these in both.
        expect(ours).toMatchObject({ "DirAvailable--var-lib-etcd": "error", "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml": "error" });
        if (cgroupsV1()) expect(ours.SystemVerification).toBe(cgroupsVerdict(minor));
    }, 180_000);

    test("kubeadm join phase preflight and our worker preflight fail the same checks", async () => {
        const cluster = validateCluster({
            kubernetesVersion: release, controlPlaneEndpoint: `${NODE.address}:6443`, networking: { podSubnet: "10.244.0.0/16" },
            hosts: [host(NODE.name, NODE.address, ["control-plane"]), host(WORKER.name, WORKER.address, ["worker"])], loadBalancer: { type: "none" }, ignorePreflightErrors: ["all"],
        });
        const join = yaml.dump({
            apiVersion: "kubeadm.k8s.io/v1beta4", kind: "JoinConfiguration",
            discovery: { bootstrapToken: { apiServerEndpoint: `${NODE.address}:6443`, token: "abcdef.0123456789abcdef", unsafeSkipCAVerification: true } },
            nodeRegistration: { name: WORKER.name, criSocket: DEFAULTS.criSocket },
        });
        fs.writeFileSync(lab.path(WORKER.name, "/tmp/join.yaml"), join);
        await installKubelet(WORKER.name, release);
        const kubeadm = await kubeadmPreflight(WORKER.name, release, "join phase preflight --config /tmp/join.yaml");
        const ours = await ourPreflight(WORKER.name, workerPreflight(cluster, cluster.workers[0], { caSha256: "0".repeat(64), prepare: false }));
        expect(compared(ours)).toEqual(compared(kubeadm));
        expect(ours).toMatchObject({
            "FileAvailable--etc-kubernetes-kubelet.conf": "error", "FileAvailable--etc-kubernetes-bootstrap-kubelet.conf": "error", "FileAvailable--etc-kubernetes-pki-ca.crt": "error",
        });
        if (cgroupsV1()) expect(ours.SystemVerification).toBe(cgroupsVerdict(minor));
    }, 180_000);
});
