/**
 * Regenerates the README's config reference table and Pulumi.yaml's `config:` block from the zod
 * schema in lib/config-schema.ts (types, allowed values and ranges through z.toJSONSchema), and the
 * README's table of what the default lab runs from the bill of materials (lib/bundle):
 *   npx ts-node --transpile-only scripts/config-reference.ts --write
 * Without --write it prints the table. Tests fail when either file is out of date.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { VERSION_RANGES } from "../lib/config-formats";
import { CONFIG_KEYS, CONFIG_SCHEMA, ConfigKey, PROJECT_NAME, jsonSchemaOf, pulumiType } from "../lib/config-schema";
import { billOfMaterials } from "../lib/bundle/bill-of-materials";
import { parseLabConfig } from "../lib/config";
import { planLab } from "../lib/plan";

export const START_MARKER = "<!-- config-reference:start -->";
export const END_MARKER = "<!-- config-reference:end -->";

function defaultCell(spec: { default: unknown; defaultText?: string }): string {
    if (spec.defaultText) {
        return spec.defaultText;
    }
    return `\`${typeof spec.default === "string" ? spec.default : JSON.stringify(spec.default)}\``;
}

/** How the version keys' ranges are decided, printed above the table. */
export function versionRangesNote(): string {
    const ranges = Object.entries(VERSION_RANGES).map(
        ([key, range]) => `\`${key}\` ${range.from} up to (not including) ${range.before} (${range.why})`,
    );
    return [
        "Version keys accept only releases the lab can work with. Each range starts at the oldest release whose",
        "APIs the lab's rendered objects use and ends one minor release past the newest one the lab is tested",
        "with, so a new patch or the next minor can be tried, but an untested jump (or a typo such as v9.99.99)",
        `is refused with the range named: ${ranges.join("; ")}.`,
    ].join("\n");
}

/** What the schema allows beyond the type, as far as JSON schema says it: values, range, list length. */
export function allowedCell(key: ConfigKey): string {
    const schema = jsonSchemaOf(key);
    if (Array.isArray(schema.enum)) {
        return schema.enum.map((value) => `\`${String(value)}\``).join(", ");
    }
    if (typeof schema.minimum === "number" && typeof schema.maximum === "number") {
        return `${schema.minimum} to ${schema.maximum}`;
    }
    return "";
}

export function configReferenceTable(): string {
    const rows = CONFIG_KEYS.map((key) => {
        const spec = CONFIG_SCHEMA[key];
        const cells = [`\`${key}\``, pulumiType(key), allowedCell(key), defaultCell(spec), spec.description];
        return `| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`;
    });
    return ["| key | type | allowed | default | meaning |", "|---|---|---|---|---|", ...rows].join("\n");
}

export const IMAGES_START_MARKER = "<!-- bill-of-materials:start -->";
export const IMAGES_END_MARKER = "<!-- bill-of-materials:end -->";

const LOADED_INTO = { docker: "docker", "kind-node": "the KinD node", none: "read from the bundle" } as const;

/** The default lab's bill of materials as a table: what `npm run bundle` collects for it. */
export function billOfMaterialsTable(): string {
    const config = parseLabConfig({}, { stack: "dev" });
    const plan = planLab(config, { project: PROJECT_NAME, stack: "dev", projectDir: "/" });
    const rows = billOfMaterials(config, plan).map((a) => {
        const what = a.kind === "chart" ? `${a.ref} ${a.version}` : a.ref;
        const use = a.usedBy === "machines" ? "pulled by the machines" : LOADED_INTO[a.load];
        return `| ${a.kind} | \`${what}\` | ${a.purpose} | ${use} |`;
    });
    return ["| kind | artifact | for | offline, loaded into |", "|---|---|---|---|", ...rows].join("\n");
}

function replaceBetween(text: string, start: string, end: string, content: string): string {
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from < 0 || to < from) {
        throw new Error(`README.md lacks ${start} ... ${end}`);
    }
    return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}

export function withReference(readme: string): string {
    const reference = replaceBetween(
        readme,
        START_MARKER,
        END_MARKER,
        `${versionRangesNote()}\n\n${configReferenceTable()}`,
    );
    return replaceBetween(reference, IMAGES_START_MARKER, IMAGES_END_MARKER, billOfMaterialsTable());
}

/**
 * A key's declaration in Pulumi.yaml. A list of objects is declared untyped: the CLI then applies its
 * default without type-checking it, and the program validates it.
 */
export function projectConfigType(key: ConfigKey): Record<string, unknown> {
    const type = pulumiType(key);
    const spec = CONFIG_SCHEMA[key];
    return {
        ...(type === "objects" ? {} : { type }),
        description: spec.description,
        ...(type === "array" ? { items: { type: "string" } } : {}),
        default: spec.default,
    };
}

/** Pulumi.yaml with its trailing `config:` block regenerated (it must be the file's last key). */
export function withConfigBlock(projectFile: string): string {
    const at = projectFile.search(/^config:/m);
    const head = at < 0 ? projectFile : projectFile.slice(0, at);
    const config = Object.fromEntries(CONFIG_KEYS.map((key) => [key, projectConfigType(key)]));
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
