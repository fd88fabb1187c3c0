/** Pulumi.yaml, lib/config-schema.ts and the README's config reference say the same thing. */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { CONFIG_KEYS, CONFIG_SCHEMA, pulumiType } from "../lib/config-schema";
import { readProjectFile } from "../lib/stack-files";
import { billOfMaterialsTable, configReferenceTable, withReference } from "../scripts/config-reference";
import { PROJECT_DIR } from "./fixtures";

test("Pulumi.yaml declares every key with the schema's type, description and default", () => {
    const project = readProjectFile(PROJECT_DIR);
    expect(project.name).toBe("capt-playground");
    const declared = project.config as Record<string, Record<string, unknown>>;
    expect(Object.keys(declared).sort()).toEqual(Object.keys(CONFIG_SCHEMA).sort());
    for (const key of CONFIG_KEYS) {
        const spec = CONFIG_SCHEMA[key];
        const type = pulumiType(key);
        expect({ key, ...declared[key] }).toEqual({
            key,
            ...(type === "objects" ? {} : { type }),
            description: spec.description,
            default: spec.default,
            ...(type === "array" ? { items: { type: "string" } } : {}),
        });
    }
});

test("the Pulumi types come from the zod schema: integers, flags, lists, the machine list", () => {
    expect(pulumiType("hardwareCount")).toBe("integer");
    expect(pulumiType("pivot")).toBe("boolean");
    expect(pulumiType("nameServers")).toBe("array");
    expect(pulumiType("machines")).toBe("objects");
    expect(pulumiType("libvirtUri")).toBe("string");
});

test("every default passes its own key's schema", () => {
    for (const key of CONFIG_KEYS) {
        const result = CONFIG_SCHEMA[key].schema.safeParse(CONFIG_SCHEMA[key].default);
        expect({ key, ok: result.success }).toEqual({ key, ok: true });
    }
});

test("a drifted reference or Pulumi.yaml is caught: a changed range shows in both", () => {
    const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
    expect(readme).toContain("| `vmCpus` | integer | 2 to 64 |");
    expect(readme).toContain("| `bootMode` | string | `netboot`, `isoboot` |");
    const stale = readme.replace("| `vmCpus` | integer | 2 to 64 |", "| `vmCpus` | integer | 1 to 64 |");
    expect(withReference(stale)).not.toBe(stale);
});

test("Pulumi.yaml is a nodejs TypeScript project", () => {
    const project = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8"));
    expect(project.runtime.name).toBe("nodejs");
});

test("README's config reference matches the schema (regenerate with scripts/config-reference.ts --write)", () => {
    const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
    expect(withReference(readme)).toBe(readme);
    for (const key of Object.keys(CONFIG_SCHEMA)) {
        expect(configReferenceTable()).toContain(`| \`${key}\` |`);
    }
});

test("every stack file uses only known keys and validates", () => {
    const { parseLabConfig, projectKeys } = jest.requireActual("../lib/config");
    const stackFiles = fs.readdirSync(PROJECT_DIR).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));
    expect(stackFiles).toContain("Pulumi.dev.yaml");
    for (const file of stackFiles) {
        const stack = file.slice("Pulumi.".length, -".yaml".length);
        const values = projectKeys(parse(fs.readFileSync(path.join(PROJECT_DIR, file), "utf8")).config ?? {});
        expect(() => parseLabConfig(values, { stack, isSecret: () => true })).not.toThrow();
    }
});

test("README's table of what the default lab runs is its bill of materials (regenerated with the reference)", () => {
    const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
    const table = billOfMaterialsTable();
    expect(readme).toContain(table);
    expect(table).toContain("| image | `ghcr.io/tinkerbell/tinkerbell:v0.23.1-23da0880` |");
    const stale = readme.replace(table, table.replace("v1.20.1", "v1.19.0"));
    expect(withReference(stale)).toBe(readme);
});
