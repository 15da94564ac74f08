// Entry of the multi-language component provider: serves the components to Python, Go, C#,
// Java and YAML programs (`pulumi package add <repo>`); the schema is inferred from their args,
// with the fields tagged @secret marked secret (provider/secrets.ts).
import { main } from "@pulumi/pulumi/provider";
import * as path from "node:path";
import { KubeadmProvider } from "./schema";

export { COMPONENTS } from "./components";

if (require.main === module) {
    main(new KubeadmProvider(path.resolve(__dirname, "..")), process.argv.slice(2)).catch(e => {
        console.error(e);
        process.exit(1);
    });
}
