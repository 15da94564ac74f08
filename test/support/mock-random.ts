import { randomBytes } from "node:crypto";

/** @pulumi/random resources with real randomness (as the provider's crypto/rand). */
export function mockRandomResource(type: string, inputs: Record<string, any>): Record<string, any> | undefined {
    if (type !== "random:index/randomBytes:RandomBytes") return undefined;
    const bytes = randomBytes(Number(inputs.length));
    return { ...inputs, base64: bytes.toString("base64"), hex: bytes.toString("hex") };
}
