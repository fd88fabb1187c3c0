/**
 * node validate.mjs <workflow.yml> ...: validates GitHub Actions workflows with
 * @actions/workflow-parser (the parser behind GitHub's own workflow language service) and prints
 * {"<file>": ["<error>", ...]} as JSON. Exit 0 even with errors; the caller judges them.
 */
/* global process, console */
import { readFileSync } from "node:fs";
import { register } from "node:module";

register("./json-hooks.mjs", import.meta.url);
const { NoOperationTraceWriter, convertWorkflowTemplate, parseWorkflow } = await import("@actions/workflow-parser");

const results = {};
for (const file of process.argv.slice(2)) {
    const parsed = parseWorkflow({ name: file, content: readFileSync(file, "utf8") }, new NoOperationTraceWriter());
    const errors = [];
    if (parsed.value !== undefined) {
        // Conversion checks what the schema alone cannot (job needs, matrices, expressions).
        const template = await convertWorkflowTemplate(parsed.context, parsed.value);
        errors.push(...(template.errors ?? []).map((error) => error.Message));
    } else {
        errors.push("the file did not parse as a workflow");
    }
    errors.push(...parsed.context.errors.getErrors().map((error) => error.message));
    results[file] = [...new Set(errors)];
}
console.log(JSON.stringify(results));
