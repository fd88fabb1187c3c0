/**
 * npm run --silent render -- --stack <name> --out <dir> [--set key=value ...]
 *
 * Validates and plans a stack offline and writes exactly what `pulumi up` would apply. On invalid
 * config it prints every problem to stderr, exits 1 and writes nothing. `--out` must be new, empty or
 * an earlier render's folder: a render removes only the files the earlier one recorded writing.
 */
import * as path from "node:path";
import { ConfigError } from "../lib/config";
import { escapeLines } from "../lib/config-formats";
import { renderLabFiles } from "../lib/render/files";
import { OutDirError, resolveOutDir, writeRender } from "../lib/render/out-dir";
import { kvmUsable } from "../providers/libvirt/host";
import { loadStackConfig } from "../lib/stack-config";
import { StackFileError, checkStackName } from "../lib/stack-files";

const USAGE = "usage: npm run --silent render -- [--stack <name>] --out <dir> [--set key=value ...]";
const HELP = `${USAGE}

Validates stack <name> (default dev: Pulumi.<name>.yaml over Pulumi.yaml's defaults, then each
--set key=value as \`pulumi config set\` would store it) and writes what \`pulumi up\` would apply into
<dir>: plan.json, manifests/, domains/, ... Reads libvirt only to resolve domainType: auto; creates
nothing. <dir> must be new, empty or an earlier render's folder (below the project, the temp
directory or a user's folder, judged by its real path); only the files the earlier render recorded
are replaced, and never through a symbolic link.
Exit codes: 0 rendered, 1 invalid config or stack file (every problem on stderr, nothing written),
2 usage.`;
const PROJECT_DIR = path.resolve(__dirname, "..");

interface RenderArgs {
    stack: string;
    out: string;
    overrides: string[];
}

class UsageError extends Error {}
class HelpRequested extends Error {}

function parseArgs(argv: string[]): RenderArgs {
    const args: RenderArgs = { stack: "dev", out: "", overrides: [] };
    if (argv.includes("--help") || argv.includes("-h")) {
        throw new HelpRequested();
    }
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = argv[i + 1];
        if (!["--stack", "--out", "--set"].includes(flag)) {
            throw new UsageError(`unknown argument ${JSON.stringify(flag.slice(0, 120))}`);
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
    try {
        checkStackName(args.stack);
        args.out = resolveOutDir(args.out, PROJECT_DIR);
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
    return args;
}

async function main(argv: string[]): Promise<number> {
    let args: RenderArgs;
    try {
        args = parseArgs(argv);
    } catch (error) {
        if (error instanceof HelpRequested) {
            process.stdout.write(`${HELP}\n`);
            return 0;
        }
        process.stderr.write(`${escapeLines((error as Error).message)}\n${USAGE}\n`);
        return 2;
    }
    try {
        const { config, plan, stackFileFound } = loadStackConfig(PROJECT_DIR, args.stack, args.overrides);
        if (!stackFileFound) {
            process.stderr.write(`note: no Pulumi.${args.stack}.yaml; rendering the defaults\n`);
        }
        // `domainType: auto` asks libvirt (read-only) whether KVM works, as `pulumi up` does.
        const kvm =
            config.domainType === "auto"
                ? await kvmUsable(plan.libvirt.uri, config.machineArch)
                : config.domainType === "kvm";
        const files = renderLabFiles(config, plan, kvm);
        writeRender(args.out, files);
        process.stderr.write(`rendered ${files.size} files for stack ${args.stack} into ${args.out}\n`);
        return 0;
    } catch (error) {
        process.stderr.write(
            `${escapeLines(error instanceof ConfigError || error instanceof StackFileError || error instanceof OutDirError ? error.message : `render failed: ${(error as Error).message}`)}\n`,
        );
        return 1;
    }
}

main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
});
