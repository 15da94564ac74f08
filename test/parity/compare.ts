import yaml from "js-yaml";
import { inspectCert } from "../support/openssl";

/** One fact on which our file and the real kubeadm's differ. */
export interface Difference {
    /** The path on the node, e.g. /etc/kubernetes/manifests/kube-apiserver.yaml. */
    file: string;
    /** Where in the file: a field path, a flag (`--name`) or a certificate fact. */
    path: string;
    ours: string;
    kubeadm: string;
    minor?: string;
    topology?: string;
}

export interface ParityReport {
    label: string;
    files: number;
    facts: number;
    allowed: number;
}

const show = (v: unknown) => (v === undefined ? "(absent)" : JSON.stringify(v));

/** Certificate facts as openssl reads them; validity to the day, and the backdating of NotBefore. */
export function compareCertificate(file: string, ours: string, theirs: string, report: ParityReport, prefix = ""): Difference[] {
    const day = (d: Date) => d.toISOString().slice(0, 10);
    const facts = (pem: string) => {
        const c = inspectCert(pem);
        return {
            subject: c.subject, issuer: c.issuer, dnsNames: [...c.dnsNames].sort(), ipAddresses: [...c.ipAddresses].sort(),
            keyUsage: [...c.keyUsage].sort(), keyUsageCritical: c.keyUsageCritical, extKeyUsage: [...c.extKeyUsage].sort(),
            isCa: c.isCa, basicConstraintsCritical: c.basicConstraintsCritical, subjectKeyId: c.hasSubjectKeyId, authorityKeyId: c.hasAuthorityKeyId,
            // Validity: the end to the day, and how far NotBefore lies before issue (the lifetime's minutes past whole days).
            notAfter: day(c.notAfter), backdatedMinutes: Math.round(((c.notAfter.getTime() - c.notBefore.getTime()) % 86_400_000) / 60_000), signatureAlgorithm: c.signatureAlgorithm, publicKeyAlgorithm: c.publicKeyAlgorithm,
        };
    };
    const a = facts(ours) as Record<string, unknown>;
    const b = facts(theirs) as Record<string, unknown>;
    const out: Difference[] = [];
    for (const k of Object.keys(b)) {
        report.facts++;
        if (show(a[k]) !== show(b[k])) out.push({ file, path: `${prefix}${k}`, ours: show(a[k]), kubeadm: show(b[k]) });
    }
    return out;
}

/** A kubeconfig: clusters, contexts, users (the client certificate's facts), current context. */
export function compareKubeconfig(file: string, ours: string, theirs: string, report: ParityReport): Difference[] {
    const a = yaml.load(ours) as any;
    const b = yaml.load(theirs) as any;
    const pem = (data: string | undefined) => (data ? Buffer.from(data, "base64").toString("utf8") : "");
    const out: Difference[] = [];
    const strip = (k: any) => ({
        ...k,
        clusters: k.clusters?.map((c: any) => ({ ...c, cluster: { ...c.cluster, "certificate-authority-data": c.cluster["certificate-authority-data"] ? "(CA)" : undefined } })),
        users: k.users?.map((u: any) => ({ ...u, user: Object.fromEntries(Object.keys(u.user).map(f => [f, "(data)"])) })),
    });
    out.push(...compareObjects(file, strip(a), strip(b), report));
    report.facts++;
    if (pem(a.clusters?.[0]?.cluster?.["certificate-authority-data"]) !== pem(b.clusters?.[0]?.cluster?.["certificate-authority-data"])) {
        out.push({ file, path: "clusters[0].certificate-authority-data", ours: "(another CA)", kubeadm: "(the cluster CA)" });
    }
    const ca = pem(a.users?.[0]?.user?.["client-certificate-data"]);
    const cb = pem(b.users?.[0]?.user?.["client-certificate-data"]);
    if (ca && cb) out.push(...compareCertificate(file, ca, cb, report, "users[0].client-certificate: "));
    return out;
}

/** kubeadm-flags.env: KUBELET_KUBEADM_ARGS="--a=b --c=d", flag by flag, then their order. */
export function compareFlagsEnv(file: string, ours: string, theirs: string, report: ParityReport): Difference[] {
    const flags = (text: string) => {
        const m = /^KUBELET_KUBEADM_ARGS=(".*")\s*$/m.exec(text);
        return m ? (JSON.parse(m[1]) as string).split(" ").filter(Boolean) : [];
    };
    return compareFlags(file, "KUBELET_KUBEADM_ARGS", flags(ours), flags(theirs), report);
}

function compareFlags(file: string, where: string, ours: string[], theirs: string[], report: ParityReport): Difference[] {
    const split = (list: string[]) => new Map(list.map(f => { const i = f.indexOf("="); return i < 0 ? [f, ""] : [f.slice(0, i), f.slice(i + 1)]; }));
    const a = split(ours);
    const b = split(theirs);
    const out: Difference[] = [];
    for (const k of new Set([...b.keys(), ...a.keys()])) {
        report.facts++;
        if (a.get(k) !== b.get(k)) out.push({ file, path: `${where} ${k}`, ours: show(a.get(k)), kubeadm: show(b.get(k)) });
    }
    report.facts++;
    const order = (m: Map<string, string>, other: Map<string, string>) => [...m.keys()].filter(k => other.has(k));
    if (show(order(a, b)) !== show(order(b, a))) out.push({ file, path: `${where} (order)`, ours: show(order(a, b)), kubeadm: show(order(b, a)) });
    return out;
}

/**
 * Two parsed YAML documents, field by field. Lists whose items all have a name (containers,
 * volumes, mounts, env) are matched by name, then their order compared; a command line is
 * compared flag by flag.
 */
export function compareObjects(file: string, ours: unknown, theirs: unknown, report: ParityReport, at = ""): Difference[] {
    const out: Difference[] = [];
    const named = (v: unknown): v is { name: string }[] => Array.isArray(v) && v.length > 0 && v.every(x => x && typeof x === "object" && typeof (x as any).name === "string");
    if (Array.isArray(ours) && Array.isArray(theirs) && (at.endsWith(".command") || at.endsWith(".args"))) {
        return compareFlags(file, at, ours.map(String), theirs.map(String), report);
    }
    if (named(ours) && named(theirs)) {
        const a = new Map(ours.map(x => [x.name, x]));
        const b = new Map(theirs.map(x => [x.name, x]));
        for (const k of new Set([...b.keys(), ...a.keys()])) out.push(...compareObjects(file, a.get(k), b.get(k), report, `${at}[${k}]`));
        report.facts++;
        const order = (m: Map<string, unknown>, other: Map<string, unknown>) => [...m.keys()].filter(k => other.has(k));
        if (show(order(a, b)) !== show(order(b, a))) out.push({ file, path: `${at} (order)`, ours: show(order(a, b)), kubeadm: show(order(b, a)) });
        return out;
    }
    const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
    if (isObject(ours) && isObject(theirs)) {
        for (const k of new Set([...Object.keys(theirs), ...Object.keys(ours)])) out.push(...compareObjects(file, ours[k], theirs[k], report, at ? `${at}.${k}` : k));
        return out;
    }
    report.facts++;
    if (show(ours) !== show(theirs)) out.push({ file, path: at, ours: show(ours), kubeadm: show(theirs) });
    return out;
}
