import { validateCluster } from "../../spec/validate";
import { kubeVipPod } from "../../render/kube-vip";
import { apiServerPod, ControlPlaneInput, controllerManagerPod, schedulerPod } from "../../render/manifests/control-plane";
import { etcdPod } from "../../render/manifests/etcd";
import { SUPPORTED_MINORS } from "../../render/versions";
import { haSpec } from "../support/fixtures";
import { validateObjects as validate } from "../support/k8s-validate";

/**
 * The API types each supported minor is checked against: the official client generated for that
 * release. No client was generated for 1.35, so it is checked against both neighbours (a field
 * must exist in both); none exists yet for 1.37, which is checked against 1.36's.
 */
const RELEASES: Record<string, string[]> = {
    "1.33": ["1.33"], "1.34": ["1.34"], "1.35": ["1.34", "1.36"], "1.36": ["1.36"], "1.37": ["1.36"],
};

function input(minor: string): ControlPlaneInput {
    return {
        minor, version: `v${minor}.1`, imageRepository: "registry.k8s.io", node: { name: "cp-1", address: "10.0.10.11" }, bindPort: 6443,
        certificatesDir: "/etc/kubernetes/pki", clusterName: "kubernetes", serviceSubnet: "10.96.0.0/12", podSubnet: "10.244.0.0/16",
        dnsDomain: "cluster.local", etcdServers: ["https://10.0.20.11:2379"], caCertDirs: ["/etc/ca-certificates"], externalCa: false,
        encryptionProviderConfig: "/etc/kubernetes/enc/encryption-config.yaml",
        apiServer: { extraEnvs: [{ name: "GOGC", value: "50" }], extraVolumes: [{ name: "audit", hostPath: "/var/log/audit", mountPath: "/var/log/audit", pathType: "DirectoryOrCreate" }] },
    };
}

describe.each(SUPPORTED_MINORS.map(m => [m]))("static pods for Kubernetes %s validate against that release's API types", minor => {
    const pods = () => {
        const spec = haSpec({ kubernetesVersion: `v${minor}.1`, controlPlaneEndpoint: "10.0.10.5:6443", loadBalancer: { type: "kube-vip", kubeVip: { interface: "eth0" } } });
        spec.hosts = spec.hosts.filter(h => !h.roles.includes("load-balancer"));
        const cluster = validateCluster(spec);
        return {
            "kube-apiserver": apiServerPod(input(minor)),
            "kube-controller-manager": controllerManagerPod(input(minor)),
            "kube-scheduler": schedulerPod(input(minor)),
            etcd: etcdPod({
                minor, imageTag: "3.5.21-0", imageRepository: "registry.k8s.io", member: { name: "cp-1", address: "10.0.10.11" },
                initialCluster: [{ name: "cp-1", address: "10.0.10.11" }], initialClusterState: "new", topology: "stacked",
                dataDir: "/var/lib/etcd", certificatesDir: "/etc/kubernetes/pki",
            }),
            "kube-vip": kubeVipPod({ cluster, node: cluster.controlPlanes[0] }),
        };
    };

    test.each(RELEASES[minor].map(r => [r]))("against %s", release => {
        const all = pods();
        const errors = validate(release, Object.values(all).map(object => ({ type: "V1Pod", object })));
        expect(Object.fromEntries(Object.keys(all).map((name, i) => [name, errors[i]]))).toEqual(Object.fromEntries(Object.keys(all).map(name => [name, []])));
    });
});

test("the check can fail: an unknown field, a wrong type, a field newer than the release, the wrong kind", () => {
    const pod = apiServerPod(input("1.33"));
    const unknown = structuredClone(pod);
    unknown.spec.containers[0].foo = 1;
    const wrongType = structuredClone(pod);
    wrongType.spec.hostNetwork = "yes";
    const tooNew = structuredClone(pod);
    tooNew.spec.containers[0].restartPolicyRules = [{ action: "Restart", exitCodes: { operator: "In", values: [42] } }];
    const wrongKind = { ...structuredClone(pod), kind: "Deployment" };
    const [a, b, c, d] = validate("1.33", [unknown, wrongType, tooNew, wrongKind].map(object => ({ type: "V1Pod", object })));
    expect(a).toEqual(["/spec/containers/0 must NOT have additional properties (foo)"]);
    expect(b).toEqual(["/spec/hostNetwork must be boolean"]);
    expect(c).toEqual(["/spec/containers/0 must NOT have additional properties (restartPolicyRules)"]);
    expect(d).toEqual(["/kind must be equal to constant"]);
    expect(validate("1.34", [{ type: "V1Pod", object: tooNew }])).toEqual([[]]);
});
