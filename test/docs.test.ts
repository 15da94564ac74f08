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
        for (const c of ["Cluster", "ClusterPki", "EtcdCluster", "ControlPlane", "Preflight", "WorkerJoin"]) expect(fs.existsSync(path.join(out, "classes", `${c}.html`))).toBe(true);
        expect(fs.readFileSync(path.join(out, "interfaces", "ClusterSpec.html"), "utf8")).toContain("controlPlaneEndpoint");
    } finally {
        fs.rmSync(out, { recursive: true, force: true });
    }
}, 150_000);

// docs/configuration.md: every input field of the spec interfaces (read from the sources with the
// TypeScript compiler, inherited fields included) has a row, and every row names a real field.
describe("the configuration reference", () => {
    const ts = require("typescript") as typeof import("typescript");
    const root = path.resolve(__dirname, "..");
    const doc = fs.readFileSync(path.join(root, "docs/configuration.md"), "utf8");
    const program = ts.createProgram([path.join(root, "spec/types.ts"), path.join(root, "spec/worker-join.ts"), path.join(root, "components/preflight.ts")], { strict: true });
    const checker = program.getTypeChecker();
    const fields = new Map<string, string[]>();
    for (const file of ["spec/types.ts", "spec/worker-join.ts", "components/preflight.ts"]) {
        ts.forEachChild(program.getSourceFile(path.join(root, file))!, node => {
            if (!ts.isInterfaceDeclaration(node)) return;
            const type = checker.getTypeAtLocation(node);
            fields.set(node.name.text, checker.getPropertiesOfType(type).map(p => p.name));
        });
    }
    // Outputs and the arguments of other components, not inputs of Cluster or of a phase's own.
    for (const notInput of ["ClusterNode", "NodeAddress", "EtcdSnapshot", "WorkerJoinPlan"]) fields.delete(notInput);
    const rows = [...doc.matchAll(/^\| `([^`]+)` \|/gm)].map(m => m[1]);
    const lastSegments = new Set(rows.map(r => r.split(".").pop()!.replace(/\[\]$/, "")));

    test.each([...fields.keys()])("%s: every field has a row", name => {
        const missing = fields.get(name)!.filter(f => !lastSegments.has(f));
        expect(missing).toEqual([]);
    });

    test("every row names a field that exists", () => {
        const all = new Set([...fields.values()].flat());
        expect(rows.map(r => r.split(".").pop()!.replace(/\[\]$/, "")).filter(f => !all.has(f))).toEqual([]);
    });
});
