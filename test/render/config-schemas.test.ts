import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import yaml from "js-yaml";
import { encryptionConfiguration, rotationSteps } from "../../render/encryption";
import { etcdHostKubeletConfig, kubeletConfig, kubeletInstanceConfig } from "../../render/kubelet";
import { SUPPORTED_MINORS } from "../../render/versions";

// Strict JSON Schemas derived from the upstream Go types (see test/fixtures/config-schemas/README.md
// for the commit each minor comes from), checked by ajv.
const dir = path.join(__dirname, "../fixtures/config-schemas");
const ajv = new Ajv({ strict: false, allErrors: true });
const compiled = new Map<string, ReturnType<Ajv["compile"]>>();
const validator = (file: string) => {
    if (!compiled.has(file)) compiled.set(file, ajv.compile(JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"))));
    return compiled.get(file)!;
};
const errorsOf = (validate: ReturnType<typeof validator>, doc: unknown) =>
    (validate(doc) ? [] : validate.errors!.map(e => `${e.instancePath || "/"} ${e.message}${(e.params as any)?.additionalProperty ? ` (${(e.params as any).additionalProperty})` : ""}`));

const KEY = Buffer.alloc(32, 3).toString("base64");

// The strict schemas were written for 1.33 to 1.35; the field trees of every minor are read from the Go types (test/spec/config-keys.test.ts).
const WITH_SCHEMA = SUPPORTED_MINORS.filter(m => fs.existsSync(path.join(dir, `kubelet-config-v1beta1-${m}.json`)));

describe.each(WITH_SCHEMA.map(m => [m]))("the kubelet's configuration files for Kubernetes %s", minor => {
    const validate = validator(`kubelet-config-v1beta1-${minor}.json`);
    const input = {
        minor, criSocket: "unix:///var/run/containerd/containerd.sock", imageRepository: "registry.k8s.io", pauseTag: "3.10",
        certificatesDir: "/etc/kubernetes/pki", dnsServiceIp: "10.96.0.10", dnsDomain: "cluster.local", extraArgs: [],
        resolvConf: "/run/systemd/resolve/resolv.conf",
    };

    test("config.yaml, the etcd host's kubelet.conf and instance-config.yaml validate strictly", () => {
        expect(errorsOf(validate, yaml.load(kubeletConfig(input)))).toEqual([]);
        expect(errorsOf(validate, yaml.load(kubeletConfig({ ...input, config: { failSwapOn: false, memorySwap: { swapBehavior: "LimitedSwap" }, maxPods: 250 } })))).toEqual([]);
        expect(errorsOf(validate, yaml.load(etcdHostKubeletConfig(input.criSocket)))).toEqual([]);
        const instance = kubeletInstanceConfig(input);
        // A patch over config.yaml: kubeadm writes the one field, without apiVersion and kind.
        if (instance) expect(errorsOf(validate, { apiVersion: "kubelet.config.k8s.io/v1beta1", kind: "KubeletConfiguration", ...(yaml.load(instance) as object) })).toEqual([]);
    });

    test("a misspelt field merged from kubelet.config is caught", () => {
        expect(errorsOf(validate, yaml.load(kubeletConfig({ ...input, config: { maxPod: 250 } })))).toEqual(["/ must NOT have additional properties (maxPod)"]);
    });
});

describe("EncryptionConfiguration (apiserver.config.k8s.io/v1)", () => {
    const validate = validator("encryption-configuration-v1.json");
    test.each(["aescbc", "secretbox", "aesgcm"])("%s, with every step of a rotation, validates strictly", provider => {
        const i = { resources: ["secrets", "configmaps"], provider };
        expect(errorsOf(validate, yaml.load(encryptionConfiguration({ ...i, keys: [{ name: "key1", secret: KEY }] })))).toEqual([]);
        for (const s of rotationSteps(i, { name: "key1", secret: KEY }, { name: "key2", secret: KEY })) expect(errorsOf(validate, yaml.load(s.config))).toEqual([]);
    });

    test("an unknown provider field is caught", () => {
        const doc: any = yaml.load(encryptionConfiguration({ resources: ["secrets"], provider: "aescbc", keys: [{ name: "key1", secret: KEY }] }));
        doc.resources[0].providers[0].aescbc.cacheSize = 5;
        expect(errorsOf(validate, doc)).toContain("/resources/0/providers/0/aescbc must NOT have additional properties (cacheSize)");
    });
});
