#!/usr/bin/env node
// Lab stand-in for kube-apiserver's health endpoints (test/lab). The kube-apiserver binary is not
// on this machine, so for a kube-apiserver static pod the lab kubelet runs this with the
// manifest's flags instead. It reads what a real kube-apiserver would:
//   --advertise-address and --secure-port (it listens there: lab hosts share one network namespace,
//   so it binds the node's own address, not every address), --tls-cert-file and
//   --tls-private-key-file (the node's real serving certificate, loaded again when they change, as
//   kube-apiserver reloads them), --etcd-servers with --etcd-cafile/--etcd-certfile/--etcd-keyfile.
// It serves GET /livez and /healthz ("ok"), /version (the pod image's tag as gitVersion), and /readyz, which is "ok" only while etcd answers
// `etcdctl endpoint health` with those flags (as kube-apiserver's etcd readiness check), otherwise
// 500 with "[-]etcd failed". It also serves the ConfigMaps a test placed on the host as
// /var/lib/lab/api/<namespace>/configmaps/<name>.json (GET /api/v1/namespaces/<ns>/configmaps/<name>),
// encoded as the API server's Go encoder does (<, > and & escaped): kube-public's to anyone (as
// kubeadm's RBAC lets system:anonymous read cluster-info), the others only with a bearer token listed
// in /var/lib/lab/api/tokens (401 otherwise), and the Nodes, Pods and evictions of cluster-api.js. /readyz also fails while the pod's image (LAB_IMAGE, from the
// lab kubelet) is listed in /var/lib/lab/unready-images: how a test makes an upgrade fail. Any other path: 404. A missing or unreadable file stops
// it at start, with kube-apiserver's kind of message.
"use strict";

const fs = require("fs");
const https = require("https");
const tls = require("tls");
const cp = require("child_process");

const args = process.argv.slice(2);
function flag(name) {
    const a = args.find(x => x.startsWith(`--${name}=`));
    return a === undefined ? undefined : a.slice(name.length + 3);
}
function required(name) {
    const v = flag(name);
    if (!v) {
        console.error(`E kube-apiserver (lab stand-in): --${name} is not set`);
        process.exit(1);
    }
    return v;
}

const address = required("advertise-address");
const port = Number(flag("secure-port") || "6443");
const certFile = required("tls-cert-file");
const keyFile = required("tls-private-key-file");
const etcdServers = required("etcd-servers");
const etcdTls = ["etcd-cafile", "etcd-certfile", "etcd-keyfile"].map(required);
for (const f of [certFile, keyFile, ...etcdTls, flag("client-ca-file")].filter(Boolean)) {
    try {
        fs.accessSync(f, fs.constants.R_OK);
    } catch (e) {
        console.error(`E kube-apiserver (lab stand-in): open ${f}: ${e.code === "ENOENT" ? "no such file or directory" : e.message}`);
        process.exit(1);
    }
}

const log = msg => process.stdout.write(`${new Date().toISOString()} kube-apiserver (lab stand-in) ${msg}\n`);

// The lab kubelet moved 127.0.0.1 in the flags to the host's own loopback address (LAB_LOCALHOST),
// which the etcd serving certificate does not name: such an endpoint is checked as the real
// kube-apiserver would check https://127.0.0.1:2379, its certificate verified for 127.0.0.1.
const LOCALHOST = process.env.LAB_LOCALHOST || "";
function localEtcdHealth(endpoint) {
    return new Promise(resolve => {
        const req = https.request(`${endpoint}/health`, {
            ca: fs.readFileSync(etcdTls[0]), cert: fs.readFileSync(etcdTls[1]), key: fs.readFileSync(etcdTls[2]),
            checkServerIdentity: (_host, cert) => tls.checkServerIdentity("127.0.0.1", cert), timeout: 3000,
        }, res => {
            let body = "";
            res.on("data", d => { body += d; });
            res.on("end", () => resolve(/"health":\s*"true"/.test(body) ? { ok: true } : { ok: false, detail: `${endpoint} is unhealthy: ${body.trim()}` }));
        });
        req.on("timeout", () => req.destroy(new Error("timed out")));
        req.on("error", e => resolve({ ok: false, detail: `${endpoint} is unhealthy: ${e.message}` }));
        req.end();
    });
}

