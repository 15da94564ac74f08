import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// `npm run docs`: the API reference generated from the TypeScript types, warnings treated as errors.
test("typedoc builds the API docs with no warning, a page per component", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "typedoc-"));
    try {
        const r = spawnSync("npx", ["typedoc", "--out", out], { cwd: path.resolve(__dirname, ".."), encoding: "utf8", timeout: 120_000 });
        expect(r.stdout + r.stderr).toMatch(/Found 0 errors and 0 warnings|html generated/);
        expect(r.status).toBe(0);
        for (const c of ["Cluster", "ClusterPki", "EtcdCluster", "ControlPlane"]) expect(fs.existsSync(path.join(out, "classes", `${c}.html`))).toBe(true);
        expect(fs.readFileSync(path.join(out, "interfaces", "ClusterSpec.html"), "utf8")).toContain("controlPlaneEndpoint");
    } finally {
        fs.rmSync(out, { recursive: true, force: true });
    }
}, 150_000);
