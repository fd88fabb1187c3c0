/**
 * Known points inside the lab's creates, for the whole-program suite to kill `npm run up` at
 * (tests/e2e/program.test.ts, step 7+8). Each point stops one create after the daemon made its
 * object and before the provider answers the engine, so a SIGKILL then leaves exactly what a kill at
 * that moment leaves on a user's machine: the object made, the state showing a pending create.
 *
 * - docker's API (network, container): a hold-proxy (stand-ins/hold-proxy) in front of dockerd's
 *   socket, named by DOCKER_HOST for every run of the stack (so the docker provider's configuration
 *   never changes between runs), holding the answer to a create;
 * - the KinD cluster's API (Kubernetes objects): the kind stand-in's hold-proxy
 *   (CAPT_E2E_KIND_API_PROXY), holding the answer to a create;
 * - a Helm install: the node-agent does not start the chart's pods (hold-pods), so Helm waits;
 * - the KinD create itself: the kind stand-in stops once the API answers (CAPT_E2E_KIND_CREATE_HOLD);
 * - clusterctl init: the clusterctl stand-in waits (CAPT_E2E_CLUSTERCTL_INIT_SECONDS);
 * - the tools the lab's providers and scripts run (virsh, docker exec, mv): stand-ins/hold-shim first
 *   on PATH, stopping before or after the real call.
 * Every held point writes a marker file; a test kills once all of its markers are there and the
 * state shows the creates pending.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { STAND_INS } from "./lab-fixture";
import { ProgramWorkspace } from "./program-rig";

const SHIMMED_TOOLS = ["virsh", "docker", "mv"];

export interface Holds {
    /** hold-shim rules: `<tool> <before|after> <regex over the arguments>`. */
    shim?: string[];
    /** docker API rules: `<METHOD> <regex over path and query>`. */
    docker?: string[];
    /** The KinD cluster's API rules, as for docker. */
    api?: string[];
    /** Images whose pods the node-agent does not start. */
    pods?: string[];
    /** Variables of the killed run (the kind and clusterctl stand-ins' holds). */
    env?: NodeJS.ProcessEnv;
}

export class KillPoints {
    private readonly root: string;
    private readonly shimDir: string;
    private readonly dockerSocket: string;
    private readonly proxy: ChildProcess;

    /** `cluster`: the stack's KinD cluster name (the stand-ins' per-cluster hold files). */
    constructor(
        private readonly ws: ProgramWorkspace,
        private readonly cluster: string,
    ) {
        this.root = path.join(ws.tmp, `kill-points-${cluster}`);
        this.shimDir = path.join(this.root, "shims");
        fs.mkdirSync(this.shimDir, { recursive: true });
        for (const tool of SHIMMED_TOOLS) {
            fs.symlinkSync(path.join(STAND_INS, "hold-shim"), path.join(this.shimDir, tool));
        }
        this.dockerSocket = path.join(this.root, "docker.sock");
        const log = fs.openSync(path.join(this.root, "docker-proxy.log"), "a");
        this.proxy = spawn(
            path.join(STAND_INS, "hold-proxy"),
            [
                "--listen",
                `unix:${this.dockerSocket}`,
                "--upstream",
                "unix:/var/run/docker.sock",
                "--rules",
                this.file("docker-hold"),
                "--held",
                this.file("docker-held"),
            ],
            { stdio: ["ignore", log, log], detached: true },
        );
        fs.closeSync(log);
    }

    private file(name: string): string {
        return path.join(this.root, name);
    }

    private get apiRules(): string {
        return path.join(this.ws.standIns, `api-hold.${this.cluster}`);
    }

    private get apiHeld(): string {
        return path.join(this.ws.standIns, `api-held.${this.cluster}`);
    }

    private get podHolds(): string {
        return path.join(this.ws.standIns, `hold-pods.${this.cluster}`);
    }

    /** Waits until the docker proxy answers. */
    async ready(): Promise<void> {
        for (let i = 0; i < 100 && !fs.existsSync(this.dockerSocket); i++) {
            await new Promise((r) => setTimeout(r, 100));
        }
        if (!fs.existsSync(this.dockerSocket)) {
            throw new Error(
                `the docker hold-proxy did not start: ${fs.readFileSync(this.file("docker-proxy.log"), "utf8")}`,
            );
        }
    }

    /** What every run of the stack gets: docker through the proxy, the KinD cluster's API through its proxy. */
    get stackEnv(): NodeJS.ProcessEnv {
        return { DOCKER_HOST: `unix://${this.dockerSocket}`, CAPT_E2E_KIND_API_PROXY: "1" };
    }

    /** Sets the holds of one killed run (and clears the markers of the last); returns its environment. */
    arm(holds: Holds): NodeJS.ProcessEnv {
        this.disarm();
        const write = (file: string, lines: string[] | undefined) => {
            if (lines?.length) fs.writeFileSync(file, `${lines.join("\n")}\n`);
        };
        write(this.file("shim-rules"), holds.shim);
        write(this.file("docker-hold"), holds.docker);
        write(this.apiRules, holds.api);
        write(this.podHolds, holds.pods);
        return {
            ...this.stackEnv,
            ...holds.env,
            PATH: `${this.shimDir}:${this.ws.env.PATH}`,
            CAPT_E2E_HOLD_RULES: this.file("shim-rules"),
            CAPT_E2E_HOLD_DIR: this.file("shim-held"),
        };
    }

    /** No hold anywhere, no marker left. */
    disarm(): void {
        for (const file of [this.file("shim-rules"), this.file("docker-hold"), this.apiRules, this.podHolds]) {
            fs.rmSync(file, { force: true });
        }
        for (const dir of [this.file("shim-held"), this.file("docker-held"), this.apiHeld]) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    /** The held calls so far: `<where> <what>` (shim: tool and arguments; docker and api: method and path). */
    held(): string[] {
        const read = (dir: string, where: string) =>
            fs.existsSync(dir)
                ? fs.readdirSync(dir).map((f) => {
                      const tool = where === "shim" ? `${f.split(".")[0]} ` : "";
                      return `${where} ${tool}${fs.readFileSync(path.join(dir, f), "utf8").trim()}`;
                  })
                : [];
        return [
            ...read(this.file("shim-held"), "shim"),
            ...read(this.file("docker-held"), "docker"),
            ...read(this.apiHeld, "api"),
        ].sort();
    }

    stop(): void {
        this.disarm();
        try {
            this.proxy.kill("SIGKILL");
        } catch {
            // gone
        }
    }
}
