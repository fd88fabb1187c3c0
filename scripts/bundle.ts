/**
 * npm run --silent bundle -- [--stack <name>] --out <dir> [--mirror FROM=TO ...] [--set key=value ...]
 *
 * On a host that reaches the registries, collects everything stack <name>'s lab needs (its bill of
 * materials, lib/bundle/bill-of-materials.ts) into <dir>, in the layout of tests/e2e/bundle/README.md,
 * and writes bundle.json last. Resumable: run it again after a failure or an interruption.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { billOfMaterials } from "../lib/bundle/bill-of-materials";
import { ConfigError } from "../lib/config";
import { BundleDirError } from "../lib/bundler/bundle-dir";
import { Docker } from "../lib/bundler/docker";
import { BundleRunError, formatBytes, makeBundle } from "../lib/bundler/make-bundle";
import { Mirror, MirrorError, parseMirrors, plainHttpAllowed } from "../lib/bundler/mirror";
import { OutDirError, resolveOutDir } from "../lib/render/out-dir";
import { loadStackConfig } from "../lib/stack-config";
import { StackFileError, checkStackName } from "../lib/stack-files";

const USAGE =
    "usage: npm run --silent bundle -- [--stack <name>] --out <dir> [--mirror FROM=TO ...] [--insecure-mirror FROM=TO ...] [--set key=value ...]";
const HELP = `${USAGE}

Collects everything stack <name> (default dev; --set key=value as for npm run render) needs to run
offline into <dir>: every image the lab and its machines run (docker pull with your daemon and your
logins, then docker save, one image per file), the Helm charts (OCI or chart repository), clusterctl's
providers and cert-manager's manifest. bundle.json, the bundle's manifest, is written last: a folder
without it is an unfinished bundle. Point the lab at it with the config key offlineBundle.

<dir> must be new, empty or a bundle (below the project, the temp directory or a user's folder; never
a symlink). What it already holds with the recorded SHA-256 is not fetched again, so an interrupted or
failed run resumes where it stopped; a changed or corrupted file is fetched again. Artifacts an earlier
run recorded that this stack does not need stay in the bundle (one folder can serve several stacks).

--mirror FROM=TO (repeatable) fetches through a mirror; the bundle records the original references.
  FROM a registry:   ghcr.io=registry.example:5000, docker.io=mirror.example/dockerhub
                     (images and OCI charts of that registry; TO is [https://|http://]host[:port][/path])
  FROM a URL prefix: https://github.com=https://mirror.example/github (files and chart repositories)
  A plain http:// mirror is accepted on this machine only (localhost, 127.0.0.0/8, ::1);
  --insecure-mirror FROM=TO accepts it anywhere. Docker pulls from an http:// registry only when its
  daemon lists it under insecure-registries (loopback is always allowed).
Images pulled through a registry mirror get the lab's name (the original reference) in your docker,
as a pull without a mirror would; the mirror's name is removed again unless it was there before.

Progress: one line per artifact (present, fetched, FAILED), then a summary.
Exit codes: 0 the bundle is complete (bundle.json written); 1 invalid config, stack file or folder,
or docker not answering (nothing fetched); 2 usage; 3 some artifacts could not be fetched (each named
on stderr; no bundle.json; run the command again to fetch what is missing).`;
const PROJECT_DIR = path.resolve(__dirname, "..");

interface BundleArgs {
    stack: string;
    out: string;
    overrides: string[];
    mirrors: Mirror[];
}

class UsageError extends Error {}
class HelpRequested extends Error {}

const FLAGS = ["--stack", "--out", "--set", "--mirror", "--insecure-mirror"];

function parseArgs(argv: string[]): BundleArgs {
    if (argv.includes("--help") || argv.includes("-h")) {
        throw new HelpRequested();
    }
    let stack = "dev";
    let out = "";
    const overrides: string[] = [];
    const mirrors: string[] = [];
    const insecureMirrors: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = argv[i + 1];
        if (!FLAGS.includes(flag)) {
            throw new UsageError(`unknown argument ${JSON.stringify(flag)}`);
        }
        if (value === undefined || value.startsWith("--")) {
            throw new UsageError(`${flag} needs a value`);
        }
        i++;
        if (flag === "--stack") stack = value;
        else if (flag === "--out") out = value;
        else if (flag === "--set") overrides.push(value);
        else if (flag === "--mirror") mirrors.push(value);
        else insecureMirrors.push(value);
    }
    if (!out) {
        throw new UsageError("--out is required");
    }
    try {
        checkStackName(stack);
        return {
            stack,
            out: resolveOutDir(out, PROJECT_DIR),
            overrides,
            mirrors: parseMirrors(mirrors, insecureMirrors),
        };
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
}

function createdBy(): string {
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as { version: string };
    return `npm run bundle (capt-playground ${pkg.version})`;
}

async function main(argv: string[]): Promise<number> {
    let args: BundleArgs;
    try {
        args = parseArgs(argv);
    } catch (error) {
        if (error instanceof HelpRequested) {
            process.stdout.write(`${HELP}\n`);
            return 0;
        }
        process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
        return 2;
    }
    try {
        const { config, plan, stackFileFound } = loadStackConfig(PROJECT_DIR, args.stack, args.overrides);
        if (!stackFileFound) {
            process.stderr.write(`note: no Pulumi.${args.stack}.yaml; bundling for the defaults\n`);
        }
        const bom = billOfMaterials(config, plan);
        process.stdout.write(
            `bundle for stack ${args.stack} (lab ${plan.labName}): ${bom.length} artifacts into ${args.out}\n`,
        );
        const mirrors = args.mirrors;
        const result = await makeBundle({
            dir: args.out,
            bom,
            mirrors,
            createdBy: createdBy(),
            docker: new Docker(),
            http: { allowPlainHttp: (url) => plainHttpAllowed(url, mirrors) },
            progress: (line) => process.stdout.write(`${line}\n`),
        });
        const counts = `${result.total} artifacts, ${formatBytes(result.bytes)}: ${result.fetched} fetched, ${result.present} already present`;
        if (!result.complete) {
            process.stdout.write(`${counts}, ${result.failures.length} failed\n`);
            process.stderr.write(
                `could not fetch ${result.failures.length} of ${result.total} artifacts:\n${result.failures
                    .map((f) => `  ${f.subject}: ${f.message}\n`)
                    .join(
                        "",
                    )}the bundle in ${args.out} is unfinished (no bundle.json); run the same command again to fetch what is missing\n`,
            );
            return 3;
        }
        const kept = result.keptEarlier > 0 ? `; ${result.keptEarlier} artifacts of earlier runs kept` : "";
        process.stdout.write(`${counts}${kept}; bundle.json written in ${args.out}\n`);
        return 0;
    } catch (error) {
        const known =
            error instanceof ConfigError ||
            error instanceof StackFileError ||
            error instanceof OutDirError ||
            error instanceof BundleDirError ||
            error instanceof BundleRunError ||
            error instanceof MirrorError;
        process.stderr.write(`${known ? (error as Error).message : `bundle failed: ${(error as Error).message}`}\n`);
        return 1;
    }
}

main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
});
