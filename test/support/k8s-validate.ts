import { spawnSync } from "node:child_process";
import * as path from "node:path";

/** Errors of each object against the API types of one Kubernetes release (k8s-schema.mjs; strict: unknown fields fail). */
export function validateObjects(release: string, objects: { type: string; object: unknown }[]): string[][] {
    const r = spawnSync(process.execPath, [path.join(__dirname, "k8s-schema.mjs")], {
        input: JSON.stringify({ release, objects }), encoding: "utf8", maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`k8s-schema.mjs failed: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { errors: string[] }[]).map(x => x.errors);
}
