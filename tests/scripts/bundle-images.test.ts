/**
 * bundle-docker-load.sh, bundle-docker-unload.sh and bundle-node-load.sh against fake docker and kind
 * that keep images as files: an "archive" is a text file naming the image id and the tags it restores.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Sandbox } from "./harness";

const ID = `sha256:${"1".repeat(64)}`;
const OTHER = `sha256:${"2".repeat(64)}`;
const REF = "kindest/node:v1.35.0";

const FAKE_DOCKER = `#!/usr/bin/env bash
set -euo pipefail
state="\${FAKE_STATE:?}"
printf 'docker %s\\n' "$*" >>"$state/argv.log"
images="$state/images"; mkdir -p "$images"
key() { printf '%s' "$1" | tr '/:' '__'; }
case "$1 $2" in
"image inspect")
    f="$images/$(key "$5")"
    [ -f "$f" ] || { echo "Error: No such image: $5" >&2; exit 1; }
    cat "$f" ;;
"load --input")
    id="$(sed -n 's/^id=//p' "$3")"
    for tag in $(sed -n 's/^tags=//p' "$3"); do printf '%s\\n' "$id" >"$images/$(key "$tag")"; done
    echo "Loaded image ID: $id" ;;
"tag sha256"*) printf '%s\\n' "$2" >"$images/$(key "$3")" ;;
"image rm")
    [ ! -f "$state/in-use" ] || { echo "Error: image is being used by a container" >&2; exit 1; }
    rm "$images/$(key "$3")" ;;
"exec "*)
    node="$2"; ref="\${@: -1}"
    f="$state/nodes/$node/$(key "$ref")"
    [ -f "$f" ] || { echo "no such image" >&2; exit 1; }
    cat "$f" ;;
*) echo "fake docker: unsupported: $*" >&2; exit 64 ;;
esac
`;

const FAKE_KIND = `#!/usr/bin/env bash
set -euo pipefail
state="\${FAKE_STATE:?}"
printf 'kind %s\\n' "$*" >>"$state/argv.log"
[ "$1 $2" = "load image-archive" ] && [ "$4" = --name ] || { echo "fake kind: unsupported: $*" >&2; exit 64; }
node="$5-control-plane"; mkdir -p "$state/nodes/$node"
id="$(sed -n 's/^id=//p' "$3")"
for tag in $(sed -n 's/^tags=//p' "$3"); do printf '%s\\n' "$id" >"$state/nodes/$node/$(printf '%s' "$tag" | tr '/:' '__')"; done
`;

let sandbox: Sandbox;
let bundle: string;
beforeEach(() => {
    sandbox = new Sandbox();
    fs.writeFileSync(path.join(sandbox.bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
    fs.writeFileSync(path.join(sandbox.bin, "kind"), FAKE_KIND, { mode: 0o755 });
    bundle = path.join(sandbox.root, "my bundle");
});
afterEach(() => sandbox.cleanup());

/** An archive in the bundle restoring `tags` as image `id`; returns its SHA-256. */
function archive(file: string, id: string, tags: string[]): string {
    const text = `id=${id}\ntags=${tags.join(" ")}\n`;
    fs.mkdirSync(path.dirname(path.join(bundle, file)), { recursive: true });
    fs.writeFileSync(path.join(bundle, file), text);
    return createHash("sha256").update(text).digest("hex");
}

function env(file: string, sha: string, extra: Record<string, string> = {}): Record<string, string> {
    return { BUNDLE_DIR: bundle, IMAGE_FILE: file, IMAGE_SHA256: sha, IMAGE_REF: REF, IMAGE_ID: ID, ...extra };
}

const FILE = "images/kindest_node_v1.35.0.tar";
const hasImage = (name: string) => sandbox.readState(`images/${name.replace(/[/:]/g, "_")}`)?.trim();

