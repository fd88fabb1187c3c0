/**
 * The kubeconfigs `npm run status` reads from the stack's output folder: only ones the lab could have
 * written, and never one that makes kubectl run a program. The output folder may sit below /tmp,
 * where another user can place a kubeconfig with an `exec` credential plugin; kubectl runs that
 * plugin's command as whoever runs status. The lab's own kubeconfigs (KinD's, and the workload
 * cluster's from Cluster API) authenticate with client certificates and never name a program.
 *
 * So a kubeconfig from the output folder is read only when it is a regular file (not a link), owned
 * by the user running status, private (no access for group or others: the lab writes them 0600) and
 * names no program (`exec`, `auth-provider`); and kubectl reads a private copy of exactly what was
 * checked, so nothing can be swapped in between. Kubeconfigs the user names on the command line
 * (`--management-kubeconfig`, `--tinkerbell-kubeconfig`) are theirs and read as their kubectl would.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";

/** A kubeconfig with embedded certificates is a few KB. */
export const MAX_KUBECONFIG_BYTES = 1024 * 1024;

/** Why kubectl would run a program for this kubeconfig (an exec plugin, an auth provider), or undefined. */
export function kubeconfigRunsProgram(text: string): string | undefined {
    const doc = parseDocument(text, { prettyErrors: false, logLevel: "silent" });
    let config: unknown;
    try {
        config = doc.errors.length === 0 ? doc.toJS({ maxAliasCount: 100 }) : undefined;
    } catch {
        config = undefined;
    }
    if (typeof config !== "object" || config === null) {
        return "is not a kubeconfig status can read (not YAML)";
    }
    const users = (config as { users?: unknown }).users;
    for (const [index, entry] of (Array.isArray(users) ? users : []).entries()) {
        const user = (entry as { user?: Record<string, unknown> } | null)?.user;
        if (user && typeof user === "object") {
            for (const field of ["exec", "auth-provider"]) {
                if (Object.hasOwn(user, field) && user[field] !== null && user[field] !== undefined) {
                    return `names a program for kubectl to run (users[${index}].user.${field}); the lab's own kubeconfigs never do, so status does not use it`;
                }
            }
        }
    }
    return undefined;
}

/**
 * The content of a kubeconfig the lab wrote into its output folder, or why it is not read (missing:
 * `notWritten`). Opened without following a link and without blocking on a FIFO; every check is made
 * on the open file.
 */
export function readLabKubeconfig(file: string): { content: string } | { error: string; notWritten?: boolean } {
    let fd: number;
    try {
        fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return { error: `the kubeconfig ${file} is not written yet`, notWritten: true };
        if (code === "ELOOP") {
            return { error: `the kubeconfig ${file} is a symbolic link; the lab writes its kubeconfigs as files` };
        }
        return { error: `the kubeconfig ${file} cannot be read (${code ?? (error as Error).message})` };
    }
    try {
        const stats = fs.fstatSync(fd);
        const uid = process.getuid?.();
        const refuse = (why: string) => ({ error: `the kubeconfig ${file} is not read: ${why}` });
        if (!stats.isFile()) return refuse("it is not a regular file");
        if (uid !== undefined && stats.uid !== uid) {
            return refuse(
                `it belongs to user ${stats.uid}, not to you; the lab writes its kubeconfigs as the user who runs up`,
            );
        }
        if ((stats.mode & 0o077) !== 0) {
            return refuse(
                `group or others may read or write it (mode ${(stats.mode & 0o777).toString(8)}); the lab writes its kubeconfigs 0600`,
            );
        }
        if (stats.size > MAX_KUBECONFIG_BYTES)
            return refuse(`it is ${stats.size} bytes, not a kubeconfig the lab wrote`);
        const content = fs.readFileSync(fd, "utf8");
        const program = kubeconfigRunsProgram(content);
        return program ? refuse(`it ${program}`) : { content };
    } finally {
        fs.closeSync(fd);
    }
}

/** A private copy of a kubeconfig (0600 in a fresh 0700 folder) for kubectl to read, and its removal. */
export function privateKubeconfig(content: string, name: string): { file: string; release: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capt-status-"));
    const file = path.join(dir, name);
    fs.writeFileSync(file, content, { mode: 0o600, flag: "wx" });
    return { file, release: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
