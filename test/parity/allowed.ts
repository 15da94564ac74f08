import { Difference } from "./compare";

/**
 * Where our files differ from what the real kubeadm writes for the same node, on purpose, and why.
 * test/parity/kubeadm-parity.test.ts fails on a difference not listed here and on an entry that
 * matches none (a difference that was fixed).
 */
export interface Allowance {
    /** The file on the node (a regular expression). */
    file: RegExp;
    /** The field, flag or fact (a regular expression). */
    path: RegExp;
    /** Only for these minors (all when absent). */
    minors?: string[];
    topology?: string;
    reason: string;
}

export const ALLOWED: Allowance[] = [
    {
        file: /\.(crt|conf)$/, path: /backdatedMinutes$/,
        reason: "kubeadm (1.31+) sets NotBefore five minutes before issue, for hosts whose clocks lag; @pulumi/tls cannot backdate, "
            + "so ours start at issue time (README, Known differences). NotAfter is the same day.",
    },
    {
        file: /\/var\/lib\/kubelet\/kubeadm-flags\.env$/, path: /--register-with-taints$/,
        reason: "Every control plane registers with its taints as kubeadm join does; kubeadm init instead taints its first node through the API "
            + "(mark-control-plane), so its init flags have none. The Node's taints are the same either way, and no step of ours needs the API for them.",
    },
    {
        file: /\/pki\/(etcd\/ca|apiserver-etcd-client)\.crt$/, path: /^$/, topology: "dedicated etcd",
        reason: "With an external etcd kubeadm expects the etcd CA and the API server's etcd client certificate to be there (the user copies them); "
            + "a Cluster with dedicated etcd hosts issues and places them itself.",
    },
];

const matches = (a: Allowance, d: Difference) =>
    a.file.test(d.file) && a.path.test(d.path) && (!a.minors || a.minors.includes(d.minor ?? "")) && (!a.topology || a.topology === d.topology);

export function allowedFor(d: Difference): Allowance | undefined {
    return ALLOWED.find(a => matches(a, d));
}

export function staleAllowances(seen: Difference[]): string[] {
    return ALLOWED.filter(a => !seen.some(d => matches(a, d))).map(a => `${a.file} ${a.path}: ${a.reason}`);
}
