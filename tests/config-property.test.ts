/**
 * Random JSON values and hostile strings at every config key, through the public entry points:
 * parseLabConfig, render (plan + every rendered file) and the Helm `--set` parser. Each run either
 * is refused with problems that name the key it set, or yields a config whose every string that
 * reaches a shell, YAML, XML, a path or a URI is in its allowed set. Never an exception without a
 * key, never a polluted prototype.
 */
import fc from "fast-check";
import { ConfigError, LabConfig, RawConfig, parseLabConfig, projectKeys } from "../lib/config";
import {
    hasControlCharacters,
    isAllowedLibvirtUri,
    isAllowedOutputDir,
    isAllowedStorageDir,
    isChartReference,
    isForbiddenObjectKey,
    isManifestUrl,
} from "../lib/config-formats";
import { CONFIG_KEYS, CONFIG_SCHEMA } from "../lib/config-schema";
import { planLab } from "../lib/plan";
import { renderLabFiles } from "../lib/render/files";
import { applySetValues } from "../lib/render/helm-set";
import { PROJECT_DIR } from "./fixtures";

/** Strings people (and attackers) have put into config: shell, path, URI, YAML and XML tricks. */
const HOSTILE = [
    "",
    " ",
    "__proto__",
    "constructor",
    "prototype",
    "__proto__.polluted=1",
    "constructor.prototype.polluted=1",
    "$(touch /tmp/pwned)",
    "`id`",
    "; rm -rf ~",
    "a\nb",
    "a\u0000b",
    "\u202e",
    "../../../../etc",
    "/",
    "/etc/passwd",
    "/proc/self",
    "qemu+ext:///system?command=/bin/sh",
    "qemu+ssh://h/system?command=/bin/sh",
    "qemu:///system?socket=/tmp/x",
    "file:///etc/passwd",
    "http://169.254.169.254/latest",
    "oci://ghcr.io/../../x",
    "<![CDATA[x]]>",
    "</name><evil/>",
    "&xxe;",
    "key: value\nother: [",
    "{secure: x}",
    "999.999.999.999",
    "10.71.0.017",
    "0.0.0.0",
    "ff:ff:ff:ff:ff:ff",
    "v9.99.99",
    "1e309",
    "NaN",
    "-1",
    "true",
    "null",
    "[]",
    '["a"]',
    "x".repeat(5000),
];

const hostileString = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: "binary", maxLength: 40 }));
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
    hostileString,
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(Number.POSITIVE_INFINITY, -0, Number.MAX_SAFE_INTEGER + 2, 2.5, { secure: "v1:abc" }),
    fc.array(hostileString, { maxLength: 3 }),
);
const hostileMachine = fc.record(
    {
        name: anyValue,
        mac: fc.oneof(anyValue, fc.constantFrom("0c:c4:7a:00:00:01", "01:00:5e:00:00:01")),
        ip: anyValue,
        role: anyValue,
        disk: fc.oneof(anyValue, fc.constant("/dev/../etc/passwd")),
        bmc: fc.oneof(anyValue, fc.record({ address: anyValue, protocol: fc.constantFrom("ipmi", "redfish") })),
        __proto__: anyValue,
    },
    { requiredKeys: [] },
);

/** Strings of the config that reach a tool, with the check each must pass. */
function checkReachingTools(config: LabConfig): void {
    expect(isAllowedLibvirtUri(config.libvirtUri)).toBe(true);
    expect(isAllowedOutputDir(config.outputDir)).toBe(true);
    expect(isAllowedStorageDir(config.storageDir)).toBe(true);
    expect(isChartReference(config.tinkerbellChart)).toBe(true);
    expect(isManifestUrl(config.kubeRouterManifest)).toBe(true);
    const secrets = new Set<unknown>([config.bmcPassword, config.managementKubeconfig, config.tinkerbellKubeconfig]);
    const walk = (value: unknown, where: string): void => {
        if (typeof value === "string") {
            if (!secrets.has(value)) {
                // Shell environments, YAML, XML and paths: never a control character.
                expect({ where, control: hasControlCharacters(value) }).toEqual({ where, control: false });
            }
        } else if (Array.isArray(value)) {
            value.forEach((item, i) => walk(item, `${where}[${i}]`));
        } else if (typeof value === "object" && value !== null) {
            for (const [key, item] of Object.entries(value)) {
                expect(isForbiddenObjectKey(key)).toBe(false);
                walk(item, `${where}.${key}`);
            }
        }
    };
    walk(config, "config");
}

