import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { COMPONENTS, PACKAGE_NAME } from "./components";

/** The package schema the provider serves, as checked-in schema.json holds it (2-space JSON, final newline). */
export async function providerSchema(root: string): Promise<string> {
    const provider = new ComponentProvider({ components: COMPONENTS, name: PACKAGE_NAME, dirname: root });
    return `${JSON.stringify(JSON.parse(await provider.getSchema()), null, 2)}\n`;
}
