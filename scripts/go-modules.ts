// A Go module's source directory in the Go module cache, downloaded through the module proxy if
// it is not there yet (the generators of render/'s tables read the Kubernetes sources from it).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The directory of MODULE@VERSION in the module cache; throws with Go's error when it is not served. */
export function moduleDir(module: string, version: string): string {
    // Outside any module, so no go.mod around the caller takes part.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "gomod-"));
    try {
        const r = spawnSync("go", ["mod", "download", "-json", `${module}@${version}`], { cwd: scratch, encoding: "utf8" });
        let out: { Dir?: string; Error?: string } = {};
        try { out = JSON.parse(r.stdout); } catch { /* no JSON: Go's stderr says why */ }
        if (r.status !== 0 || !out.Dir) throw new Error(`${module}@${version}: ${out.Error ?? (r.stderr.trim() || "not downloaded")}`);
        return out.Dir;
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}
