/**
 * Module hooks for @actions/workflow-parser, GitHub's own workflow parser. Its ES modules import
 * their JSON schema without `with { type: "json" }` (they are written for bundlers), which Node
 * refuses; these hooks load such JSON files as JSON modules.
 */
import { readFile } from "node:fs/promises";
import { URL } from "node:url";

export async function load(url, context, nextLoad) {
    if (url.startsWith("file:") && url.endsWith(".json")) {
        return { format: "json", source: await readFile(new URL(url), "utf8"), shortCircuit: true };
    }
    return nextLoad(url, context);
}