describe("bundle-docker-load", () => {
    test("loads the image, checks its id, and says it loaded it", () => {
        const result = sandbox.run("bundle-docker-load", env(FILE, archive(FILE, ID, [REF])));
        expect(result.stderr).toContain("loading kindest/node:v1.35.0");
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("loaded=yes\n");
        expect(hasImage(REF)).toBe(ID);
        expect(sandbox.calls("docker", "load")).toHaveLength(1);
    });

    test("an archive saved by digest restores no name: the image gets the lab's", () => {
        const result = sandbox.run("bundle-docker-load", env(FILE, archive(FILE, ID, [])));
        expect(result.status).toBe(0);
        expect(sandbox.calls("docker", "tag")).toEqual([`docker tag ${ID} ${REF}`]);
        expect(hasImage(REF)).toBe(ID);
    });

    test("a file of another SHA-256 is not loaded", () => {
        archive(FILE, ID, [REF]);
        const result = sandbox.run("bundle-docker-load", env(FILE, "0".repeat(64)));
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(/has SHA-256 [0-9a-f]{64}, bundle.json records 0{64}: the file was changed/);
        expect(sandbox.calls("docker", "load")).toEqual([]);
    });

    test("an archive that loads another image id fails", () => {
        const result = sandbox.run("bundle-docker-load", env(FILE, archive(FILE, OTHER, [REF])));
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(/loaded kindest\/node:v1.35.0 as sha256:2{64}, bundle.json records sha256:1{64}/);
    });

    test("a name docker has as another image is never replaced", () => {
        sandbox.writeState("images/kindest_node_v1.35.0", `${OTHER}\n`);
        const result = sandbox.run("bundle-docker-load", env(FILE, archive(FILE, ID, [REF])));
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(/already has kindest\/node:v1.35.0 as another image .*remove or retag yours/);
        expect(sandbox.calls("docker", "load")).toEqual([]);
        expect(hasImage(REF)).toBe(OTHER);
    });

    test("the user's own copy of the image is used and recorded as theirs; an earlier load stays recorded", () => {
        sandbox.writeState("images/kindest_node_v1.35.0", `${ID}\n`);
        const sha = archive(FILE, ID, [REF]);
        const first = sandbox.run("bundle-docker-load", env(FILE, sha));
        expect(first.stdout).toBe("loaded=no\n");
        const again = sandbox.run("bundle-docker-load", env(FILE, sha, { PULUMI_COMMAND_STDOUT: "loaded=yes\n" }));
        expect(again.stdout).toBe("loaded=yes\n");
        expect(sandbox.calls("docker", "load")).toEqual([]);
    });

    test("a path out of the bundle is refused", () => {
        const result = sandbox.run("bundle-docker-load", env("images/../../etc/passwd", "0".repeat(64)));
        expect(result.status).toBe(2);
        expect(result.stderr).toContain("IMAGE_FILE must be a path inside the bundle");
    });
});

describe("bundle-docker-unload", () => {
    const unload = (stdout: string) =>
        sandbox.run("bundle-docker-unload", { IMAGE_REF: REF, IMAGE_ID: ID, PULUMI_COMMAND_STDOUT: stdout });

    test("removes what the load put there", () => {
        sandbox.writeState("images/kindest_node_v1.35.0", `${ID}\n`);
        expect(unload("loaded=yes\n").status).toBe(0);
        expect(hasImage(REF)).toBeUndefined();
    });

    test("leaves the user's image, a name that means another image now, and one already gone", () => {
        sandbox.writeState("images/kindest_node_v1.35.0", `${ID}\n`);
        expect(unload("loaded=no\n").status).toBe(0);
        expect(hasImage(REF)).toBe(ID);
        sandbox.writeState("images/kindest_node_v1.35.0", `${OTHER}\n`);
        expect(unload("loaded=yes\n").stderr).toContain("is another image now");
        expect(hasImage(REF)).toBe(OTHER);
        fs.rmSync(sandbox.stateFile("images/kindest_node_v1.35.0"));
        expect(unload("loaded=yes\n").status).toBe(0);
        expect(sandbox.calls("docker", "image", "rm")).toEqual([]);
    });

    test("an image still in use fails the delete loudly", () => {
        sandbox.writeState("images/kindest_node_v1.35.0", `${ID}\n`);
        sandbox.writeState("in-use", "yes");
        const result = unload("loaded=yes\n");
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain("being used by a container");
    });
});

describe("bundle-node-load", () => {
    const NGINX = "nginx:1.29.5";
    const NODE_FILE = "images/nginx_1.29.5.tar";
    const nodeEnv = (sha: string, id = ID) => ({
        ...env(NODE_FILE, sha),
        IMAGE_REF: NGINX,
        IMAGE_ID: id,
        KIND_CLUSTER_NAME: "capt-dev",
    });

    test("imports the archive into the node with kind and checks the CRI's image id", () => {
        const result = sandbox.run("bundle-node-load", nodeEnv(archive(NODE_FILE, ID, [NGINX])));
        expect(result.stderr).toContain("loading nginx:1.29.5 into capt-dev-control-plane");
        expect(result.status).toBe(0);
        expect(sandbox.calls("kind", "load")).toEqual([
            `kind load image-archive ${path.join(bundle, NODE_FILE)} --name capt-dev`,
        ]);
        expect(sandbox.calls("docker", "exec")).toEqual([
            "docker exec capt-dev-control-plane crictl inspecti -o go-template --template {{.status.id}} nginx:1.29.5",
        ]);
    });

    test("an image the node then has under another id fails", () => {
        const result = sandbox.run("bundle-node-load", nodeEnv(archive(NODE_FILE, OTHER, [NGINX])));
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(
            /capt-dev-control-plane has nginx:1.29.5 as sha256:2{64}, bundle.json records sha256:1{64}/,
        );
    });

    test("a symlink in place of the archive is refused before kind runs", () => {
        const sha = archive("images/real.tar", ID, [NGINX]);
        fs.symlinkSync(path.join(bundle, "images/real.tar"), path.join(bundle, NODE_FILE));
        const result = sandbox.run("bundle-node-load", nodeEnv(sha));
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("is missing or not a regular file");
        expect(sandbox.calls("kind")).toEqual([]);
    });
});
