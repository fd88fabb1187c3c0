/**
 * npm run --silent doctor -- [--stack <name>]
 *
 * Checks this host against a stack's config the way `pulumi up` does at start, and says how to
 * fix each problem. Exit 0 when nothing blocks the lab (warnings allowed), 1 when something does
 * or the config is invalid, 2 on bad arguments.
 */
import * as path from "node:path";
import { ConfigError } from "../lib/config";
import { STACK_NAME_ALLOWED, escapeControl, escapeLines, isStackName } from "../lib/config-formats";
import { runPreflight } from "../lib/host-facts";
import { formatFindings, preflightFailed } from "../lib/preflight";
import { loadStackConfig } from "../lib/stack-config";
import { StackFileError } from "../lib/stack-files";

const USAGE = "usage: npm run --silent doctor -- [--stack <name>]";
const HELP = `${USAGE}

Checks this host against stack <name> (default dev) the way \`pulumi up\` does at start: docker, kind,
clusterctl, libvirt, firmware, KVM and the network, and says how to fix each problem. Reads the host
and asks libvirt (read-only); creates nothing.
Exit codes: 0 nothing blocks the lab (warnings allowed), 1 something does or the config is invalid,
2 usage.`;
const PROJECT_DIR = path.resolve(__dirname, "..");

class UsageError extends Error {}
class HelpRequested extends Error {}

function parseArgs(argv: string[]): { stack: string } {
    let stack = "dev";
    if (argv.includes("--help") || argv.includes("-h")) {
        throw new HelpRequested();
    }
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] !== "--stack") {
            throw new UsageError(`unknown argument ${JSON.stringify(argv[i].slice(0, 120))}`);
        }
        const value = argv[++i];
        if (value === undefined || value.startsWith("--")) {
            throw new UsageError("--stack needs a value");
        }
        if (!isStackName(value)) {
            throw new UsageError(
                `not a stack name: ${escapeControl(JSON.stringify(value.slice(0, 120)))}; expected ${STACK_NAME_ALLOWED}`,
            );
        }
        stack = value;
    }
    return { stack };
}

/** The stack's config and plan, read exactly as `npm run render` reads them. */
function loadStack(stack: string) {
    const { config, plan, stackFileFound } = loadStackConfig(PROJECT_DIR, stack);
    if (!stackFileFound) {
        process.stderr.write(`note: no Pulumi.${stack}.yaml; checking against the defaults\n`);
    }
    return { config, plan };
}

async function main(argv: string[]): Promise<number> {
    let stack: string;
    try {
        ({ stack } = parseArgs(argv));
    } catch (error) {
        if (error instanceof HelpRequested) {
            process.stdout.write(`${HELP}\n`);
            return 0;
        }
        process.stderr.write(`${escapeLines((error as Error).message)}\n${USAGE}\n`);
        return 2;
    }
    try {
        const { config, plan } = loadStack(stack);
        process.stdout.write(`preflight for stack ${stack} (lab ${plan.labName}, libvirt ${config.libvirtUri}):\n`);
        const findings = await runPreflight(config, plan);
        process.stdout.write(formatFindings(findings));
        return preflightFailed(findings) ? 1 : 0;
    } catch (error) {
        process.stderr.write(
            `${escapeLines(error instanceof ConfigError || error instanceof StackFileError ? error.message : `doctor failed: ${(error as Error).message}`)}\n`,
        );
        return 1;
    }
}

main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
});
