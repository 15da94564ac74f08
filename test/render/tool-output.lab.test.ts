import { controlPlaneKubeletScript, workerRolloutScript } from "../../render/kubelet-upgrade";
import { Lab, labHosts } from "../lab/lab";

// A failed step says its own reason first, in one line, without the tool's noise: the machine's
// real kubectl, on a lab host whose admin.conf names an API server that refuses connections,
// prints five klog lines of discovery-cache errors before its own message.
const [HOST] = labHosts(["cp-1"]);
let lab: Lab;
const drain = { version: "v1.33.2", drainTimeoutSeconds: 30, disableEviction: false, kubeletReadyTimeoutSeconds: 30 };

beforeAll(async () => {
    lab = await Lab.start([HOST]);
    // Port 9 (discard) on the host's own address: nothing listens, so every connection is refused.
    const r = await lab.exec("cp-1", `set -e
install -d /etc/kubernetes
cat > /etc/kubernetes/admin.conf <<'CONF'
apiVersion: v1
kind: Config
clusters: [{name: kubernetes, cluster: {server: "https://${HOST.address}:9", insecure-skip-tls-verify: true}}]
users: [{name: kubernetes-admin, user: {token: not-a-secret}}]
contexts: [{name: admin, context: {cluster: kubernetes, user: kubernetes-admin}}]
current-context: admin
CONF
chmod 0600 /etc/kubernetes/admin.conf`);
    expect(r.stderr).toBe("");
}, 120_000);

afterAll(async () => {
    await lab?.stop();
}, 60_000);

describe("a kubectl failure in a step: the step's reason first, in one line, kubectl's cache noise cut", () => {
    test("kubectl itself prints klog lines before its message here (what the steps must cut)", async () => {
        const r = await lab.exec("cp-1", "kubectl --kubeconfig=/etc/kubernetes/admin.conf --request-timeout=5s get node worker-1");
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/^E\d{4} .*memcache\.go:\d+\]/m);
    });

    test.each([
        ["workers' rollout", () => workerRolloutScript({ host: "cp-1", step: "workers' kubelets: drain-1", ...drain, release: [], drain: ["worker-1"] })],
        ["a control plane's kubelet", () => controlPlaneKubeletScript({ host: "cp-1", step: "control-plane kubelet upgrade", ...drain, node: "cp-1", installer: { installer: "command", command: "true" } })],
    ])("%s", async (_, script) => {
        // The lab kubelet is 1.33.2 and the version 1.33.2: the control plane's step reads its Node to see whether a stopped run left it drained.
        const r = await lab.exec("cp-1", script());
        expect(r.code).toBe(1);
        const lines = r.stderr.trim().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^\\[cp-1\\] [^:]+: .*(cannot read|could not be read).*The connection to the server ${HOST.address.replace(/\./g, "\\.")}:9 was refused`));
        expect(lines[0]).not.toMatch(/memcache|E\d{4} /);
    });
});
