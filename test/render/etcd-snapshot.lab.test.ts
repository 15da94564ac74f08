import * as fs from "node:fs";
import { spawnSync } from "node:child_process";
import { ETCD_SNAPSHOT_DIR, etcdSnapshotScript } from "../../render/etcd-scripts";
import { etcdutl, etcdVersions, realTool } from "../../scripts/real-tools";
import { Lab, labHosts } from "../lab/lab";
import { opensslCa, opensslLeaf } from "../support/openssl";

// The pre-upgrade etcd snapshot on one lab host with the real etcd (the newest pinned release; TLS,
// client certificates) and etcdctl: where it is written, that it is checked, how many stay, and that a
// disk without room for it stops the step before anything is written.
const [HOST] = labHosts(["cp-1"]);
const ETCD = realTool(`etcd-${etcdVersions().at(-1)}`, "etcd");
let lab: Lab;
const sh = (script: string) => lab.exec("cp-1", script, undefined, 120_000);
const snapshot = (before: string, keep = 3) => etcdSnapshotScript({
    host: "cp-1", step: "etcd snapshot", member: { name: "cp-1", address: HOST.address }, certificatesDir: "/etc/kubernetes/pki",
    dataDir: "/var/lib/etcd", before, timeoutSeconds: 60, keep,
});
const snapshots = () => fs.readdirSync(lab.path("cp-1", ETCD_SNAPSHOT_DIR)).sort();

beforeAll(async () => {
    lab = await Lab.start([HOST]);
    const ca = opensslCa("etcd-ca");
    const server = opensslLeaf(ca, "/CN=cp-1", `IP:${HOST.address}`, "serverAuth,clientAuth");
    const client = opensslLeaf(ca, "/CN=kube-etcd-healthcheck-client", undefined, "clientAuth");
    const pki = "/etc/kubernetes/pki/etcd";
    const files: [string, string][] = [["ca.crt", ca.certPem], ["server.crt", server.certPem], ["server.key", server.keyPem], ["healthcheck-client.crt", client.certPem], ["healthcheck-client.key", client.keyPem]];
    const url = `https://${HOST.address}`;
    const r = await sh(`set -e
install -d -m 0700 ${pki} /etc/kubernetes/manifests /var/lib/etcd
${files.map(([f, pem]) => `base64 -d > ${pki}/${f} <<< ${Buffer.from(pem).toString("base64")}`).join("\n")}
echo "kind: Pod # the member's manifest: the step looks for it" > /etc/kubernetes/manifests/etcd.yaml
setsid ${ETCD} --name cp-1 --data-dir /var/lib/etcd --listen-client-urls ${url}:2379 --advertise-client-urls ${url}:2379 \\
    --listen-peer-urls http://${HOST.address}:2380 --initial-advertise-peer-urls http://${HOST.address}:2380 --initial-cluster cp-1=http://${HOST.address}:2380 \\
    --cert-file ${pki}/server.crt --key-file ${pki}/server.key --client-cert-auth --trusted-ca-file ${pki}/ca.crt >/var/lib/lab/etcd.log 2>&1 < /dev/null &
etcdctl_() { etcdctl --endpoints=${url}:2379 --cacert=${pki}/ca.crt --cert=${pki}/healthcheck-client.crt --key=${pki}/healthcheck-client.key "$@"; }
for _ in $(seq 1 100); do etcdctl_ endpoint health >/dev/null 2>&1 && break; sleep 0.2; done
# Some data, so the database is larger than the small disk below.
head -c 300000 /dev/urandom | base64 -w0 | etcdctl_ put big >/dev/null`);
    expect([r.code, r.stderr]).toEqual([0, ""]);
}, 120_000);

afterAll(async () => {
    await lab?.stop();
}, 60_000);

describe("the etcd snapshot before an upgrade", () => {
    test("written in the snapshot directory (nothing in the data directory), 0600, and read back by etcdctl", async () => {
        const r = await sh(snapshot("v1.33.3"));
        expect([r.code, r.stderr]).toEqual([0, ""]);
        const [, file] = /etcd snapshot: (\S+) sha256:/.exec(r.stdout)!;
        expect(file.startsWith(`${ETCD_SNAPSHOT_DIR}/pre-upgrade-v1.33.3-`)).toBe(true);
        expect(r.stdout).toContain("copy it off cp-1");
        expect((fs.statSync(lab.path("cp-1", file)).mode & 0o777).toString(8)).toBe("600");
        expect(fs.readdirSync(lab.path("cp-1", "/var/lib/etcd")).filter(f => f.includes("snapshot"))).toEqual([]);
        const status = spawnSync(etcdutl(), ["snapshot", "status", lab.path("cp-1", file), "-w", "json"], { encoding: "utf8", env: { PATH: process.env.PATH } });
        expect(JSON.parse(status.stdout).totalKey).toBeGreaterThan(0);
    });

    test("the last three stay: a fourth removes the oldest", async () => {
        for (const v of ["v1.33.4", "v1.33.5", "v1.33.6"]) expect((await sh(snapshot(v))).code).toBe(0);
        expect(snapshots().map(f => f.replace(/-\d{4}(-\d\d){5}\.db$/, ""))).toEqual(["pre-upgrade-v1.33.4", "pre-upgrade-v1.33.5", "pre-upgrade-v1.33.6"]);
    });

    test("a disk without room for the database stops the step, and nothing is written", async () => {
        const before = snapshots();
        const r = await sh(`mount -t tmpfs -o size=64k tmpfs ${ETCD_SNAPSHOT_DIR}\n${snapshot("v1.34.0")}`);
        try {
            expect(r.code).toBe(1);
            expect(r.stderr).toMatch(/^\[cp-1\] etcd snapshot: not enough free space in \/var\/lib\/etcd-snapshots on cp-1 for a snapshot of etcd's \d+-byte database/);
            expect((await sh(`ls -A ${ETCD_SNAPSHOT_DIR}`)).stdout).toBe("");
        } finally {
            await sh(`umount ${ETCD_SNAPSHOT_DIR}`);
        }
        expect(snapshots()).toEqual(before);
    });
});
