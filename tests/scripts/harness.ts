/**
 * Runs the Command scripts exactly as `local.Command` does with the args from `scriptCommandArgs`
 * (`/bin/bash <script path relative to the project directory>`, from the project directory, inputs in
 * the environment and on stdin) inside a sandbox whose PATH starts with fake `kind`, `docker`,
 * `clusterctl` and `kubectl` executables. The fakes keep their state in files, log every invocation's
 * argv (one line each, newlines inside an argument written as \\n) and which secret-carrying variables
 * were in their environment, so tests can assert on both the effects and on what travelled where.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { COMMAND_SCRIPT_INTERPRETER, CommandScriptName, commandScriptRunPath } from "../../components/scripts";

/** Variables that carry secrets into the scripts; the fakes report which of them they inherited. */
export const SECRET_VARIABLES = [
    "KUBECONFIG_CONTENT",
    "WORKLOAD_KUBECONFIG_CONTENT",
    "VBMC_PASSWORD",
    "FILE_CONTENT",
    "PULUMI_COMMAND_STDOUT",
];

const PREAMBLE = `#!/usr/bin/env bash
set -euo pipefail
state="\${FAKE_STATE:?}"
tool="\${0##*/}"
argv="$*"
printf '%s %s\\n' "$tool" "\${argv//$'\\n'/\\\\n}" >>"$state/argv.log"
present=""
for v in ${SECRET_VARIABLES.join(" ")}; do
    if [ -n "\${!v+x}" ]; then present="$present $v"; fi
done
printf '%s%s\\n' "$tool" "$present" >>"$state/env.log"
`;

const FAKE_KIND = `${PREAMBLE}
list="$state/kind-clusters"
touch "$list"
sub="\${1:-} \${2:-}"
shift 2 || true
name=""
config=""
while [ $# -gt 0 ]; do
    case "$1" in
    --name) name="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --wait) printf '%s\\n' "$2" >"$state/kind-wait"; shift 2 ;;
    *) echo "fake kind: unexpected argument $1" >&2; exit 64 ;;
    esac
done
case "$sub" in
"get clusters")
    if [ -n "\${FAKE_KIND_BROKEN:-}" ]; then echo "ERROR: failed to list clusters: cannot reach docker" >&2; exit 1; fi
    if [ -s "$list" ]; then cat "$list"; else echo "No kind clusters found." >&2; fi ;;
"create cluster")
    if grep -Fxq -- "$name" "$list"; then
        echo "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \\"$name\\"" >&2
        exit 1
    fi
    if [ "$config" = "-" ]; then cat >"$state/kind-config.$name"; fi
    printf '%s\\n' "\${KIND_EXPERIMENTAL_DOCKER_NETWORK:-}" >"$state/kind-network.$name"
    echo "Creating cluster \\"$name\\" ..."
    echo "$name" >>"$list" ;;
"get kubeconfig")
    if ! grep -Fxq -- "$name" "$list"; then
        echo "ERROR: could not locate any control plane nodes for cluster named '$name'" >&2
        exit 1
    fi
    printf 'apiVersion: v1\\nkind: Config\\nclusters:\\n- name: kind-%s\\nusers:\\n- user:\\n    token: kind-secret-token-%s\\n' "$name" "$name" ;;
"delete cluster")
    grep -Fxv -- "$name" "$list" >"$list.new" || true
    mv "$list.new" "$list"
    echo "Deleting cluster \\"$name\\" ..." >&2 ;;
*) echo "fake kind: unsupported command: $sub" >&2; exit 64 ;;
esac
`;

/**
 * Which fake cluster a kubeconfig file names: a \`# fake-cluster: NAME\` line selects
 * $state/clusters/NAME; without it, the state directory itself (the management cluster).
 */
const CLUSTER_DIR = `
cluster_dir() {
    local name
    name="$(sed -n 's/^# fake-cluster: *//p' "$1" | head -n 1)"
    if [ -n "$name" ]; then printf '%s\\n' "$state/clusters/$name"; else printf '%s\\n' "$state"; fi
}
unreachable() {
    if [ -f "$1/unreachable" ]; then
        echo "Unable to connect to the server: dial tcp 10.0.0.1:6443: connect: connection refused" >&2
        exit 1
    fi
}
`;

