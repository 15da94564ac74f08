import { EnvVar, HostPathMount } from "../../spec/types";

/**
 * kubeadm's static pod shape (cmd/kubeadm/app/util/staticpod/utils.go): one container in
 * kube-system with hostNetwork, system-node-critical priority, RuntimeDefault seccomp, volumes and
 * mounts sorted by name, and kubeadm's probe timings.
 */
export interface StaticPodInput {
    name: string;
    image: string;
    command: string[];
    /** Kubernetes minor, e.g. "1.33": from 1.34 probes use a named port declared on the container. */
    minor: string;
    probe: { host: string; port: number; scheme: "HTTP" | "HTTPS" };
    liveness: string;
    readiness?: string;
    startup: string;
    /** ceil(controlPlaneComponentHealthCheck / 10s); 24 for kubeadm's default 4m. */
    startupFailureThreshold: number;
    requests: Record<string, string>;
    volumes: HostPathMount[];
    /** kubeadm sorts a control-plane component's mounts by name, but keeps etcd's in their order. */
    mountsInOrder?: boolean;
    annotations?: Record<string, string>;
    env?: EnvVar[];
}

export type Pod = Record<string, any>;

export function staticPod(p: StaticPodInput): Pod {
    const namedPort = minorAtLeast(p.minor, 1, 34);
    const probe = (path: string) => ({
        httpGet: { ...(p.probe.host ? { host: p.probe.host } : {}), path, port: namedPort ? "probe-port" : p.probe.port, scheme: p.probe.scheme },
    });
    const volumes = [...p.volumes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const container: Record<string, any> = {
        command: p.command,
        image: p.image,
        imagePullPolicy: "IfNotPresent",
        livenessProbe: { failureThreshold: 8, ...probe(p.liveness), initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15 },
        name: p.name,
        resources: { requests: p.requests },
        startupProbe: { failureThreshold: p.startupFailureThreshold, ...probe(p.startup), initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15 },
        volumeMounts: (p.mountsInOrder ? p.volumes : volumes).map(v => ({ mountPath: v.mountPath, name: v.name, ...(v.readOnly ? { readOnly: true } : {}) })),
    };
    if (p.readiness) container.readinessProbe = { failureThreshold: 3, ...probe(p.readiness), periodSeconds: 1, timeoutSeconds: 15 };
    if (namedPort) container.ports = [{ containerPort: p.probe.port, name: "probe-port", protocol: "TCP" }];
    if (p.env?.length) container.env = [...p.env].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
            ...(p.annotations ? { annotations: p.annotations } : {}),
            // kubeadm 1.33's apimachinery still wrote the zero timestamp as null.
            ...(minorAtLeast(p.minor, 1, 34) ? {} : { creationTimestamp: null }),
            labels: { component: p.name, tier: "control-plane" },
            name: p.name,
            namespace: "kube-system",
        },
        spec: {
            containers: [container],
            hostNetwork: true,
            priority: 2000001000,
            priorityClassName: "system-node-critical",
            securityContext: { seccompProfile: { type: "RuntimeDefault" } },
            volumes: volumes.map(v => ({ hostPath: { path: v.hostPath, type: v.pathType ?? "DirectoryOrCreate" }, name: v.name })),
        },
        status: {},
    };
}

export function minorAtLeast(minor: string, major: number, min: number): boolean {
    const [ma, mi] = minor.split(".").map(Number);
    return ma > major || (ma === major && mi >= min);
}
