// Writes schema.json: the Pulumi package schema the component provider serves (`pulumi package add`),
// inferred from the components' TypeScript args as componentProviderHost infers it.
import * as fs from "node:fs";
import * as path from "node:path";
import { providerSchema } from "../provider/schema";

const root = path.resolve(__dirname, "../..");
providerSchema(root).then(schema => {
    fs.writeFileSync(path.join(root, "schema.json"), schema);
    console.log(`wrote ${path.join(root, "schema.json")}`);
}).catch(e => {
    console.error(e);
    process.exit(1);
});
