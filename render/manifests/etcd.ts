import * as net from "node:net";
import { joinHostPort } from "../../spec/network";
import { Arg, EnvVar, NodeAddress } from "../../spec/types";
import { argumentsToCommand, argValue } from "../arguments";
import { Pod, staticPod } from "./static-pod";

export interface EtcdPodInput {
    /** Kubernetes minor ("1.33"): selects probes and port naming. */
    minor: string;
    /** etcd image tag ("3.5.21-0"): 3.6+ takes feature gates instead of experimental flags. */
    imageTag: string;
    imageRepository: string;
    member: NodeAddress;
    /** Every member of the cluster, this one included. */
    initialCluster: NodeAddress[];
    initialClusterState: "new" | "existing";
    /**
     * "dedicated" follows kubeadm's HA guide for external etcd hosts (clients on the member's
     * address only); "stacked" is kubeadm's local etcd (loopback and member address).
     */
    topology: string;
    dataDir: string;
    certificatesDir: string;
    extraArgs?: Arg[];
    extraEnvs?: EnvVar[];
    /** Startup probe failure threshold: ceil(health-check timeout / 10 s). */
    startupFailureThreshold?: number;
}

const url = (scheme: string, host: string, port: number) => `${scheme}://${joinHostPort(host, port)}`;

/** The default flags of kubeadm's etcd static pod (phases/etcd/local.go getEtcdCommand), before extraArgs. */
export function etcdDefaultArgs(i: EtcdPodInput): Arg[] {
    const ipv6 = net.isIPv6(i.member.address);
    const localhost = ipv6 ? "::1" : "127.0.0.1";
    const pki = i.certificatesDir;
    const args: Arg[] = [
        { name: "name", value: i.member.name },
        { name: "listen-client-urls", value: i.topology === "stacked"
            ? `${url("https", localhost, 2379)},${url("https", i.member.address, 2379)}`
            : url("https", i.member.address, 2379) },
        { name: "advertise-client-urls", value: url("https", i.member.address, 2379) },
        { name: "listen-peer-urls", value: url("https", i.member.address, 2380) },
        { name: "initial-advertise-peer-urls", value: url("https", i.member.address, 2380) },
        { name: "data-dir", value: i.dataDir },
        { name: "cert-file", value: `${pki}/etcd/server.crt` },
        { name: "key-file", value: `${pki}/etcd/server.key` },
        { name: "trusted-ca-file", value: `${pki}/etcd/ca.crt` },
        { name: "client-cert-auth", value: "true" },
        { name: "peer-cert-file", value: `${pki}/etcd/peer.crt` },
        { name: "peer-key-file", value: `${pki}/etcd/peer.key` },
        { name: "peer-trusted-ca-file", value: `${pki}/etcd/ca.crt` },
        { name: "peer-client-cert-auth", value: "true" },
        { name: "snapshot-count", value: "10000" },
        { name: "listen-metrics-urls", value: url("http", localhost, 2381) },
        { name: "initial-cluster", value: i.initialCluster.map(m => `${m.name}=${url("https", m.address, 2380)}`).join(",") },
    ];
    if (i.initialClusterState === "existing") args.push({ name: "initial-cluster-state", value: "existing" });
    else if (i.topology !== "stacked") args.push({ name: "initial-cluster-state", value: "new" });
    if (etcdAtLeast(i.imageTag, 3, 6)) {
        args.push({ name: "feature-gates", value: "InitialCorruptCheck=true" }, { name: "watch-progress-notify-interval", value: "5s" });
    } else {
        args.push({ name: "experimental-initial-corrupt-check", value: "true" }, { name: "experimental-watch-progress-notify-interval", value: "5s" });
    }
    return args;
}

/** kubeadm's etcd static pod for one member. */
export function etcdPod(i: EtcdPodInput): Pod {
    const command = ["etcd", ...argumentsToCommand(etcdDefaultArgs(i), i.extraArgs)];
    const probe = probeEndpoint(command, net.isIPv6(i.member.address));
    return staticPod({
        name: "etcd",
        image: `${i.imageRepository}/etcd:${i.imageTag}`,
        command,
        minor: i.minor,
        probe,
        liveness: "/livez",
        readiness: "/readyz",
        startup: "/readyz",
        startupFailureThreshold: i.startupFailureThreshold ?? 24,
        requests: { cpu: "100m", memory: "100Mi" },
        volumes: [
            { name: "etcd-data", hostPath: i.dataDir, mountPath: i.dataDir, pathType: "DirectoryOrCreate" },
            { name: "etcd-certs", hostPath: `${i.certificatesDir}/etcd`, mountPath: `${i.certificatesDir}/etcd`, pathType: "DirectoryOrCreate" },
        ],
        mountsInOrder: true,
        annotations: { "kubeadm.kubernetes.io/etcd.advertise-client-urls": url("https", i.member.address, 2379) },
        env: i.extraEnvs,
    });
}

/** GetEtcdProbeEndpoint: the first listen-metrics-urls entry, else the loopback on 2381 over HTTP. */
function probeEndpoint(command: string[], ipv6: boolean): { host: string; port: number; scheme: "HTTP" | "HTTPS" } {
    const first = argValue(command, "listen-metrics-urls")?.split(",")[0];
    const fallback = { host: ipv6 ? "::1" : "127.0.0.1", port: 2381, scheme: "HTTP" as const };
    if (!first) return fallback;
    try {
        const u = new URL(first);
        return {
            host: u.hostname.replace(/^\[|\]$/g, "") || fallback.host,
            port: u.port ? Number(u.port) : 2381,
            scheme: u.protocol === "https:" ? "HTTPS" : "HTTP",
        };
    } catch {
        return fallback;
    }
}

export function etcdAtLeast(tag: string, major: number, minor: number): boolean {
    const m = /^v?(\d+)\.(\d+)/.exec(tag);
    if (!m) return false;
    return Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor);
}