/** Behaves like clusterctl >= v1.2 (cluster-api cmd/clusterctl/client/init.go) as far as idempotency goes. */
const FAKE_CLUSTERCTL = `${PREAMBLE}${CLUSTER_DIR}
cmd="\${1:-}"
shift || true
record_env() {
    env | grep -E '^(XDG_[A-Z_]+|CLUSTERCTL_DISABLE_VERSIONCHECK|TINKERBELL_IP)=' | sort
}
case "$cmd" in
version)
    printf '%s\\n' "\${FAKE_CLUSTERCTL_VERSION:-v1.12.5}" ;;
init)
    # A line of FAKE_CLUSTERCTL_LONG_LINE bytes first (kubectl dumps whole objects in some errors).
    if [ -n "\${FAKE_CLUSTERCTL_LONG_LINE:-}" ]; then head -c "$FAKE_CLUSTERCTL_LONG_LINE" /dev/zero | tr '\\0' x >&2; echo >&2; fi
    config=""; kubeconfig=""; core=""; bootstrap=""; controlplane=""; infra=""; wait=""; timeout=""
    while [ $# -gt 0 ]; do
        case "$1" in
        --config) config="$2"; shift 2 ;;
        --kubeconfig) kubeconfig="$2"; shift 2 ;;
        --core) core="$2"; shift 2 ;;
        -b|--bootstrap) bootstrap="$2"; shift 2 ;;
        -c|--control-plane) controlplane="$2"; shift 2 ;;
        -i|--infrastructure) infra="$2"; shift 2 ;;
        --wait-providers) wait=yes; shift ;;
        --wait-provider-timeout) timeout="$2"; shift 2 ;;
        *) echo "fake clusterctl: unexpected argument $1" >&2; exit 64 ;;
        esac
    done
    {
        printf 'kubeconfig=%s\\n' "$kubeconfig"
        printf 'kubeconfig-sha256=%s\\n' "$(sha256sum <"$kubeconfig" | cut -d' ' -f1)"
        printf 'kubeconfig-mode=%s\\n' "$(stat -c %a "$kubeconfig")"
        printf 'config=%s\\n' "$config"
        printf 'wait-providers=%s\\nwait-provider-timeout=%s\\n' "$wait" "$timeout"
        record_env
    } >"$state/clusterctl-init.last"
    # A run killed with SIGKILL (no trap runs) after clusterctl wrote a file below its XDG folder.
    if [ -n "\${FAKE_CLUSTERCTL_KILLED_AFTER_WRITING:-}" ]; then
        mkdir -p "$XDG_CONFIG_HOME/cluster-api"
        echo written >"$XDG_CONFIG_HOME/cluster-api/$FAKE_CLUSTERCTL_KILLED_AFTER_WRITING"
        kill -KILL "$PPID"
        exit 137
    fi
    echo "Fetching providers" >&2
    dir="$(cluster_dir "$kubeconfig")"
    unreachable "$dir"
    inv="$dir/inventory"
    mkdir -p "$inv"
    # addDefaultProviders: without a core provider the default ones are added, at their newest release.
    if [ ! -f "$inv/cluster-api" ]; then
        core="\${core:-cluster-api}"
        bootstrap="\${bootstrap:-kubeadm}"
        controlplane="\${controlplane:-kubeadm}"
    fi
    # name[:version] -> inventory name and version (the default: the newest release for the core and
    # kubeadm providers, the release in clusterctl.yaml's URL for tinkerbell).
    url_version="$(sed -n 's#.*/releases/\\(v[0-9][0-9.]*\\)/.*#\\1#p' "$config" | head -n 1)"
    queue=()
    for spec in "\${core:+cluster-api=$core}" "\${bootstrap:+bootstrap-=$bootstrap}" \\
        "\${controlplane:+control-plane-=$controlplane}" "\${infra:+infrastructure-=$infra}"; do
        [ -n "$spec" ] || continue
        prefix="\${spec%%=*}"
        provider="\${spec#*=}"
        name="\${provider%%:*}"
        version=""
        if [ "$provider" != "$name" ]; then version="\${provider#*:}"; fi
        if [ "$prefix" = cluster-api ]; then p="$name"; else p="$prefix$name"; fi
        if [ -z "$version" ]; then
            if [ "$prefix" = infrastructure- ]; then version="$url_version"; else version="\${FAKE_CLUSTERCTL_LATEST:-v1.13.2}"; fi
        fi
        queue+=("$p=$version")
    done
    # addToInstaller skips a provider at the same version; Validate refuses another version, before
    # anything is installed.
    install=()
    for item in "\${queue[@]}"; do
        p="\${item%%=*}"
        version="\${item#*=}"
        if [ -f "$inv/$p" ]; then
            if [ "$(cat "$inv/$p")" = "$version" ]; then continue; fi
            echo "Error: installing provider \\"$p\\" can lead to a non functioning management cluster: there is already an instance of the \\"$p\\" provider installed in the \\"$p-system\\" namespace" >&2
            exit 1
        fi
        install+=("$item")
    done
    # EnsureInstalled: a cluster with Cluster API has cert-manager.
    if [ ! -f "$dir/cert-manager" ] && [ ! -f "$inv/cluster-api" ]; then
        echo "Installing cert-manager version=\\"v1.19.1\\"" >&2
        touch "$dir/cert-manager"
    else
        echo "Skipping installing cert-manager as it is already installed" >&2
    fi
    for item in "\${install[@]}"; do
        p="\${item%%=*}"
        version="\${item#*=}"
        echo "Installing provider=\\"$p\\" version=\\"$version\\"" >&2
        echo "$p" >>"$dir/installs"
        echo "$version" >"$inv/$p"
    done
    # A run killed with SIGKILL once the providers are installed, before clusterctl returned.
    if [ -n "\${FAKE_CLUSTERCTL_KILLED_AFTER_INSTALL:-}" ]; then kill -KILL "$PPID"; exit 137; fi ;;
get)
    [ "\${1:-}" = kubeconfig ] || { echo "fake clusterctl: unsupported: get $*" >&2; exit 64; }
    name="$2"
    shift 2
    ns=""; kubeconfig=""
    while [ $# -gt 0 ]; do
        case "$1" in
        -n|--namespace) ns="$2"; shift 2 ;;
        --kubeconfig) kubeconfig="$2"; shift 2 ;;
        *) echo "fake clusterctl: unexpected argument $1" >&2; exit 64 ;;
        esac
    done
    {
        printf 'kubeconfig=%s\\n' "$kubeconfig"
        printf 'kubeconfig-sha256=%s\\n' "$(sha256sum <"$kubeconfig" | cut -d' ' -f1)"
        record_env
    } >"$state/clusterctl-get.last"
    n=$(( $(cat "$state/get-count" 2>/dev/null || echo 0) + 1 ))
    echo "$n" >"$state/get-count"
    if [ "$n" -lt "\${FAKE_KUBECONFIG_READY_AFTER:-1}" ] || [ ! -f "$state/workload.kubeconfig" ]; then
        echo "Error: failed to get kubeconfig for cluster $ns/$name: secret \\"$name-kubeconfig\\" not found" >&2
        exit 1
    fi
    cat "$state/workload.kubeconfig" ;;
move)
    config=""; from=""; to=""; ns=""
    while [ $# -gt 0 ]; do
        case "$1" in
        --config) config="$2"; shift 2 ;;
        --kubeconfig) from="$2"; shift 2 ;;
        --to-kubeconfig) to="$2"; shift 2 ;;
        -n|--namespace) ns="$2"; shift 2 ;;
        *) echo "fake clusterctl: unexpected argument $1" >&2; exit 64 ;;
        esac
    done
    src="$(cluster_dir "$from")"
    dst="$(cluster_dir "$to")"
    unreachable "$src"
    unreachable "$dst"
    {
        printf 'config=%s\\n' "$config"
        printf 'from=%s\\nfrom-mode=%s\\n' "$from" "$(stat -c %a "$from")"
        printf 'to=%s\\nto-mode=%s\\n' "$to" "$(stat -c %a "$to")"
        record_env
    } >"$state/clusterctl-move.last"
    if [ ! -f "$dst/inventory/infrastructure-tinkerbell" ]; then
        echo "Error: failed to get provider inventory: no infrastructure-tinkerbell provider in the target cluster" >&2
        exit 1
    fi
    mkdir -p "$dst/objects/$ns"
    moved=0
    for f in "$src/objects/$ns"/*; do
        [ -e "$f" ] || continue
        mv "$f" "$dst/objects/$ns/"
        moved=$((moved + 1))
    done
    echo "Moving Cluster API objects objects=$moved" >&2
    printf '%s -> %s %s\\n' "\${src##*/}" "\${dst##*/}" "$moved" >>"$state/moves" ;;
delete)
    kubeconfig=""; all=""; crd=""; nsflag=""; targets=""
    while [ $# -gt 0 ]; do
        case "$1" in
        --kubeconfig) kubeconfig="$2"; shift 2 ;;
        --all) all=yes; shift ;;
        --include-crd) crd=yes; shift ;;
        --include-namespace) nsflag=yes; shift ;;
        --core) targets="$targets $2"; shift 2 ;;
        -b|--bootstrap) targets="$targets bootstrap-$2"; shift 2 ;;
        -c|--control-plane) targets="$targets control-plane-$2"; shift 2 ;;
        -i|--infrastructure) targets="$targets infrastructure-$2"; shift 2 ;;
        *) echo "fake clusterctl: unexpected argument $1" >&2; exit 64 ;;
        esac
    done
    dir="$(cluster_dir "$kubeconfig")"
    unreachable "$dir"
    inv="$dir/inventory"
    {
        printf 'kubeconfig-mode=%s\\n' "$(stat -c %a "$kubeconfig")"
        printf 'all=%s\\ninclude-crd=%s\\ninclude-namespace=%s\\ntargets=%s\\n' "$all" "$crd" "$nsflag" "\${targets# }"
    } >"$state/clusterctl-delete.last"
    if [ -n "$all" ]; then
        targets="$(ls "$inv" 2>/dev/null | tr '\\n' ' ')"
    fi
    for p in $targets; do
        if [ ! -f "$inv/$p" ]; then
            echo "Error: failed to identify the provider $p to delete" >&2
            exit 1
        fi
    done
    for p in $targets; do
        echo "Deleting Provider=\\"$p\\"" >&2
        rm -f "$inv/$p"
        echo "$p" >>"$dir/deletes"
    done ;;
*) echo "fake clusterctl: unsupported command: $cmd" >&2; exit 64 ;;
esac
`;

