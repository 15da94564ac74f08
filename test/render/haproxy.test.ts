import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { haproxyConfig } from "../../render/haproxy";
import { tempDir } from "../support/openssl";

const controlPlanes = [{ name: "cp-1", address: "10.0.10.11" }, { name: "cp-2", address: "10.0.10.12" }, { name: "cp-3", address: "fd00::13" }];

describe("HAProxy in front of the API servers (kubeadm's HA guide)", () => {
    test("the real haproxy accepts the configuration", () => {
        const t = tempDir();
        try {
            const file = path.join(t.dir, "haproxy.cfg");
            // The socket and state file live under /run and /var/lib on a host; point them here for the check.
            fs.writeFileSync(file, haproxyConfig({ bindAddress: "10.0.10.10", bindPort: 6443, controlPlanes, apiServerPort: 6443 })
                .replace("/run/haproxy/admin.sock", path.join(t.dir, "admin.sock")).replace("/var/lib/haproxy/server-state", path.join(t.dir, "state")));
            const out = execFileSync("haproxy", ["-c", "-f", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
            expect(out).toMatch(/Configuration file is valid/);
        } finally {
            t.remove();
        }
    });

    test("TCP pass-through, an HTTPS /healthz check, and every control plane declared but not yet registered", () => {
        const lines = haproxyConfig({ bindAddress: "10.0.10.10", bindPort: 6443, controlPlanes, apiServerPort: 6443 }).split("\n").map(l => l.trim());
        expect(lines).toEqual(expect.arrayContaining([
            "bind 10.0.10.10:6443", "mode tcp", "option httpchk", "http-check connect ssl", "http-check send meth GET uri /healthz", "http-check expect status 200",
            "server cp-1 10.0.10.11:6443 check verify none disabled", "server cp-3 [fd00::13]:6443 check verify none disabled",
            "stats socket /run/haproxy/admin.sock mode 600 level admin expose-fd listeners", "load-server-state-from-file global",
        ]));
    });
});
