// Entry of the multi-language component provider: serves the components to Python, Go, C#,
// Java and YAML programs (`pulumi package add <repo>`); the schema is inferred from their args.
import { componentProviderHost } from "@pulumi/pulumi/provider/experimental";
import * as path from "node:path";
import { COMPONENTS, PACKAGE_NAME } from "./components";

export { COMPONENTS } from "./components";

if (require.main === module) {
    componentProviderHost({ components: COMPONENTS, name: PACKAGE_NAME, dirname: path.resolve(__dirname, "..") }).catch(e => {
        console.error(e);
        process.exit(1);
    });
}
