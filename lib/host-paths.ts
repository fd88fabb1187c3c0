/**
 * Where a folder the lab writes into really is, and whether that place is one it may use. A folder
 * below /tmp can be prepared by another user: a symbolic link on the way sends a root `up` or
 * `render` into a folder that would be refused if named directly, so every location is judged by
 * its real path, never by its spelling. Reads the file system (realpath), writes nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isAllowedAbsoluteDir } from "./config-formats";

/**
 * The real path of `target` (made absolute): its nearest existing ancestor resolved by realpath,
 * with the parts that do not exist yet appended as they are spelled.
 */
export function realLocation(target: string): string {
    const wanted = path.resolve(target);
    const missing: string[] = [];
    for (let at = wanted; ; at = path.dirname(at)) {
        try {
            return path.join(fs.realpathSync.native(at), ...missing.reverse());
        } catch {
            if (path.dirname(at) === at) return wanted;
            missing.push(path.basename(at));
        }
    }
}

/** True when `dir` is strictly below `root` (both absolute). */
export function isBelowPath(dir: string, root: string): boolean {
    const relative = path.relative(root, dir);
    return relative !== "" && relative !== ".." && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

/**
 * Why the stack's output directory may not be used where it really is, or undefined. `configured`
 * is the outputDir key as given (empty, relative to the project, or absolute), `outputDir` the
 * folder the plan made of it. The config check judged the spelling; this judges the real place. A
 * symbolic link on the way is refused even when it leads somewhere allowed: the lab's scripts
 * never write or delete through one (components/scripts/lib/safe-paths.sh), so it is said here,
 * before anything is created, with the real folder to use instead.
 */
export function outputDirLocationProblem(
    configured: string,
    outputDir: string,
    projectDir: string,
): string | undefined {
    const real = realLocation(outputDir);
    const project = realLocation(projectDir);
    const spelled = configured === "" ? `(empty) is ${outputDir}` : `is ${outputDir}`;
    const inside = !path.isAbsolute(configured);
    if (real !== path.resolve(outputDir)) {
        return `${spelled}, which a symbolic link on the way makes ${real}; the lab never writes or deletes through a link: give outputDir the real folder${inside ? " as an absolute path" : ""}`;
    }
    if (inside) {
        return isBelowPath(real, project) ? undefined : `${spelled}; expected a folder inside the project (${project})`;
    }
    return isAllowedAbsoluteDir(real)
        ? undefined
        : `${spelled}; expected a folder below the allowed folders (see the config reference)`;
}
