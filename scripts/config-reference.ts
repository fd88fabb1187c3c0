/**
 * Regenerates the README's config reference table and Pulumi.yaml's `config:` block from
 * lib/config-schema.ts:
 *   npx ts-node --transpile-only scripts/config-reference.ts --write
 * Without --write it prints the table. Tests fail when either file is out of date.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { CONFIG_SCHEMA, ConfigKeySpec } from "../lib/config-schema";

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

/**
 * A key's declaration in Pulumi.yaml. A list of objects is declared untyped: the CLI then applies its
 * default without type-checking it, and the program validates it.
 */
export function projectConfigType(spec: ConfigKeySpec): Record<string, unknown> {
    return {
        ...(spec.type === "objects" ? {} : { type: spec.type }),
        description: spec.description,
        ...(spec.type === "array" ? { items: { type: "string" } } : {}),
        default: spec.default,
    };
}

/** Pulumi.yaml with its trailing `config:` block regenerated (it must be the file's last key). */
export function withConfigBlock(projectFile: string): string {
    const at = projectFile.search(/^config:/m);
    const head = at < 0 ? projectFile : projectFile.slice(0, at);
    const config = Object.fromEntries(
        Object.entries(CONFIG_SCHEMA).map(([key, spec]) => [key, projectConfigType(spec)]),
    );
    return `${head}${stringify({ config }, { lineWidth: 0 })}`;
}

if (require.main === module) {
    const root = path.resolve(__dirname, "..");
    const readmePath = path.join(root, "README.md");
    const projectPath = path.join(root, "Pulumi.yaml");
    if (process.argv.includes("--write")) {
        fs.writeFileSync(readmePath, withReference(fs.readFileSync(readmePath, "utf8")));
        fs.writeFileSync(projectPath, withConfigBlock(fs.readFileSync(projectPath, "utf8")));
    } else {
        process.stdout.write(`${configReferenceTable()}\n`);
    }
}