/**
 * \`kubectl --kubeconfig F --request-timeout=Ns get --raw=/readyz\` against the workload API server: it
 * answers "ok" from the FAKE_API_READY_AFTER-th request on (default 1, "never" for never) and records
 * the kubeconfig file it was given.
 */
const FAKE_KUBECTL = `${PREAMBLE}${CLUSTER_DIR}
kubeconfig=""; timeout=""; raw=""; verb=""; resource=""; name=""; ns=""; all=""; output=""; ignore=""; selector=""
while [ $# -gt 0 ]; do
    case "$1" in
    --kubeconfig) kubeconfig="$2"; shift 2 ;;
    -l) selector="$2"; shift 2 ;;
    --request-timeout=*) timeout="\${1#*=}"; shift ;;
    --raw=*) raw="\${1#*=}"; shift ;;
    get) verb=get; shift ;;
    -n|--namespace) ns="$2"; shift 2 ;;
    -A|--all-namespaces) all=yes; shift ;;
    -o) output="$2"; shift 2 ;;
    --ignore-not-found) ignore=yes; shift ;;
    -*) echo "fake kubectl: unexpected argument $1" >&2; exit 64 ;;
    *)
        if [ -z "$resource" ]; then resource="$1"; elif [ -z "$name" ]; then name="$1"; else
            echo "fake kubectl: unexpected argument $1" >&2; exit 64
        fi
        shift ;;
    esac
done
# Reads of the fake clusters' state: clusterctl's provider inventory and Cluster API Clusters.
if [ -z "$raw" ]; then
    [ "$verb" = get ] || { echo "fake kubectl: unsupported request: $verb" >&2; exit 64; }
    dir="$(cluster_dir "$kubeconfig")"
    printf '%s %s\\n' "$resource" "$(stat -c %a "$kubeconfig")" >>"$state/kubectl-get.modes"
    unreachable "$dir"
    no_type() { echo "error: the server doesn't have a resource type \\"\${resource%%.*}\\"" >&2; exit 1; }
    case "$resource" in
    providers.clusterctl.cluster.x-k8s.io)
        [ "$all" = yes ] && [ "\${output%%=*}" = jsonpath ] || { echo "fake kubectl: unsupported: $argv" >&2; exit 64; }
        [ -d "$dir/inventory" ] || no_type
        for f in "$dir/inventory"/*; do
            [ -e "$f" ] || continue
            p="\${f##*/}"
            case "$p" in
            bootstrap-*) printf 'BootstrapProvider %s %s\\n' "\${p#bootstrap-}" "$(cat "$f")" ;;
            control-plane-*) printf 'ControlPlaneProvider %s %s\\n' "\${p#control-plane-}" "$(cat "$f")" ;;
            infrastructure-*) printf 'InfrastructureProvider %s %s\\n' "\${p#infrastructure-}" "$(cat "$f")" ;;
            *) printf 'CoreProvider %s %s\\n' "$p" "$(cat "$f")" ;;
            esac
        done ;;
    clusters.cluster.x-k8s.io)
        [ -n "$name" ] && [ -n "$ns" ] && [ "$output" = name ] || { echo "fake kubectl: unsupported: $argv" >&2; exit 64; }
        [ -d "$dir/inventory" ] || no_type
        if [ -f "$dir/objects/$ns/cluster.$name" ]; then
            echo "cluster.cluster.x-k8s.io/$name"
        elif [ -z "$ignore" ]; then
            echo "Error from server (NotFound): clusters.cluster.x-k8s.io \\"$name\\" not found" >&2
            exit 1
        fi ;;
    validatingwebhookconfigurations,mutatingwebhookconfigurations)
        # The webhook services (namespace/name, one a line) of the file "webhook-services", if any.
        [ "$selector" = clusterctl.cluster.x-k8s.io ] && [ "\${output%%=*}" = jsonpath ] ||
            { echo "fake kubectl: unsupported: $argv" >&2; exit 64; }
        cat "$dir/webhook-services" 2>/dev/null || true ;;
    endpointslices)
        # Ready from the FAKE_WEBHOOKS_READY_AFTER-th request on (default 1), counted per service.
        [ -n "$ns" ] && [ "\${output%%=*}" = jsonpath ] || { echo "fake kubectl: unsupported: $argv" >&2; exit 64; }
        count="$state/endpointslices-count.\${selector##*=}"
        n=$(( $(cat "$count" 2>/dev/null || echo 0) + 1 ))
        echo "$n" >"$count"
        if [ "$n" -ge "\${FAKE_WEBHOOKS_READY_AFTER:-1}" ]; then echo true; else echo false; fi ;;
    *) echo "fake kubectl: unsupported resource $resource" >&2; exit 64 ;;
    esac
    exit 0
fi
[ "$verb $raw" = "get /readyz" ] || { echo "fake kubectl: unsupported request: $verb $raw" >&2; exit 64; }
{
    printf 'kubeconfig=%s\\n' "$kubeconfig"
    printf 'kubeconfig-sha256=%s\\n' "$(sha256sum <"$kubeconfig" | cut -d' ' -f1)"
    printf 'kubeconfig-mode=%s\\n' "$(stat -c %a "$kubeconfig")"
    printf 'request-timeout=%s\\n' "$timeout"
} >"$state/kubectl-readyz.last"
n=$(( $(cat "$state/readyz-count" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$state/readyz-count"
after="\${FAKE_API_READY_AFTER:-1}"
if [ "$after" = never ] || [ "$n" -lt "$after" ]; then
    echo "Unable to connect to the server: dial tcp 10.71.0.19:6443: connect: no route to host" >&2
    exit 1
fi
echo ok
`;

