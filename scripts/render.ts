/**
 * npm run --silent render -- --stack <name> --out <dir> [--set key=value ...]
 *
 * Validates and plans a stack offline and writes exactly what `pulumi up` would apply. On invalid
 * config it prints every problem to stderr, exits 1 and writes nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, parseLabConfig } from "../lib/config";
import { planLab } from "../lib/plan";
import { RenderedFiles, renderLabFiles } from "../lib/render/files";
import { kvmUsable } from "../providers/libvirt/host";
import { parseOverride, projectDefaults, readProjectFile, readStackValues } from "../lib/stack-files";

const USAGE = "usage: npm run --silent render -- [--stack <name>] --out <dir> [--set key=value ...]";
const PROJECT_DIR = path.resolve(__dirname, "..");

interface RenderArgs {
    stack: string;
    out: string;
    overrides: string[];
}

class UsageError extends Error {}

function parseArgs(argv: string[]): RenderArgs {
    const args: RenderArgs = { stack: "dev", out: "", overrides: [] };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = argv[i + 1];
        if (!["--stack", "--out", "--set"].includes(flag)) {
            throw new UsageError(`unknown argument ${JSON.stringify(flag)}`);
        }
        if (value === undefined || value.startsWith("--")) {
            throw new UsageError(`${flag} needs a value`);
        }
        i++;
        if (flag === "--stack") args.stack = value;
        else if (flag === "--out") args.out = value;
        else args.overrides.push(value);
    }
    if (!args.out) {
        throw new UsageError("--out is required");
    }
    return args;
}

/** Files and folders a previous render wrote; cleared first so no stale machine lingers. */
function clearPreviousRender(out: string, files: RenderedFiles): void {
    const topLevel = new Set([...files.keys()].map((file) => file.split("/")[0]));
    for (const entry of topLevel) {
        fs.rmSync(path.join(out, entry), { recursive: true, force: true });
    }
}

function writeFiles(out: string, files: RenderedFiles): void {
    fs.mkdirSync(out, { recursive: true });
    clearPreviousRender(out, files);
    for (const [file, content] of files) {
        const target = path.join(out, file);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, content);
    }
}

async function main(argv: string[]): Promise<number> {
    let args: RenderArgs;
    try {
        args = parseArgs(argv);
    } catch (error) {
        process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
        return 2;
    }
    try {
        const project = readProjectFile(PROJECT_DIR);
        const stackValues = readStackValues(PROJECT_DIR, args.stack);
        if (stackValues === undefined) {
            process.stderr.write(`note: no Pulumi.${args.stack}.yaml; rendering the defaults\n`);
        }
        const raw = {
            ...projectDefaults(project),
            ...stackValues,
            ...Object.fromEntries(args.overrides.map(parseOverride)),
        };
        // A `secure:` value in the stack file is encrypted; that is what makes it secret.
        const isSecret = (key: string) => typeof stackValues?.[key] === "object" && stackValues?.[key] !== null;
        const config = parseLabConfig(raw, { stack: args.stack, isSecret });
        const plan = planLab(config, {
            project: project.name ?? "capt-playground",
            stack: args.stack,
            projectDir: PROJECT_DIR,
        });
        // `domainType: auto` asks libvirt (read-only) whether KVM works, as `pulumi up` does.
        const kvm =
            config.domainType === "auto"
                ? await kvmUsable(plan.libvirt.uri, config.machineArch)
                : config.domainType === "kvm";
        const files = renderLabFiles(config, plan, kvm);
        writeFiles(path.resolve(args.out), files);
        process.stderr.write(`rendered ${files.size} files for stack ${args.stack} into ${args.out}\n`);
        return 0;
    } catch (error) {
        process.stderr.write(
            `${error instanceof ConfigError ? error.message : `render failed: ${(error as Error).message}`}\n`,
        );
        return 1;
    }
}

main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
});
