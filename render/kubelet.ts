import { toYaml } from "./yaml";

export const KUBELET_DROPIN_DIR = "/etc/systemd/system/kubelet.service.d";

/**
 * kubeadm's HA etcd guide: on a dedicated etcd host the kubelet only manages static pods, with
 * this KubeletConfiguration (kept in the drop-in directory, as the guide does).
 */
export function etcdHostKubeletConfig(criSocket: string): string {
    return toYaml({
        address: "127.0.0.1",
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        authentication: { anonymous: { enabled: false }, webhook: { enabled: false } },
        authorization: { mode: "AlwaysAllow" },
        cgroupDriver: "systemd",
        containerRuntimeEndpoint: criSocket,
        kind: "KubeletConfiguration",
        staticPodPath: "/etc/kubernetes/manifests",
    });
}

/** `20-etcd-service-manager.conf`: replaces the packaged ExecStart so kubelet runs standalone. */
export function etcdServiceManagerDropIn(): string {
    return [
        "[Service]",
        "ExecStart=",
        `ExecStart=/usr/bin/kubelet --config=${KUBELET_DROPIN_DIR}/kubelet.conf`,
        "Restart=always",
        "",
    ].join("\n");
}