/**
 * \`docker container inspect\` and \`docker exec\` against containers listed in $state/containers; exec runs
 * the command on this machine (the tests point VBMC_CONFIG_DIR into a temp "container root"), except
 * \`vbmc\`, which is simulated after openstack/virtualbmc's manager.py: start snapshots the config into
 * $state/vbmc-running/<domain> (the running BMC's settings) and is a no-op while that exists; stop and
 * delete end it; changing "active" rewrites the file and fails when it holds a % (configparser).
 */
const FAKE_DOCKER = `${PREAMBLE}
cdir="$state/containers"
mkdir -p "$cdir"
no_such() { echo "Error response from daemon: No such container: $1" >&2; exit 1; }
countdown() {
    local f="$1"
    if [ -f "$f" ] && [ "$(cat "$f")" -gt 0 ]; then
        echo $(( $(cat "$f") - 1 )) >"$f"
        return 0
    fi
    return 1
}
fake_vbmc() {
    local dir="\${FAKE_VBMC_DIR:?}" run="$state/vbmc-running"
    mkdir -p "$run"
    local cmd="$1"
    shift
    if countdown "$state/vbmcd-not-ready"; then
        echo "(1): Failed to connect to the vbmcd server on port 50891, error: Server response timed out" >&2
        return 1
    fi
    # vbmcd flips "active" by rewriting the file with configparser, whose set() refuses a lone %.
    set_active() {
        local file="$dir/$1/config"
        grep -qx "active = $2" "$file" && return 0
        if grep -q '%' "$file"; then
            echo "(1): Failed to change domain $1: invalid interpolation syntax" >&2
            return 1
        fi
        sed -i "s/^active = .*/active = $2/" "$file"
    }
    local d="\${1:-}"
    case "$cmd" in
    start)
        if [ ! -f "$dir/$d/config" ]; then echo "(1): No domain with matching name $d was found" >&2; return 1; fi
        [ -f "$run/$d" ] && return 0
        set_active "$d" True || return 1
        cp "$dir/$d/config" "$run/$d" ;;
    stop)
        if [ ! -f "$dir/$d/config" ]; then echo "(1): No domain with matching name $d was found" >&2; return 1; fi
        set_active "$d" False || return 1
        rm -f "$run/$d" ;;
    delete)
        if [ ! -d "$dir/$d" ]; then echo "(1): Command failed: No domain with matching name $d was found" >&2; return 1; fi
        # Upstream ignores a failed stop here and removes the directory anyway, leaving the BMC running.
        if [ ! -f "$dir/$d/config" ] || set_active "$d" False 2>/dev/null; then rm -f "$run/$d"; fi
        rm -rf "\${dir:?}/$d" ;;
    *) echo "fake vbmc: unsupported command $cmd" >&2; return 64 ;;
    esac
}
case "\${1:-}" in
container)
    [ "\${2:-}" = inspect ] && [ "\${3:-}" = -f ] || { echo "fake docker: unsupported: $*" >&2; exit 64; }
    name="\${5:?}"
    [ -f "$cdir/$name" ] || no_such "$name"
    cat "$cdir/$name" ;;
exec)
    shift
    interactive=""
    while [[ "\${1:-}" == -* ]]; do
        case "$1" in
        -i) interactive=yes ;;
        *) echo "fake docker: unsupported exec flag $1" >&2; exit 64 ;;
        esac
        shift
    done
    name="$1"
    shift
    [ -f "$cdir/$name" ] || no_such "$name"
    [ "$(cat "$cdir/$name")" = true ] || { echo "Error response from daemon: container $name is not running" >&2; exit 1; }
    if countdown "$state/exec-not-ready.$name"; then
        echo "Error response from daemon: container $name is restarting, wait until the container is running" >&2
        exit 1
    fi
    # Like docker: without -i the command gets no stdin.
    if [ -z "$interactive" ]; then exec </dev/null; fi
    if [ "$1" = vbmc ]; then
        shift
        fake_vbmc "$@"
    else
        "$@"
    fi ;;
*) echo "fake docker: unsupported command: $*" >&2; exit 64 ;;
esac
`;

