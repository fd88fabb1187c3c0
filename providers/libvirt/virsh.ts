/**
 * The one way the providers talk to libvirt: `virsh -c <uri> <args...>` through execFile with an
 * argument array (no shell, so names are never interpreted), which works for local and remote
 * URIs (qemu+ssh://...) alike. Node modules are required inside the functions because Pulumi
 * serializes the provider code and runs it in another process (see xml.ts).
 */

/** A failed virsh call, naming the operation, the object and the connection. */
export interface VirshFailure extends Error {
    operation: string;
    object: string;
    uri: string;
    stderr: string;
    /** libvirt said the object does not exist. */
    notFound: boolean;
}

const ATTEMPTS = 20;
const TIMEOUT_MS = 120_000;

export async function virsh(uri: string, args: string[], object: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await runOnce(uri, args, object);
        } catch (error) {
            const failure = error as VirshFailure;
            if (attempt >= ATTEMPTS || !isTransient(failure)) {
                throw failure;
            }
            await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
        }
    }
}

/** Like virsh(), but a missing object yields undefined instead of an error. */
export async function virshIfExists(uri: string, args: string[], object: string): Promise<string | undefined> {
    try {
        return await virsh(uri, args, object);
    } catch (error) {
        if (isNotFound(error)) {
            return undefined;
        }
        throw error;
    }
}

/** libvirt refuses pool refreshes while a volume of the pool is being built; that passes. */
function isTransient(failure: VirshFailure): boolean {
    return /has asynchronous jobs running/i.test(failure.stderr ?? "");
}

export function isNotFound(error: unknown): boolean {
    return typeof error === "object" && error !== null && (error as VirshFailure).notFound === true;
}

function runOnce(uri: string, args: string[], object: string): Promise<string> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the file comment
    const { execFile } = require("node:child_process") as typeof import("node:child_process");
    return new Promise((resolve, reject) => {
        execFile(
            "virsh",
            ["--quiet", "-c", uri, ...args],
            // LC_ALL=C keeps libvirt's messages in English, which isNotFound() reads.
            { env: { ...process.env, LC_ALL: "C" }, timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
            (error, stdout, stderr) => {
                if (!error) {
                    resolve(stdout);
                    return;
                }
                const detail = (stderr || error.message)
                    .trim()
                    .replace(/^error: /gm, "")
                    .replace(/\n+/g, "; ");
                const operation = args[0];
                const failure = new Error(
                    `virsh ${operation} of '${object}' on ${uri} failed: ${detail}`,
                ) as VirshFailure;
                failure.operation = operation;
                failure.object = object;
                failure.uri = uri;
                failure.stderr = stderr;
                failure.notFound =
                    /failed to get (domain|pool|vol)|not found|no (domain|storage pool|storage vol) with matching/i.test(
                        stderr,
                    );
                reject(failure);
            },
        );
    });
}

/** Run `use` with the XML in a private temporary file (virsh reads definitions from files). */
export async function withXmlFile<T>(xml: string, use: (file: string) => Promise<T>): Promise<T> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the file comment
    const fs = require("node:fs/promises") as typeof import("node:fs/promises");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the file comment
    const os = require("node:os") as typeof import("node:os");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the file comment
    const path = require("node:path") as typeof import("node:path");
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "capt-virsh-"));
    try {
        const file = path.join(dir, "definition.xml");
        await fs.writeFile(file, xml, { mode: 0o600 });
        return await use(file);
    } finally {
        await fs.rm(dir, { recursive: true, force: true });
    }
}
