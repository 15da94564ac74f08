import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { COMPONENTS, PACKAGE_NAME } from "./components";
import { markSecrets } from "./secrets";

/**
 * The component provider, serving the schema the analyzer infers from the components' args with
 * every `@secret` field marked `"secret": true` (which the analyzer alone never sets).
 */
export class KubeadmProvider extends ComponentProvider {
    private marked?: string;

    constructor(private readonly sourceRoot: string) {
        super({ components: COMPONENTS, name: PACKAGE_NAME, dirname: sourceRoot });
    }

    override async getSchema(): Promise<string> {
        this.marked ??= JSON.stringify(markSecrets(JSON.parse(await super.getSchema()), this.sourceRoot));
        return this.marked;
    }
}

/** The package schema the provider serves, as checked-in schema.json holds it (2-space JSON, final newline). */
export async function providerSchema(root: string): Promise<string> {
    return `${JSON.stringify(JSON.parse(await new KubeadmProvider(root).getSchema()), null, 2)}\n`;
}