let etcd = { at: 0, ok: false, detail: "not checked yet" };
async function checkEtcd() {
    if (Date.now() - etcd.at < 2000) return etcd;
    const endpoints = etcdServers.split(",");
    const local = endpoints.filter(e => LOCALHOST && new URL(e).hostname === LOCALHOST);
    const others = endpoints.filter(e => !local.includes(e));
    const results = await Promise.all(local.map(localEtcdHealth));
    if (others.length) {
        const r = cp.spawnSync("etcdctl", [
            `--endpoints=${others.join(",")}`, `--cacert=${etcdTls[0]}`, `--cert=${etcdTls[1]}`, `--key=${etcdTls[2]}`,
            "--dial-timeout=2s", "--command-timeout=3s", "endpoint", "health",
        ], { encoding: "utf8", env: { PATH: process.env.PATH }, timeout: 10000 });
        results.push({ ok: r.status === 0, detail: `${r.stdout || ""}${r.stderr || ""}`.trim().split("\n").pop() || `etcdctl exited ${r.status}` });
    }
    const bad = results.find(r => !r.ok);
    etcd = { at: Date.now(), ok: !bad, detail: bad ? bad.detail : "ok" };
    return etcd;
}

let loaded = "";
function tlsOptions() {
    return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
}

// A test makes the pod of an image never ready by listing the image here (a failed upgrade).
const UNREADY_IMAGES = "/var/lib/lab/unready-images";
function unready() {
    try { return fs.readFileSync(UNREADY_IMAGES, "utf8").split("\n").includes(process.env.LAB_IMAGE); } catch { return false; }
}

const API_DIR = "/var/lib/lab/api";
function apiStatus(code, reason, message) {
    return { code, type: "application/json", body: JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code }) };
}
function configMap(req, path) {
    const m = /^\/api\/v1\/namespaces\/([a-z0-9-]+)\/configmaps\/([a-z0-9.-]+)$/.exec(path);
    if (!m) return undefined;
    const [, namespace, name] = m;
    if (namespace !== "kube-public") {
        const auth = /^Bearer (\S+)$/.exec(req.headers.authorization || "");
        let tokens = [];
        try { tokens = fs.readFileSync(`${API_DIR}/tokens`, "utf8").split("\n").filter(Boolean); } catch { /* none */ }
        if (!auth || !tokens.includes(auth[1])) return apiStatus(401, "Unauthorized", "Unauthorized");
    }
    let object;
    try { object = JSON.parse(fs.readFileSync(`${API_DIR}/${namespace}/configmaps/${name}.json`, "utf8")); } catch {
        return apiStatus(404, "NotFound", `configmaps "${name}" not found`);
    }
    const goJson = JSON.stringify(object).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
    return { code: 200, type: "application/json", body: goJson };
}

const clusterApi = require("./cluster-api");
const bodyOf = req => new Promise(resolve => {
    let body = "";
    req.on("data", d => { body += d; });
    req.on("end", () => resolve(body));
});

const server = https.createServer(tlsOptions(), async (req, res) => {
    const path = (req.url || "").split("?")[0];
    const api = configMap(req, path) || clusterApi.handle(req.method, req.url || "", await bodyOf(req));
    if (api) {
        log(`${req.method} ${path} ${api.code}`);
        res.writeHead(api.code, { "Content-Type": api.type });
        res.end(api.body);
        return;
    }
    if (path === "/version") {
        // As kube-apiserver's /version (open to anyone), with the version of the pod's image.
        const tag = (/:(v[0-9][^:@]*)$/.exec(process.env.LAB_IMAGE || "") || [])[1] || "v0.0.0-lab";
        const [major, minor] = tag.slice(1).split(".");
        log(`${req.method} ${path} 200`);
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ major, minor, gitVersion: tag, platform: "linux/amd64" }, null, 2) + "\n");
        return;
    }
    let status = 200;
    let body = "ok";
    if (path === "/readyz") {
        const e = await checkEtcd();
        if (unready()) {
            status = 500;
            body = `[-]lab failed: the image ${process.env.LAB_IMAGE} is listed in ${UNREADY_IMAGES}\nreadyz check failed`;
        } else if (!e.ok) {
            status = 500;
            body = `[-]etcd failed: ${e.detail}\nreadyz check failed`;
        }
    } else if (path !== "/livez" && path !== "/healthz") {
        status = 404;
        body = "404 page not found (the lab's kube-apiserver stand-in serves /livez, /readyz, /healthz, ConfigMaps a test placed, and cluster-api.js's paths only)";
    }
    log(`${req.method} ${path} ${status}`);
    res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(body + "\n");
});

// kube-apiserver reloads its serving certificate when the files change; so does this stand-in.
setInterval(() => {
    try {
        const now = fs.readFileSync(certFile, "utf8") + fs.readFileSync(keyFile, "utf8");
        if (loaded && now !== loaded) {
            server.setSecureContext(tlsOptions());
            log(`reloaded the serving certificate from ${certFile}`);
        }
        loaded = now;
    } catch { /* being replaced */ }
}, 1000).unref();

server.on("error", e => {
    console.error(`E kube-apiserver (lab stand-in): listen ${address}:${port}: ${e.message}`);
    process.exit(1);
});
server.listen(port, address, () => log(`serving /livez, /readyz, /healthz on https://${address}:${port} with ${certFile}; etcd ${etcdServers}`));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