export interface RunResult {
    status: number | null;
    stdout: string;
    stderr: string;
}

export class Sandbox {
    readonly root: string;
    readonly bin: string;
    readonly state: string;
    /** TMPDIR of every run: the scripts' private temp files must be gone from it afterwards. */
    readonly tmp: string;

    constructor() {
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), "capt-scripts-"));
        this.bin = path.join(this.root, "bin");
        this.state = path.join(this.root, "state");
        this.tmp = path.join(this.root, "tmp");
        for (const dir of [this.bin, this.state, this.tmp, path.join(this.root, "home")]) {
            fs.mkdirSync(dir, { recursive: true });
        }
        const fakes: Record<string, string> = {
            kind: FAKE_KIND,
            clusterctl: FAKE_CLUSTERCTL,
            docker: FAKE_DOCKER,
            kubectl: FAKE_KUBECTL,
        };
        for (const [name, text] of Object.entries(fakes)) {
            fs.writeFileSync(path.join(this.bin, name), text, { mode: 0o755 });
        }
    }

    /**
     * Runs a script like `local.Command` with the args `scriptCommandArgs` gives: the interpreter and the
     * script's relative path, from the project directory (jest's working directory, as Pulumi's).
     */
    run(name: CommandScriptName, env: Record<string, string>, stdin = "", prefix: string[] = []): RunResult {
        const argv = [...prefix, ...COMMAND_SCRIPT_INTERPRETER, commandScriptRunPath(name)];
        const result = spawnSync(argv[0], argv.slice(1), {
            cwd: process.cwd(),
            env: {
                PATH: `${this.bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
                HOME: path.join(this.root, "home"),
                TMPDIR: this.tmp,
                FAKE_STATE: this.state,
                ...env,
            },
            input: stdin,
            encoding: "utf8",
            timeout: 20_000,
        });
        // EPIPE only means the script finished without reading all of stdin.
        if (result.error && (result.error as NodeJS.ErrnoException).code !== "EPIPE") {
            throw result.error;
        }
        return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    }

    stateFile(name: string): string {
        return path.join(this.state, name);
    }

    readState(name: string): string | undefined {
        const file = this.stateFile(name);
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    }

    /** A `key=value` record a fake tool wrote (its last call's inputs), as an object; {} when absent. */
    readRecord(name: string): Record<string, string> {
        return Object.fromEntries(
            lines(this.readState(name))
                .filter((line) => line.includes("="))
                .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
        );
    }

    /** The entries of a state directory (a fake cluster's inventory or objects), sorted; [] when absent. */
    listState(dir: string): string[] {
        const full = this.stateFile(dir);
        return fs.existsSync(full) ? fs.readdirSync(full).sort() : [];
    }

    writeState(name: string, content: string): void {
        fs.mkdirSync(path.dirname(this.stateFile(name)), { recursive: true });
        fs.writeFileSync(this.stateFile(name), content);
    }

    /** Every fake invocation's argv, one line each (`<tool> <args...>`). */
    argvLines(): string[] {
        return lines(this.readState("argv.log"));
    }

    /** Invocations of one tool whose argv starts with the given words. */
    calls(tool: string, ...words: string[]): string[] {
        const prefix = [tool, ...words].join(" ");
        return this.argvLines().filter((line) => line === prefix || line.startsWith(`${prefix} `));
    }

    /** Per invocation: the tool and the secret-carrying variables it inherited. */
    envLines(): string[] {
        return lines(this.readState("env.log"));
    }

    tmpEntries(): string[] {
        return fs.readdirSync(this.tmp);
    }

    cleanup(): void {
        fs.rmSync(this.root, { recursive: true, force: true });
    }
}

function lines(text: string | undefined): string[] {
    return (text ?? "").split("\n").filter((line) => line !== "");
}

/** A clusterctl.yaml as the lab renders it: CAPT from its release at captVersion, the manager image pinned. */
export function clusterctlConfig(captVersion = "v0.7.0"): string {
    return [
        "providers:",
        "  - name: tinkerbell",
        `    url: https://github.com/tinkerbell/cluster-api-provider-tinkerbell/releases/${captVersion}/infrastructure-components.yaml`,
        "    type: InfrastructureProvider",
        "images:",
        "  infrastructure-tinkerbell:",
        `    tag: ${captVersion}`,
        "",
    ].join("\n");
}

/** Asserts a script that installs providers refuses to run, and runs no clusterctl, without either version. */
export function expectVersionsRequired(sandbox: Sandbox, script: CommandScriptName, env: Record<string, string>): void {
    for (const variable of ["CAPI_VERSION", "CAPT_VERSION"]) {
        const { [variable]: _dropped, ...without } = env;
        const result = sandbox.run(script, without);
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain(`${variable} is required`);
    }
    expect(sandbox.calls("clusterctl")).toEqual([]);
}

/** Asserts a secret is nowhere in the fakes' argv log or in a run's stderr, and no fake inherited it. */
export function expectSecretKept(sandbox: Sandbox, secret: string, results: RunResult[]): void {
    for (const line of sandbox.argvLines()) {
        expect(line).not.toContain(secret);
    }
    for (const result of results) {
        expect(result.stderr).not.toContain(secret);
    }
    for (const line of sandbox.envLines()) {
        expect(line.split(" ").slice(1)).toEqual([]);
    }
}

export function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}
