/**
 * Shared by the render tests: the stacks they render, the upstream schemas (ajv), and lookups
 * over a rendered object set.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv, { ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { LabConfig, RawConfig } from "../../lib/config";
import { LabPlan } from "../../lib/plan";
import { KubeObject } from "../../lib/render/kube-object";
import { allLabObjects, labObjects, renderInputs } from "../../lib/render/manifests";
import { readStackValues } from "../../lib/stack-files";
import { PROJECT_DIR, labPlan } from "../fixtures";

/** The dev stack exactly as `Pulumi.dev.yaml` configures it. */
export function devStack(): { config: LabConfig; plan: LabPlan } {
    return labPlan(readStackValues(PROJECT_DIR, "dev") ?? {}, "dev");
}

export type MatrixCase = { label: string; raw: RawConfig };

/** netboot/isoboot x 1/3 control planes x 0/2 spares x 0/1 workers. */
export function stackMatrix(): MatrixCase[] {
    const cases: MatrixCase[] = [];
    for (const bootMode of ["netboot", "isoboot"]) {
        for (const controlPlanes of [1, 3]) {
            for (const spares of [0, 2]) {
                for (const workers of [0, 1]) {
                    cases.push({
                        label: `${bootMode}, ${controlPlanes} cp, ${workers} workers, ${spares} spares`,
                        raw: { bootMode, controlPlanes, workers, hardwareCount: controlPlanes + workers + spares },
                    });
                }
            }
        }
    }
    return cases;
}

/** Every object of a stack with the render placeholders for the secret inputs. */
export function renderedObjects(config: LabConfig, plan: LabPlan): KubeObject[] {
    return allLabObjects(labObjects(config, plan, renderInputs(config)));
}

export function findObject(
    objects: readonly KubeObject[],
    ref: { apiGroup?: string; kind: string; name: string },
    namespace: string | undefined,
): KubeObject | undefined {
    return objects.find(
        (o) =>
            o.kind === ref.kind &&
            o.metadata.name === ref.name &&
            o.metadata.namespace === namespace &&
            (ref.apiGroup === undefined || o.apiVersion.split("/")[0] === ref.apiGroup),
    );
}

/** Every `{apiGroup, kind, name}` reference anywhere inside an object. */
export function contractRefs(value: unknown, found: { apiGroup: string; kind: string; name: string }[] = []) {
    if (Array.isArray(value)) {
        value.forEach((item) => contractRefs(item, found));
    } else if (typeof value === "object" && value !== null) {
        const record = value as Record<string, unknown>;
        if (typeof record.apiGroup === "string" && typeof record.kind === "string" && typeof record.name === "string") {
            found.push({ apiGroup: record.apiGroup, kind: record.kind, name: record.name });
        }
        Object.values(record).forEach((item) => contractRefs(item, found));
    }
    return found;
}

export function selects(matchLabels: Record<string, string>, object: KubeObject): boolean {
    return Object.entries(matchLabels).every(([key, value]) => object.metadata.labels?.[key] === value);
}

// ---- upstream schemas -------------------------------------------------------------------------

export const SCHEMAS_DIR = process.env.CAPT_SCHEMAS_DIR ?? path.resolve(__dirname, "../../../shared/schemas");
const schemasPresent = fs.existsSync(path.join(SCHEMAS_DIR, "json-strict"));

/**
 * `describe` for suites that need the upstream schemas. Without them: skipped with a warning on a
 * workstation, a failing test in CI (CI=true), so conformance can never silently stop running.
 */
export function describeWithSchemas(name: string, body: () => void): void {
    if (schemasPresent) {
        describe(name, body);
    } else if (process.env.CI === "true") {
        describe(name, () => {
            test("the upstream schemas are present", () => {
                throw new Error(`upstream schemas not found at ${SCHEMAS_DIR}; set CAPT_SCHEMAS_DIR`);
            });
        });
    } else {
        console.warn(`SKIPPED "${name}": upstream schemas not found at ${SCHEMAS_DIR} (set CAPT_SCHEMAS_DIR)`);
        describe.skip(`${name} (skipped: upstream schemas not found at ${SCHEMAS_DIR}; set CAPT_SCHEMAS_DIR)`, body);
    }
}

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

function schemaAjv(): Ajv {
    if (!ajv) {
        ajv = new Ajv({ strict: false, allErrors: true });
        addFormats(ajv);
        ajv.addFormat("int32", {
            type: "number",
            validate: (n: number) => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647,
        });
        ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
        ajv.addFormat("byte", /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
    }
    return ajv;
}

/** The strict schema for an object: json-strict/<group>/<version>/<Kind>.json, or kind's own. */
export function schemaPathFor(apiVersion: string, kind: string): string {
    if (apiVersion === "kind.x-k8s.io/v1alpha4") {
        return path.join(SCHEMAS_DIR, "kind", "v1alpha4", `${kind}.json`);
    }
    return path.join(SCHEMAS_DIR, "json-strict", apiVersion, `${kind}.json`);
}

/** Validation errors as readable lines; empty when the object conforms. */
export function schemaErrors(object: { apiVersion: string; kind: string; [field: string]: unknown }): string[] {
    const file = schemaPathFor(object.apiVersion, object.kind);
    let validate = validators.get(file);
    if (!validate) {
        validate = schemaAjv().compile(JSON.parse(fs.readFileSync(file, "utf8")));
        validators.set(file, validate);
    }
    // Validate the JSON form, as the API server sees it.
    if (validate(JSON.parse(JSON.stringify(object)))) {
        return [];
    }
    return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
}
