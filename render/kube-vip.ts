import { joinHostPort } from "../spec/network";
import { HostSpec } from "../spec/types";
import { DEFAULTS, ResolvedCluster } from "../spec/validate";

export const KUBE_VIP_MANIFEST = "/etc/kubernetes/manifests/kube-vip.yaml";
/** On the first control plane: the kubeadm:cluster-admins binding exists, so kube-vip runs with admin.conf. */
export const CLUSTER_ADMINS_BOUND = "/var/lib/pulumi-kubeadm/cluster-admins-bound";
/** The kube-vip release the manifest follows (pkg/kubevip/config_generator.go's generatePodSpec). */
export const KUBE_VIP_VERSION = "v1.0.4";

/**
 * kube-vip as `kube-vip manifest pod --interface <if> --address <vip> --controlplane --arp
 * --leaderElection` prints it: ARP mode, the control-plane VIP under leader election, talking to
 * the local API server through the `kubernetes` host alias. The first control plane mounts
 * super-admin.conf in admin.conf's place until the kubeadm:cluster-admins binding exists (`bound`):
 * from Kubernetes 1.29 admin.conf has no rights before it (kube-vip issue #684), and
 * super-admin.conf (system:masters) is not left mounted for good. One change from kube-vip's own:
 * its metrics listen on the node's address only.
 */
export function kubeVipPod(i: { cluster: ResolvedCluster; node: HostSpec; bound?: boolean }): Record<string, any> {
    const s = i.cluster.spec;
    const k = s.loadBalancer!.kubeVip!;
    const vip = k.address ?? i.cluster.endpoint.host;
    const superAdmin = i.cluster.controlPlanes[0]?.name === i.node.name && !i.bound;
    const env = [
        ["vip_arp", "true"],
        ["port", String(s.apiServer?.bindPort ?? DEFAULTS.bindPort)],
        ["vip_nodename", undefined],
        ["vip_interface", k.interface],
        ["vip_subnet", vip.includes(":") ? "128" : "32"],
        ["dns_mode", "first"],
        ["dhcp_mode", vip.includes(":") ? "ipv6" : "ipv4"],
        ["cp_enable", "true"],
        ["cp_namespace", "kube-system"],
        ["vip_leaderelection", "true"],
        ["vip_leasename", "plndr-cp-lock"],
        ["vip_leaseduration", "5"],
        ["vip_renewdeadline", "3"],
        ["vip_retryperiod", "1"],
        ["address", vip],
        // Its metrics on the node's own address, not on every interface (kube-vip's ":2112" default).
        ["prometheus_server", joinHostPort(i.node.address, 2112)],
    ].map(([name, value]) => (value === undefined
        ? { name, valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }
        : { name, value }));
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "kube-vip", namespace: "kube-system" },
        spec: {
            containers: [{
                args: ["manager"],
                env,
                image: `${k.imageRepository ?? DEFAULTS.kubeVipImageRepository}/kube-vip:${k.imageTag ?? KUBE_VIP_VERSION}`,
                imagePullPolicy: "IfNotPresent",
                name: "kube-vip",
                resources: {},
                securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] } },
                volumeMounts: [{ mountPath: "/etc/kubernetes/admin.conf", name: "kubeconfig" }],
            }],
            hostAliases: [{ hostnames: ["kubernetes"], ip: vip.includes(":") ? "::1" : "127.0.0.1" }],
            hostNetwork: true,
            volumes: [{ hostPath: { path: superAdmin ? "/etc/kubernetes/super-admin.conf" : "/etc/kubernetes/admin.conf" }, name: "kubeconfig" }],
        },
        status: {},
    };
}
