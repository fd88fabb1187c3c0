/**
 * The user's docker, as `npm run bundle` uses it: pull (with the user's daemon, its registry
 * configuration and its logins), tag, inspect and save. Every call is an argv (no shell); the image
 * references were checked against the reference grammar before they get here.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { pipeline } from "node:stream/promises";
import { Written, hashingPassThrough } from "./http";

export class DockerError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "DockerError";
    }
}

export interface ImageFacts {
    /** `docker image inspect -f '{{.Id}}'`: the config digest (sha256:...). */
    id: string;
    repoTags: string[];
    repoDigests: string[];
}

interface Ran {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** The last non-empty lines of docker's error output: what went wrong, without the progress bars. */
function lastLines(text: string, count = 2): string {
    return text
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "")
        .slice(-count)
        .join(" / ");
}

/** `Digest: sha256:...` as `docker pull` prints it. */
export function pulledDigest(output: string): string | undefined {
    return /^Digest: (sha256:[a-f0-9]{64})\s*$/m.exec(output)?.[1];
}

export class Docker {
    constructor(
        private readonly command = "docker",
        private readonly env: NodeJS.ProcessEnv = process.env,
    ) {}

    private run(args: string[]): Promise<Ran> {
        return new Promise((resolve, reject) => {
            const child = spawn(this.command, args, { env: this.env, stdio: ["ignore", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
            child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
            child.on("error", (error) => reject(new DockerError(`cannot run ${this.command}: ${error.message}`)));
            child.on("close", (code) => resolve({ code, stdout, stderr }));
        });
    }

    private async expect(args: string[]): Promise<string> {
        const ran = await this.run(args);
        if (ran.code !== 0) {
            throw new DockerError(`docker ${args.join(" ")} failed: ${lastLines(ran.stderr || ran.stdout)}`);
        }
        return ran.stdout;
    }

    /** The daemon's version; throws saying why docker cannot be used. */
    async serverVersion(): Promise<string> {
        const ran = await this.run(["version", "--format", "{{.Server.Version}}"]);
        if (ran.code !== 0 || ran.stdout.trim() === "") {
            throw new DockerError(`the docker daemon does not answer: ${lastLines(ran.stderr || ran.stdout)}`);
        }
        return ran.stdout.trim();
    }

    /** The image a reference names in the daemon, or undefined when there is none. */
    async inspect(reference: string): Promise<ImageFacts | undefined> {
        const ran = await this.run(["image", "inspect", "--format", "{{json .}}", reference]);
        if (ran.code !== 0) {
            if (/no such image/i.test(ran.stderr)) return undefined;
            throw new DockerError(`docker image inspect ${reference} failed: ${lastLines(ran.stderr)}`);
        }
        const facts = JSON.parse(ran.stdout) as {
            Id: string;
            RepoTags?: string[] | null;
            RepoDigests?: string[] | null;
        };
        return { id: facts.Id, repoTags: facts.RepoTags ?? [], repoDigests: facts.RepoDigests ?? [] };
    }

    /** `docker pull`; the manifest digest the registry served, when docker printed it. */
    async pull(reference: string): Promise<string | undefined> {
        const ran = await this.run(["pull", reference]);
        if (ran.code !== 0) {
            throw new DockerError(`docker pull ${reference} failed: ${lastLines(ran.stderr || ran.stdout)}`);
        }
        return pulledDigest(ran.stdout);
    }

    async tag(source: string, target: string): Promise<void> {
        await this.expect(["tag", source, target]);
    }

    /** Removes the tag `reference` (the image stays while another tag or a container holds it). */
    async untag(reference: string): Promise<void> {
        await this.expect(["image", "rm", "--no-prune", reference]);
    }

    /** `docker save reference` streamed into `stream` (closed at the end), hashed on the way. */
    async save(reference: string, stream: fs.WriteStream): Promise<Written> {
        const child = spawn(this.command, ["save", reference], { env: this.env, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise<number | null>((resolve, reject) => {
            child.on("error", (error) => reject(new DockerError(`cannot run ${this.command}: ${error.message}`)));
            child.on("close", resolve);
        });
        const { transform, result } = hashingPassThrough();
        try {
            await pipeline(child.stdout, transform, stream);
        } catch (error) {
            child.kill();
            await exited.catch(() => undefined);
            throw new DockerError(`docker save ${reference}: writing the file failed: ${(error as Error).message}`);
        }
        const code = await exited;
        if (code !== 0) throw new DockerError(`docker save ${reference} failed: ${lastLines(stderr)}`);
        return result();
    }
}
