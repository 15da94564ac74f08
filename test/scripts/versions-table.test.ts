import { execFileSync } from "node:child_process";
import table from "../../render/versions.json";
import { resolveVersion, SUPPORTED_MINORS } from "../../render/versions";
import { kubeadmOf, kubernetesReleases } from "../../scripts/real-tools";
import { generateTable, rowFromConstants } from "../../scripts/versions-table";

describe("render/versions.json", () => {
    test("is what scripts/versions-table.ts reads from each pinned release's constants.go in the Go module cache (regenerate it when tools/versions.env changes)", () => {
        expect(table).toEqual(generateTable());
        expect(SUPPORTED_MINORS).toEqual(["1.33", "1.34", "1.35", "1.36", "1.37"]);
    });

    test.each(kubernetesReleases().map(r => [r]))("the real kubeadm %s lists the same etcd, CoreDNS and pause images for its release and for the minor's first patch", release => {
        const minor = release.replace(/^v(\d+\.\d+)\..*$/, "$1");
        const row = table.minors.find(r => r.minor === minor)!;
        for (const version of [release, `v${minor}.0`]) {
            const images = execFileSync(kubeadmOf(release), ["config", "images", "list", "--kubernetes-version", version], { encoding: "utf8" }).trim().split("\n");
            expect(images).toEqual(expect.arrayContaining([
                `registry.k8s.io/etcd:${row.etcd}`, `registry.k8s.io/coredns/coredns:${row.coredns}`, `registry.k8s.io/pause:${row.pause}`,
                `registry.k8s.io/kube-apiserver:${version}`,
            ]));
            expect(resolveVersion(version)).toMatchObject({ ok: true, value: { etcd: row.etcd, coredns: row.coredns, pause: row.pause } });
        }
        expect(execFileSync(kubeadmOf(release), ["version", "-o", "short"], { encoding: "utf8" }).trim()).toBe(release);
    });

    test("kubeadm's etcd rule: the minor's entry, else the nearest end of the map (1.37.2's map stops at 36)", () => {
        const source = (map: string) => `DefaultEtcdVersion = "x"\nCoreDNSVersion = "v1.0.0"\nPauseVersion = "3.1"\n` +
            `MinimumControlPlaneVersion = getSkewedKubernetesVersion(-1)\nMinimumKubeletVersion = getSkewedKubernetesVersion(-3)\nSupportedEtcdVersion = map[uint8]string{\n${map}\n}\n`;
        expect(rowFromConstants("v1.37.2", source(`34: "3.7.0-0",\n36: "3.7.1-0",`)).etcd).toBe("3.7.1-0");
        expect(rowFromConstants("v1.33.2", source(`34: "3.7.0-0",\n36: "3.7.1-0",`)).etcd).toBe("3.7.0-0");
        expect(rowFromConstants("v1.35.8", source(`uint8(getSkewedKubernetesVersion(-1).Minor()): "3.6.5-0",\nuint8(getSkewedKubernetesVersion(0).Minor()): "3.6.6-0",`)))
            .toMatchObject({ etcd: "3.6.6-0", minimumControlPlaneVersion: "v1.34.0", minimumKubeletVersion: "v1.32.0" });
        expect(() => rowFromConstants("v1.35.8", "nothing here")).toThrow("k8s.io/kubernetes@v1.35.8 cmd/kubeadm/app/constants/constants.go: no SupportedEtcdVersion map");
    });
});
