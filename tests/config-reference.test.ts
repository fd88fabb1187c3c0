/** Pulumi.yaml, lib/config-schema.ts and the README's config reference say the same thing. */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { CONFIG_SCHEMA } from "../lib/config-schema";
import { readProjectFile } from "../lib/stack-files";
import { configReferenceTable, withReference } from "../scripts/config-reference";
import { PROJECT_DIR } from "./fixtures";

test("Pulumi.yaml declares every key with the schema's type, description and default", () => {
    const project = readProjectFile(PROJECT_DIR);
    expect(project.name).toBe("capt-playground");
    const declared = project.config as Record<string, Record<string, unknown>>;
    expect(Object.keys(declared).sort()).toEqual(Object.keys(CONFIG_SCHEMA).sort());
    for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) {
        expect({ key, ...declared[key] }).toEqual({
            key,
            ...(spec.type === "objects" ? {} : { type: spec.type }),
            description: spec.description,
            default: spec.default,
            ...(spec.type === "array" ? { items: { type: "string" } } : {}),
        });
    }
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
