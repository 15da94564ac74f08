import * as yaml from "js-yaml";

/** YAML as Kubernetes' serializers write it: keys sorted, no line folding, no anchors. */
export function toYaml(value: unknown): string {
    return yaml.dump(value, { sortKeys: true, lineWidth: -1, noRefs: true });
}
