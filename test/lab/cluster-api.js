// The part of the Kubernetes API that cordoning, draining and uncordoning a node needs, served by the
// lab's kube-apiserver stand-in (apiserver-health.js) from LAB_CLUSTER_DIR, a directory every lab
// host shares (test/lab):
//   nodes/<name>.status.json   what the lab kubelet reports: its version and a heartbeat (the Node
//                              exists once its kubelet has a kubeconfig); Ready is "True" while the
//                              heartbeat is under 10 s old, else "Unknown";
//   nodes/<name>.json          the Node's metadata and spec as the API changed them (PATCH);
//   pods/<namespace>/<name>.json, pdbs/<namespace>/<name>.json   what a test places.
// Served: legacy discovery (/api, /apis, /api/v1, /apis/policy/v1), GET/PATCH nodes (JSON merge and
// strategic merge patches of labels, annotations and spec), GET pods (list with
// fieldSelector=spec.nodeName=…, and one pod), DELETE a pod, and POST a pod's eviction, refused with
// 429 while a PodDisruptionBudget that selects the pod has disruptionsAllowed 0, as the real API does.
// Evictions and deletions are recorded in events.log (one JSON line each). Authentication is not checked.
"use strict";

const fs = require("fs");
const path = require("path");
const crypto = require("crypto");

const DIR = process.env.LAB_CLUSTER_DIR || "";
const STALE_MS = 10000;

const json = (code, body) => ({ code, type: "application/json", body: JSON.stringify(body) });
const status = (code, reason, message, details) => json(code, { kind: "Status", apiVersion: "v1", metadata: {}, status: code < 300 ? "Success" : "Failure", message, reason, details, code });
const read = file => { try { return JSON.parse(fs.readFileSync(file, "utf8")); } catch { return undefined; } };
function write(file, value) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${crypto.randomBytes(6).toString("hex")}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n");
    fs.renameSync(tmp, file);
}
const record = event => fs.appendFileSync(path.join(DIR, "events.log"), JSON.stringify({ ...event, at: new Date().toISOString() }) + "\n");

function node(name) {
    const reported = read(path.join(DIR, "nodes", `${name}.status.json`));
    if (!reported) return undefined;
    const stored = read(path.join(DIR, "nodes", `${name}.json`)) || {};
    const fresh = Date.now() - Date.parse(reported.heartbeat) < STALE_MS;
    return {
        kind: "Node", apiVersion: "v1",
        metadata: { name, uid: crypto.createHash("sha256").update(name).digest("hex").slice(0, 32), resourceVersion: String(Date.now()), labels: { "kubernetes.io/hostname": name }, ...stored.metadata, name },
        spec: { ...stored.spec },
        status: {
            conditions: [{ type: "Ready", status: fresh ? "True" : "Unknown", reason: fresh ? "KubeletReady" : "NodeStatusUnknown", lastHeartbeatTime: reported.heartbeat }],
            addresses: [{ type: "InternalIP", address: reported.address }],
            nodeInfo: { kubeletVersion: reported.kubeletVersion },
        },
    };
}

/** RFC 7386 (a strategic merge patch of maps and scalars is the same). */
function mergePatch(target, patch) {
    if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
    const out = target && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
    for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete out[k];
        else out[k] = mergePatch(out[k], v);
    }
    return out;
}

const pods = () => {
    const root = path.join(DIR, "pods");
    let namespaces = [];
    try { namespaces = fs.readdirSync(root); } catch { /* none */ }
    return namespaces.flatMap(ns => fs.readdirSync(path.join(root, ns)).filter(f => f.endsWith(".json")).map(f => read(path.join(root, ns, f))).filter(Boolean));
};
const podFile = (ns, name) => path.join(DIR, "pods", ns, `${name}.json`);

function blockingBudget(pod) {
    const root = path.join(DIR, "pdbs", pod.metadata.namespace);
    let files = [];
    try { files = fs.readdirSync(root); } catch { return undefined; }
    return files.map(f => read(path.join(root, f))).filter(Boolean).find(pdb => {
        const want = (pdb.spec && pdb.spec.selector && pdb.spec.selector.matchLabels) || {};
        const labels = pod.metadata.labels || {};
        return Object.entries(want).every(([k, v]) => labels[k] === v) && ((pdb.status && pdb.status.disruptionsAllowed) || 0) < 1;
    });
}

