import { randomBytes, randomInt } from "node:crypto";

/** @pulumi/random resources with real randomness (as the provider's crypto/rand). */
export function mockRandomResource(type: string, inputs: Record<string, any>): Record<string, any> | undefined {
    if (type === "random:index/randomBytes:RandomBytes") {
        const bytes = randomBytes(Number(inputs.length));
        return { ...inputs, base64: bytes.toString("base64"), hex: bytes.toString("hex") };
    }
    if (type === "random:index/randomString:RandomString") {
        // The provider's defaults: every class on unless turned off.
        const on = (k: string) => inputs[k] === undefined || inputs[k] === true || inputs[k] === "true";
        const alphabet = (on("lower") ? "abcdefghijklmnopqrstuvwxyz" : "") + (on("upper") ? "ABCDEFGHIJKLMNOPQRSTUVWXYZ" : "")
            + (on("numeric") ? "0123456789" : "") + (on("special") ? "!@#$%&*()-_=+[]{}<>:?" : "");
        const result = Array.from({ length: Number(inputs.length) }, () => alphabet[randomInt(alphabet.length)]).join("");
        return { ...inputs, result };
    }
    return undefined;
}
