import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * A throwaway root for the real kubeadm: `--rootfs` makes kubeadm chroot into it before anything
 * else, so every path it reads or writes (/etc/kubernetes, /var/lib/kubelet, the --config file)
 * is inside. kubeadm is built static (CGO_ENABLED=0), so the root needs no libraries.
 */
export class KubeadmRoot {
    constructor(readonly dir: string, readonly kubeadm: string) {
        fs.mkdirSync(dir, { recursive: true });
    }

    /** The real path of a path inside the root. */
    path(p: string): string {
        return path.join(this.dir, p);
    }

    write(p: string, content: string, mode = 0o644): void {
        fs.mkdirSync(path.dirname(this.path(p)), { recursive: true });
        fs.writeFileSync(this.path(p), content, { mode });
    }

    read(p: string): string | undefined {
        return fs.existsSync(this.path(p)) ? fs.readFileSync(this.path(p), "utf8") : undefined;
    }

    /** Runs `kubeadm ARGS --rootfs DIR`; throws with kubeadm's own output when it fails. */
    run(args: string[]): string {
        const r = spawnSync(this.kubeadm, [...args, "--rootfs", this.dir], { encoding: "utf8", timeout: 60_000 });
        if (r.status !== 0) throw new Error(`kubeadm ${args.join(" ")} (in ${this.dir}) exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
        return `${r.stdout}${r.stderr}`;
    }
}