/**
 * Whether a problem points at what the user set: its key is one of `keys` (or a path below one, such
 * as machines[1].mac), or it is a cross-key rule under another key whose message names the set key
 * ("tinkerbellKubeconfig: is required with externalTinkerbell: true").
 */
function namesSetKey(problems: { key: string; message: string }[], keys: string[]): boolean {
    return problems.some((p) =>
        keys.some((key) => p.key === key || p.key.startsWith(`${key}[`) || p.message.includes(key)),
    );
}

function prototypeIsClean(): boolean {
    const probe = {} as Record<string, unknown>;
    return probe.polluted === undefined && Object.keys(Object.prototype).length === 0;
}

/** parseLabConfig, then (accepted) the plan and every rendered file, as `npm run render` runs them. */
function throughEntryPoints(raw: RawConfig, setKeys: string[]): void {
    let config: LabConfig;
    try {
        config = parseLabConfig(raw, { stack: "prop", isSecret: () => true });
    } catch (error) {
        if (!(error instanceof ConfigError)) {
            throw new Error(`not a ConfigError for ${JSON.stringify(raw)}: ${String(error)}`, { cause: error });
        }
        expect(error.problems.length).toBeGreaterThan(0);
        expect({ raw, named: namesSetKey(error.problems, setKeys) }).toEqual({ raw, named: true });
        return;
    }
    checkReachingTools(config);
    const plan = planLab(config, { project: "capt-playground", stack: "prop", projectDir: PROJECT_DIR });
    const files = renderLabFiles(config, plan, true);
    expect(files.size).toBeGreaterThan(0);
}

afterEach(() => {
    expect(prototypeIsClean()).toBe(true);
});

describe("property: every key, random JSON and hostile strings", () => {
    test.each(CONFIG_KEYS.filter((key) => key !== "machines"))("%s", (key) => {
        fc.assert(
            fc.property(anyValue, (value) => {
                throughEntryPoints({ [key]: value }, [key]);
                expect(prototypeIsClean()).toBe(true);
            }),
            { numRuns: 60 },
        );
    });

    test("machines: random items and fields", () => {
        fc.assert(
            fc.property(fc.array(hostileMachine, { maxLength: 3 }), (machines) => {
                throughEntryPoints({ machines, bmcPassword: "secret-pass" }, ["machines"]);
                expect(prototypeIsClean()).toBe(true);
            }),
            { numRuns: 150 },
        );
    });

    test("keys: random and hostile names are refused by name, through projectKeys", () => {
        fc.assert(
            fc.property(
                fc.oneof(hostileString, fc.constantFrom("__proto__", "constructor")),
                anyValue,
                (key, value) => {
                    fc.pre(!Object.hasOwn(CONFIG_SCHEMA, key) && !key.includes(":"));
                    const raw = projectKeys(JSON.parse(JSON.stringify({ [`capt-playground:${key}`]: value ?? null })));
                    throughEntryPoints(raw, [key]);
                },
            ),
            { numRuns: 150 },
        );
    });

    test("several keys at once: every problem is reported, each naming a key that was set", () => {
        const keys = CONFIG_KEYS.filter((key) => key !== "machines");
        fc.assert(
            fc.property(fc.dictionary(fc.constantFrom(...keys), anyValue, { maxKeys: 6 }), (raw) => {
                throughEntryPoints(raw, Object.keys(raw));
            }),
            { numRuns: 150 },
        );
    });
});

describe("property: the Helm --set parser", () => {
    const segment = fc.oneof(
        fc.constantFrom("__proto__", "constructor", "prototype", "toString", "a", "b", "list[0]", "x[3]"),
        fc.string({ maxLength: 6 }),
    );
    test("assignments either apply as own values or are refused with a message; Object.prototype stays clean", () => {
        fc.assert(
            fc.property(
                fc.array(fc.tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), hostileString), { maxLength: 4 }),
                (assignments) => {
                    const texts = assignments.map(([path, value]) => `${path.join(".")}=${value}`);
                    try {
                        const values = applySetValues({ a: { b: 1 } }, texts);
                        expect(JSON.parse(JSON.stringify(values))).toBeDefined();
                    } catch (error) {
                        expect((error as Error).message).toMatch(/^invalid value( path)? /);
                    }
                    expect(prototypeIsClean()).toBe(true);
                },
            ),
            { numRuns: 300 },
        );
    });
});
