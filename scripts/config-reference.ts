/**
 * Regenerates the README's config reference table from lib/config-schema.ts:
 *   npx ts-node --transpile-only scripts/config-reference.ts --write
 * Without --write it prints the table. A test fails when README.md is out of date.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CONFIG_SCHEMA } from "../lib/config-schema";

export const START_MARKER = "<!-- config-reference:start -->";
export const END_MARKER = "<!-- config-reference:end -->";

function defaultCell(spec: { default: unknown; defaultText?: string }): string {
    if (spec.defaultText) {
        return spec.defaultText;
    }
    return `\`${typeof spec.default === "string" ? spec.default : JSON.stringify(spec.default)}\``;
}

export function configReferenceTable(): string {
    const rows = Object.entries(CONFIG_SCHEMA).map(
        ([key, spec]) =>
            `| \`${key}\` | ${spec.type} | ${defaultCell(spec)} | ${spec.description.replace(/\|/g, "\\|")} |`,
    );
    return ["| key | type | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

export function withReference(readme: string): string {
    const start = readme.indexOf(START_MARKER);
    const end = readme.indexOf(END_MARKER);
    if (start < 0 || end < start) {
        throw new Error(`README.md lacks ${START_MARKER} ... ${END_MARKER}`);
    }
    return `${readme.slice(0, start + START_MARKER.length)}\n${configReferenceTable()}\n${readme.slice(end)}`;
}

if (require.main === module) {
    const readmePath = path.resolve(__dirname, "..", "README.md");
    if (process.argv.includes("--write")) {
        fs.writeFileSync(readmePath, withReference(fs.readFileSync(readmePath, "utf8")));
    } else {
        process.stdout.write(`${configReferenceTable()}\n`);
    }
}