const RESOURCES_V1 = {
    kind: "APIResourceList", apiVersion: "v1", groupVersion: "v1",
    resources: [
        { name: "nodes", singularName: "node", namespaced: false, kind: "Node", verbs: ["get", "list", "patch"], shortNames: ["no"] },
        { name: "pods", singularName: "pod", namespaced: true, kind: "Pod", verbs: ["delete", "get", "list"], shortNames: ["po"] },
        { name: "pods/eviction", singularName: "", namespaced: true, group: "policy", version: "v1", kind: "Eviction", verbs: ["create"] },
    ],
};
const RESOURCES_POLICY = {
    kind: "APIResourceList", apiVersion: "v1", groupVersion: "policy/v1",
    resources: [{ name: "poddisruptionbudgets", singularName: "poddisruptionbudget", namespaced: true, kind: "PodDisruptionBudget", verbs: ["get", "list"], shortNames: ["pdb"] }],
};

/** The response to an API request, or undefined when the path is not one of these. */
function handle(method, url, body) {
    if (!DIR) return undefined;
    const u = new URL(url, "https://lab");
    const p = u.pathname;
    if (method === "GET" && p === "/api") return json(200, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] });
    if (method === "GET" && p === "/apis") {
        const v = { groupVersion: "policy/v1", version: "v1" };
        return json(200, { kind: "APIGroupList", apiVersion: "v1", groups: [{ name: "policy", versions: [v], preferredVersion: v }] });
    }
    if (method === "GET" && p === "/api/v1") return json(200, RESOURCES_V1);
    if (method === "GET" && p === "/apis/policy/v1") return json(200, RESOURCES_POLICY);

    let m = /^\/api\/v1\/nodes\/([a-z0-9.-]+)$/.exec(p);
    if (m) {
        const name = m[1];
        const current = node(name);
        if (!current) return status(404, "NotFound", `nodes "${name}" not found`, { name, kind: "nodes" });
        if (method === "GET") return json(200, current);
        if (method === "PATCH") {
            let patch;
            try { patch = JSON.parse(body); } catch { return status(400, "BadRequest", "the patch is not JSON"); }
            const file = path.join(DIR, "nodes", `${name}.json`);
            const stored = read(file) || {};
            const allowed = Object.fromEntries(["metadata", "spec"].filter(k => patch && k in patch).map(k => [k, patch[k]]));
            const next = mergePatch({ metadata: stored.metadata || {}, spec: stored.spec || {} }, allowed);
            write(file, { metadata: next.metadata || {}, spec: next.spec || {} });
            record({ verb: "patch", node: name, patch });
            return json(200, node(name));
        }
        return status(405, "MethodNotAllowed", `${method} is not supported on nodes by the lab`);
    }
    if (method === "GET" && p === "/api/v1/pods") {
        const selector = u.searchParams.get("fieldSelector") || "";
        const on = /^spec\.nodeName=(.+)$/.exec(selector);
        const items = pods().filter(pod => !on || pod.spec.nodeName === on[1]);
        return json(200, { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: String(Date.now()) }, items });
    }
    m = /^\/api\/v1\/namespaces\/([a-z0-9-]+)\/pods\/([a-z0-9.-]+)(\/eviction)?$/.exec(p);
    if (m) {
        const [, ns, name, eviction] = m;
        const pod = read(podFile(ns, name));
        if (!pod) return status(404, "NotFound", `pods "${name}" not found`, { name, kind: "pods" });
        if (!eviction && method === "GET") return json(200, pod);
        if (eviction && method === "POST") {
            const pdb = blockingBudget(pod);
            if (pdb) {
                record({ verb: "evict", pod: `${ns}/${name}`, node: pod.spec.nodeName, refused: pdb.metadata.name });
                return status(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.",
                    { causes: [{ reason: "DisruptionBudget", message: `The disruption budget ${pdb.metadata.name} needs ${pdb.status.desiredHealthy} healthy pods and has ${pdb.status.currentHealthy} currently` }] });
            }
            fs.rmSync(podFile(ns, name), { force: true });
            record({ verb: "evict", pod: `${ns}/${name}`, node: pod.spec.nodeName });
            return status(201, undefined, undefined);
        }
        if (!eviction && method === "DELETE") {
            fs.rmSync(podFile(ns, name), { force: true });
            record({ verb: "delete", pod: `${ns}/${name}`, node: pod.spec.nodeName });
            return json(200, pod);
        }
        return status(405, "MethodNotAllowed", `${method} is not supported on pods by the lab`);
    }
    return undefined;
}

module.exports = { handle };
