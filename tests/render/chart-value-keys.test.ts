/**
 * Every value key the program sets exists in the real Tinkerbell chart's values.yaml. The chart has no
 * values schema, so Helm takes a misspelt or renamed key silently and the lab runs with the chart's
 * default instead. Checked against both charts in ../shared/charts: the default's commit and v0.25.0
 * (the `tinkerbell-0-25` stack), for the default stack and for every stack file in the project.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { parseLabConfig } from "../../lib/config";
import { planLab } from "../../lib/plan";
import { projectDefaults, readStackValues } from "../../lib/stack-files";
import { tinkerbellValues } from "../../lib/render/tinkerbell-values";
import { describeWhenReady } from "../prerequisites";

const ROOT = path.resolve(__dirname, "..", "..");
const CHARTS = path.resolve(ROOT, "..", "shared", "charts");
const PROJECT = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));

/** Every key path of a value tree: a.b.c down to a scalar or a list. */
export function keyPaths(value: unknown, prefix = ""): string[] {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return prefix ? [prefix] : [];
    }
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) {
        return prefix ? [prefix] : [];
    }
    return entries.flatMap(([key, child]) => keyPaths(child, prefix ? `${prefix}.${key}` : key));
}

/** The paths of `set` that values.yaml does not have, nor any parent that is an open map ({}) there. */
export function unknownKeys(set: unknown, chartValues: unknown): string[] {
    const known = new Set(keyPaths(chartValues));
    const openMaps = new Set<string>();
    const walk = (value: unknown, prefix: string) => {
        if (value !== null && typeof value === "object" && !Array.isArray(value)) {
            const entries = Object.entries(value as Record<string, unknown>);
            if (entries.length === 0) {
                openMaps.add(prefix);
            }
            entries.forEach(([k, v]) => walk(v, prefix ? `${prefix}.${k}` : k));
        }
    };
    walk(chartValues, "");
    return keyPaths(set).filter((p) => {
        const parents = p.split(".").map((_, i, all) => all.slice(0, i).join("."));
        return !known.has(p) && !parents.some((q) => q && openMaps.has(q));
    });
}

function chartValues(tarball: string): unknown {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capt-chart-"));
    try {
        const result = spawnSync("tar", ["-xzf", tarball, "-C", dir, "tinkerbell/values.yaml"], { encoding: "utf8" });
        if (result.status !== 0) {
            throw new Error(`tar -xzf ${tarball} failed: ${result.stderr}`);
        }
        return parseYaml(fs.readFileSync(path.join(dir, "tinkerbell", "values.yaml"), "utf8"));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function stackValues(stack: string, extra: Record<string, unknown> = {}) {
    const raw = { ...projectDefaults(PROJECT), ...(readStackValues(ROOT, stack) ?? {}), ...extra };
    const config = parseLabConfig(raw, { stack });
    return tinkerbellValues(config, planLab(config, { project: "capt-playground", stack, projectDir: ROOT }));
}

const stacks = fs
    .readdirSync(ROOT)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined);
const tarballs = fs.existsSync(CHARTS) ? fs.readdirSync(CHARTS).filter((f) => f.endsWith(".tar.gz")) : [];

describe("unknownKeys", () => {
    test("finds a misspelt key, accepts known keys and keys below an open map", () => {
        const chart = { publicIP: "", deployment: { envs: { smee: { a: 1 } }, extra: {} }, list: [1] };
        expect(unknownKeys({ publicIP: "x", deployment: { envs: { smee: { a: 2 } } } }, chart)).toEqual([]);
        expect(unknownKeys({ publicIp: "x" }, chart)).toEqual(["publicIp"]);
        expect(unknownKeys({ deployment: { envs: { smee: { b: 1 } } } }, chart)).toEqual(["deployment.envs.smee.b"]);
        expect(unknownKeys({ deployment: { extra: { anything: 1 } }, list: [2, 3] }, chart)).toEqual([]);
    });
});

describeWhenReady(
    "the program's Tinkerbell values against the real charts",
    tarballs.length === 2 ? undefined : `the two Tinkerbell chart tarballs are not in ${CHARTS}`,
    "../shared/charts",
    () => {
        test.each(tarballs)("every key the program sets exists in %s", (tarball) => {
            const values = chartValues(path.join(CHARTS, tarball));
            expect(stacks.length).toBeGreaterThan(1);
            for (const stack of stacks) {
                expect({ stack, unknown: unknownKeys(stackValues(stack), values) }).toEqual({ stack, unknown: [] });
                // Offline, the lab also names every image and pull policy.
                const offline = stackValues(stack, { offlineBundle: "/srv/bundle" });
                expect({ stack, offline: unknownKeys(offline, values) }).toEqual({ stack, offline: [] });
            }
        });
    },
);
