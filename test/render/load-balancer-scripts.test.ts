import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { HAPROXY_SOCKET, HAPROXY_STATE_FILE, haproxyConfig } from "../../render/haproxy";
import { HAPROXY_SOCKET_FUNCTIONS } from "../../render/load-balancer-scripts";
import { tempDir } from "../support/openssl";

// server_status reads HAProxy's `show stat` under `set -euo pipefail`. Bash's printf writes to a
// pipe line by line, so a reader that stops at its first match (grep -q) can exit before the next
// line is written; printf then dies of SIGPIPE, and pipefail turned that into "not its CSV". With a
// few servers that race showed only on a loaded machine (CI). With an answer far larger than a
// pipe holds, the writer is certain to meet a closed pipe: a real haproxy with many servers.
const SERVERS = 1500;

let t: ReturnType<typeof tempDir>;
let haproxy: ChildProcess;
let socket: string;

const functions = () => HAPROXY_SOCKET_FUNCTIONS.split(HAPROXY_SOCKET).join(socket);
function bash(body: string) {
    return spawnSync("bash", ["-c", `set -euo pipefail\nfail() { echo "$*" >&2; exit 1; }\n${functions()}${body}`], { encoding: "utf8" });
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const probe = net.createServer().once("error", reject).listen(0, "127.0.0.1", () => {
            const port = (probe.address() as net.AddressInfo).port;
            probe.close(() => resolve(port));
        });
    });
}

beforeAll(async () => {
    t = tempDir();
    socket = path.join(t.dir, "admin.sock");
    const controlPlanes = Array.from({ length: SERVERS }, (_, n) => ({ name: `cp-${n + 1}`, address: "127.0.0.1" }));
    const config = haproxyConfig({ bindAddress: "127.0.0.1", bindPort: await freePort(), controlPlanes, apiServerPort: 9 })
        .replace("    daemon\n", "").replace(HAPROXY_SOCKET, socket).replace(HAPROXY_STATE_FILE, path.join(t.dir, "state"));
    fs.writeFileSync(path.join(t.dir, "haproxy.cfg"), config);
    haproxy = spawn("haproxy", ["-db", "-f", path.join(t.dir, "haproxy.cfg")], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    haproxy.stderr!.on("data", d => { log += d; });
    for (let i = 0; i < 100 && !fs.existsSync(socket) && haproxy.exitCode === null; i++) await new Promise(r => setTimeout(r, 100));
    if (!fs.existsSync(socket)) throw new Error(`haproxy did not open its admin socket ${socket}: ${log}`);
}, 30_000);

afterAll(async () => {
    if (haproxy?.pid && haproxy.exitCode === null) {
        const exited = new Promise(resolve => haproxy.once("exit", resolve));
        process.kill(haproxy.pid);
        await exited;
    }
    t?.remove();
});

describe("server_status: a control plane's state from HAProxy's admin socket", () => {
    test("reads the status of any server, however large HAProxy's answer is", () => {
        const size = bash(`hap "show stat" | wc -c`);
        expect(Number(size.stdout)).toBeGreaterThan(4 * 65536);
        for (const name of ["cp-1", `cp-${SERVERS}`]) {
            const r = bash(`server_status ${name}`);
            expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, "MAINT", ""]);
        }
        const enabled = bash(`hap "enable server apiserverbackend/cp-7" >/dev/null; server_status cp-7`);
        expect(enabled.status).toBe(0);
        expect(enabled.stdout.trim()).toMatch(/^(DOWN|UP|no check)/);
    });

    test("a server the backend does not list is an empty answer, not a failure", () => {
        const r = bash(`server_status cp-${SERVERS + 1}`);
        expect([r.status, r.stdout, r.stderr]).toEqual([0, "", ""]);
    });

    test("an answer that is not show stat's CSV stops the step, quoting it", () => {
        const r = bash(`hap() { echo "Unknown command"; }\nserver_status cp-1`);
        expect(r.status).toBe(1);
        expect(r.stderr.trim()).toBe("HAProxy's answer to show stat is not its CSV: Unknown command");
    });
});
