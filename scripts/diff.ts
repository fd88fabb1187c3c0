/**
 * npm run --silent diff -- --base <git-ref> [--stack <name> ...] [--format markdown|text]
 *
 * What a change does to every stack, with no Pulumi state and no host: each stack is rendered at
 * <git-ref> (with that commit's own code) and in the working tree, and the two renders are compared
 * object by object. `--changed-stacks` instead prints the stacks a real `pulumi preview` should run
 * for (their file changed, or code did), one per line.
 */
import * as path from "node:path";
import { DEFAULT_MARKDOWN_LIMIT, formatMarkdown, formatText } from "../lib/diff/format";
import { GitError } from "../lib/diff/git";
import { UnknownStackError, changedStacks, runDiff, scrubSecrets } from "../lib/diff/run";
import { STACK_NAME_ALLOWED, escapeControl, escapeLines, isStackName } from "../lib/config-formats";

const USAGE =
    "usage: npm run --silent diff -- --base <git-ref> [--stack <name> ...] [--format markdown|text] [--max-chars N]\n" +
    "       npm run --silent diff -- --base <git-ref> --changed-stacks";
const HELP = `${USAGE}

Renders every stack (or each --stack) at <git-ref> with that commit's code and in the working tree,
and prints what changed object by object; secrets are shown as [secret]. --changed-stacks prints the
stacks a real \`pulumi preview\` should run for. A --stack with a stack file on neither side is an
error. Exit codes: 0 done, 1 failed, 2 usage, unknown stack or git error.`;
const PROJECT_DIR = path.resolve(__dirname, "..");

interface DiffArgs {
    base: string;
    stacks: string[];
    format: "markdown" | "text";
    maxChars: number;
    changedStacks: boolean;
}

class UsageError extends Error {}
class HelpRequested extends Error {}

function parseArgs(argv: string[]): DiffArgs {
    if (argv.includes("--help") || argv.includes("-h")) {
        throw new HelpRequested();
    }
    const args: DiffArgs = {
        base: "",
        stacks: [],
        format: "text",
        maxChars: DEFAULT_MARKDOWN_LIMIT,
        changedStacks: false,
    };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        if (flag === "--changed-stacks") {
            args.changedStacks = true;
            continue;
        }
        if (!["--base", "--stack", "--format", "--max-chars"].includes(flag)) {
            throw new UsageError(`unknown argument ${JSON.stringify(flag.slice(0, 120))}`);
        }
        const value = argv[++i];
        if (value === undefined || value.startsWith("--")) {
            throw new UsageError(`${flag} needs a value`);
        }
        if (flag === "--base") args.base = value;
        else if (flag === "--stack") {
            if (!isStackName(value))
                throw new UsageError(
                    `not a stack name: ${escapeControl(JSON.stringify(value.slice(0, 120)))}; expected ${STACK_NAME_ALLOWED}`,
                );
            args.stacks.push(value);
        } else if (flag === "--format") {
            if (value !== "markdown" && value !== "text")
                throw new UsageError(`--format is markdown or text, got ${JSON.stringify(value)}`);
            args.format = value;
        } else {
            const chars = Number(value);
            if (!Number.isInteger(chars) || chars < 1000)
                throw new UsageError("--max-chars needs a whole number of at least 1000");
            args.maxChars = chars;
        }
    }
    if (!args.base) {
        throw new UsageError("--base is required");
    }
    return args;
}

async function main(argv: string[]): Promise<number> {
    let args: DiffArgs;
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
        if (args.changedStacks) {
            const stacks = changedStacks(PROJECT_DIR, args.base);
            process.stdout.write(stacks.map((stack) => `${stack}\n`).join(""));
            return 0;
        }
        const { report, secrets } = await runDiff({
            projectDir: PROJECT_DIR,
            base: args.base,
            stacks: args.stacks,
            tsNodeBin: require.resolve("ts-node/dist/bin.js"),
        });
        const text = args.format === "markdown" ? formatMarkdown(report, args.maxChars) : formatText(report);
        process.stdout.write(scrubSecrets(text, secrets));
        return 0;
    } catch (error) {
        if (error instanceof GitError || error instanceof UnknownStackError) {
            process.stderr.write(`diff: ${escapeLines(error.message)}\n`);
            return 2;
        }
        process.stderr.write(`diff failed: ${escapeLines(String((error as Error).stack ?? error))}\n`);
        return 1;
    }
}

main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
});
