/**
 * The lab modes the end-to-end rig can run (issue 11), with the product's own code against REAL
 * daemons, the way tests/e2e/daemons.test.ts does it (see there for how each provider's job is done
 * by hand from the program's inputs):
 *
 * A. Real machines (`machines`): libvirt domains with the product's virtual BMC container in front of
 *    them stand in for real machines and their BMCs. A LabConfig lists them (MACs read from libvirt,
 *    BMC endpoints of the container: IPMI ports, Redfish on 443 with the System's name), the product plans
 *    and renders the inventory (Secret, Rufio Machines, Hardware), a real kube-apiserver with the
 *    upstream CRDs stores it, and the BMCs are then driven using ONLY what the stored objects say.
 * B. Existing management cluster (`managementKubeconfig`, and `externalTinkerbell` with
 *    `tinkerbellKubeconfig`): the product's preflight (gatherHostFacts + evaluatePreflight, what
 *    runPreflight does) against real API servers: versions, Tinkerbell's resources, and failures
 *    that name the key and never show the credential.
 * C. Pivot (`pivot: true`) stopped before `clusterctl move`: pivot-move.sh between two real API
 *    servers, with clusterctl's `move` refused by a wrapper (the stand-in clusterctl cannot move);
 *    then the script's own decisions on re-runs (where the Cluster is) against both servers.
 *
 * Not here, and why: clusterctl-init.sh with MANAGEMENT_CLUSTER=existing reads clusterctl's inventory
 * from Provider objects (providers.clusterctl.cluster.x-k8s.io); the stand-in clusterctl writes a
 * ConfigMap instead and ../shared/schemas has no Provider CRD, so its adoption and `installed=`
 * bookkeeping cannot be exercised meaningfully. For the same reason C does not assert pivot-move's
 * `installed=` line, and `clusterctl move` itself is not run.
 *
 * Prerequisites: as daemons.test.ts (docker, libvirtd, kube-apiserver toolchain, the virtual BMC
 * image, ipmitool/openssl, the upstream CRDs). Everything host-wide is named after a unique stack
 * (`mdr<hex>`) or lives in a temporary directory; afterAll removes it even when a step failed.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PivotArgs, pivotCommandArgs } from "../../components/pivot";
import { LabConfig, RawConfig } from "../../lib/config";
import { gatherHostFacts, runPreflight } from "../../lib/host-facts";
import { LabPlan } from "../../lib/plan";
import { Finding, HostFacts, MIN_CHART_KUBERNETES_VERSION, evaluatePreflight } from "../../lib/preflight";
import { BMC_SECRET_NAME, CLUSTERCTL_MOVE_LABELS } from "../../lib/render/bmc";
import { inventoryObjects, labObjects } from "../../lib/render/manifests";
import {
    CAPT_CRDS,
    CLUSTER_API_CRDS,
    Cluster,
    DaemonSession,
    KUBE_VERSION,
    LabStack,
    STAND_INS,
    TINKERBELL_CRDS,
    crdFiles,
    daemonChecks,
    labStack,
    pollUntil,
    randomPassword,
    vbmcImageTag,
} from "./lab-fixture";
import {
    RunResult,
    describeE2e,
    domainState,
    httpsRequest,
    resolveInput,
    uniqueToken,
    virshOk,
    waitFor,
} from "./support";

const session = new DaemonSession("modes");
const { kubectl, kubectlOk, runScript, timedAsync, applyObjects, installCrds, ensureNamespace } = session;

// ---------------------------------------------------------------------------------------------
// what the stored Rufio objects say

interface StoredBmcMachine {
    metadata: { name: string };
    spec: {
        connection: {
            host: string;
            port: number;
            insecureTLS?: boolean;
            authSecretRef: { name: string; namespace: string };
            providerOptions?: {
                preferredOrder?: string[];
                ipmitool?: { port?: number };
                redfish?: { port?: number; systemName?: string; useBasicAuth?: boolean };
            };
        };
    };
}

/** ipmitool as bmclib's ipmitool provider calls it: lanplus, host, port, user; the password via -E. */
function ipmiFromObject(machine: StoredBmcMachine, user: string, password: string, args: string[]) {
    const c = machine.spec.connection;
    return session.ipmitool(c.host, c.providerOptions?.ipmitool?.port, user, password, args);
}

/**
 * The Redfish System a stored Rufio Machine means, found as bmclib's redfish provider finds it
 * (bmc-toolbox/bmclib internal/redfishwrapper/system.go, matchingSystem): the Systems collection at
 * host:redfish.port, the member whose `Name` equals providerOptions.redfish.systemName. bmclib falls
 * back to every system when none matches, so exactly one must.
 */
async function redfishSystemOf(
    machine: StoredBmcMachine,
    tls: { insecure: boolean; auth: string },
): Promise<{ url: string; body: { Name: string; UUID: string; PowerState: string } }> {
    const c = machine.spec.connection;
    const redfish = c.providerOptions?.redfish ?? {};
    const base = `https://${c.host}:${redfish.port}`;
    const collection = (await pollUntil(
        () => httpsRequest("GET", `${base}/redfish/v1/Systems`, tls), // a throw: sushy not listening yet
        (answer) => answer.status === 200,
    )) ?? { status: 0, body: "" };
    expect({ base, status: collection.status }).toEqual({ base, status: 200 });
    const members = (JSON.parse(collection.body) as { Members: { "@odata.id": string }[] }).Members;
    // sushy serves every domain of the host's libvirtd; another suite's domain may vanish between the
    // list and the GET (404): only the ones that answer count.
    const systems: { url: string; body: { Name: string; UUID: string; PowerState: string } }[] = [];
    for (const member of members) {
        const url = `${base}${member["@odata.id"]}`;
        const answer = await httpsRequest("GET", url, tls);
        expect([200, 404]).toContain(answer.status);
        if (answer.status === 200) {
            systems.push({ url, body: JSON.parse(answer.body) });
        }
    }
    const matching = systems.filter((system) => system.body.Name === redfish.systemName);
    expect({ systemName: redfish.systemName, matching: matching.length }).toEqual({
        systemName: redfish.systemName,
        matching: 1,
    });
    return matching[0];
}

// ---------------------------------------------------------------------------------------------

describeE2e(
    "lab modes against real daemons: real machines (virtual BMC standing in), existing management cluster, pivot up to the move",
    daemonChecks(["ipmitool", "openssl"]),
    () => {
        const token = uniqueToken();
        const password = randomPassword();
        const originalPath = process.env.PATH;
        /** The rig: VMs of a default-mode stack, behind the product's virtual BMC container. */
        let rig: LabStack;
        let management: Cluster;
        let second: Cluster;
        /** The real-machines list the labs under test use: the rig's domains and BMC endpoints. */
        let machines: RawConfig[] = [];
        const redfishPort = 443;
        /** A lab of the dev stack on the rig's machines, with their BMC password; `out` names its output directory. */
        const onRig = (name: string, out: string, overrides: RawConfig) =>
            labStack(
                name,
                {
                    outputDir: path.join(session.tmp, out),
                    networkSubnet: rig.plan.network.subnet,
                    machines,
                    bmcPassword: password,
                    ...overrides,
                },
                "dev",
            );

        beforeAll(async () => {
            const vbmcImage = vbmcImageTag();
            session.start("capt-modes-");
            // The product's preflight probes run with this process's environment: kubectl from the toolchain.
            process.env.PATH = [session.kubeBin, originalPath].join(":");

            rig = labStack(
                `mdr${token}`,
                {
                    outputDir: path.join(session.tmp, "out-rig"),
                    storageDir: path.join(session.tmp, "pool"),
                    networkSubnet: session.freeSubnet(),
                    domainType: "qemu",
                },
                "dev",
            );
            const { config, plan } = rig;
            const bmcIp = plan.vbmc.ip;

            // The lab network (docker.Network as LabNetwork builds it): the domains' NICs and the BMC live there.
            const network = await session.createLabNetwork(plan);
            // Pool, tiny volumes and the domains (nothing boots from the disks; TCG guests).
            session.createPool(plan);
            session.defineDomains(config, plan);
            // The VirtualBmc component's container, uploads and registrations (as daemons.test.ts step 5).
            const { uploads } = await session.virtualBmcUploads(config, plan, password);
            const containerId = session.createBmcContainer(plan, network.name!, vbmcImage, uploads);
            await session.registerBmcs(config, plan, password, containerId);

            // Each machine as a user would list it: its NIC's MAC as libvirt has it, its BMC endpoint.
            // IPMI for the first (vbmc, its port), Redfish on 443 for the others with the System's Name as
            // systemName: sushy names each System after its domain (its Id is the domain UUID), and bmclib
            // picks the System by Name (see redfishSystemOf).
            machines = plan.machines.map((machine, i) => {
                const mac = /\s([0-9a-f]{2}(?::[0-9a-f]{2}){5})\s*$/m.exec(virshOk("domiflist", machine.name))![1];
                const bmc =
                    i === 0
                        ? { address: bmcIp, port: machine.bmcPort, protocol: "ipmi" }
                        : {
                              address: bmcIp,
                              port: redfishPort,
                              protocol: "redfish",
                              systemName: machine.name,
                          };
                return { name: machine.name, mac: mac.toUpperCase(), bmc };
            });

            management = session.startCluster(`mdm${token}`);
            second = session.startCluster(`mdw${token}`);
        });

        afterAll(async () => {
            process.env.PATH = originalPath;
            await session.cleanUp();
        });

        test("A. real machines: the rendered Secret, Rufio Machines and Hardware, read back from the API server, drive working BMCs", async () => {
            const lab = onRig(`mda${token}`, "out-a", {});
            const { config, plan } = lab;
            expect(plan.modes.machines).toBe("real");
            expect(plan.machines.map((m) => [m.name, m.role, m.bmc.protocol])).toEqual([
                [rig.plan.machines[0].name, "control-plane", "ipmi"],
                [rig.plan.machines[1].name, "worker", "redfish"],
                [rig.plan.machines[2].name, "spare", "redfish"],
            ]);
            const ns = config.namespace;
            const objects = inventoryObjects(config, plan, password);
            expect(objects.map((o) => o.kind)).toEqual([
                "Secret",
                ...plan.machines.map(() => "Machine"),
                ...plan.machines.map(() => "Hardware"),
            ]);

            ensureNamespace(management.file, ns);
            await timedAsync("crds-tinkerbell", () => installCrds(management.file, TINKERBELL_CRDS));
            const applied = applyObjects(management.file, objects);
            expect({ status: applied.status, stderr: applied.stderr }).toEqual({ status: 0, stderr: "" });
            expect(applied.stdout.trim().split("\n")).toHaveLength(objects.length);

            // Read back: from here on only what the API server stored is used.
            const get = (resource: string, name: string) =>
                JSON.parse(kubectlOk(management.file, ["get", resource, name, "-n", ns, "-o", "json"]));
            for (const [i, machine] of plan.machines.entries()) {
                const domain = rig.plan.machines[i].name;
                const nic = virshOk("domiflist", domain);
                const stored = get("hardware.tinkerbell.org", machine.name);
                const iface = stored.spec.interfaces[0];
                // The Hardware's DHCP MAC is the domain's NIC (lowercase, as the CRD wants it).
                expect(nic).toContain(iface.dhcp.mac);
                expect(iface.dhcp.mac).toBe(iface.dhcp.mac.toLowerCase());
                expect(iface.dhcp.ip.address).toBe(machine.ip);
                expect(stored.spec.bmcRef).toEqual(
                    expect.objectContaining({ kind: "Machine", name: machine.name, apiGroup: "bmc.tinkerbell.org" }),
                );
            }

            const secretOf = (rufio: StoredBmcMachine) => {
                const ref = rufio.spec.connection.authSecretRef;
                const secret = JSON.parse(
                    kubectlOk(management.file, ["get", "secret", ref.name, "-n", ref.namespace, "-o", "json"]),
                ) as { type: string; metadata: { labels?: Record<string, string> }; data: Record<string, string> };
                expect(secret.type).toBe("kubernetes.io/basic-auth");
                expect(secret.metadata.labels).toEqual(expect.objectContaining(CLUSTERCTL_MOVE_LABELS));
                const decode = (v: string) => Buffer.from(v, "base64").toString();
                return { user: decode(secret.data.username), pass: decode(secret.data.password) };
            };

            // IPMI machine: host + providerOptions.ipmitool.port, credentials from the referenced Secret.
            const ipmiMachine = get("machines.bmc.tinkerbell.org", plan.machines[0].name) as StoredBmcMachine;
            expect(ipmiMachine.spec.connection.authSecretRef.name).toBe(BMC_SECRET_NAME);
            expect(ipmiMachine.spec.connection.providerOptions?.preferredOrder).toEqual(["ipmitool"]);
            expect(ipmiMachine.spec.connection.providerOptions?.redfish).toBeUndefined();
            const ipmiDomain = rig.plan.machines[0].name;
            const creds = secretOf(ipmiMachine);
            let status = ipmiFromObject(ipmiMachine, creds.user, creds.pass, ["power", "status"]);
            const deadline = Date.now() + 30_000;
            while (status.status !== 0 && Date.now() < deadline) {
                await new Promise((resolve) => setTimeout(resolve, 500));
                status = ipmiFromObject(ipmiMachine, creds.user, creds.pass, ["power", "status"]);
            }
            expect(status.stdout.trim()).toBe("Chassis Power is off");
            expect(domainState(ipmiDomain)).toBe("shut off");
            await timedAsync("ipmi on/off", async () => {
                expect(ipmiFromObject(ipmiMachine, creds.user, creds.pass, ["power", "on"]).status).toBe(0);
                await waitFor(`${ipmiDomain} running`, () => domainState(ipmiDomain) === "running", 30);
                expect(ipmiFromObject(ipmiMachine, creds.user, creds.pass, ["power", "status"]).stdout).toContain(
                    "Chassis Power is on",
                );
                expect(ipmiFromObject(ipmiMachine, creds.user, creds.pass, ["power", "off"]).status).toBe(0);
                await waitFor(`${ipmiDomain} shut off`, () => domainState(ipmiDomain) === "shut off", 30);
            });
            // The stored credentials are what opens it: one wrong character does not.
            expect(ipmiFromObject(ipmiMachine, creds.user, `${creds.pass}x`, ["power", "status"]).status).not.toBe(0);

            // Redfish machines: the System named systemName at https://host:redfish.port, basic auth,
            // the certificate unchecked because the object says insecureTLS.
            for (const [i, machine] of plan.machines.entries()) {
                if (i === 0) continue;
                const domain = rig.plan.machines[i].name;
                const rufio = get("machines.bmc.tinkerbell.org", machine.name) as StoredBmcMachine;
                const c = rufio.spec.connection;
                expect(c.insecureTLS).toBe(true);
                expect(c.providerOptions?.preferredOrder).toEqual(["gofish"]);
                expect(c.providerOptions?.redfish?.useBasicAuth).toBe(true);
                expect(c.providerOptions?.ipmitool).toBeUndefined();
                const { user, pass } = secretOf(rufio);
                const tls = { insecure: c.insecureTLS === true, auth: `${user}:${pass}` };
                const system = await redfishSystemOf(rufio, tls);
                const url = system.url;
                expect(system.body).toEqual(expect.objectContaining({ Name: domain, PowerState: "Off" }));
                expect(system.body.UUID).toBe(virshOk("domuuid", domain).trim());
                // sushy also answers for /Systems/<name>, but only with a redirect to the UUID's URL.
                const byName = await httpsRequest("GET", url.replace(system.body.UUID, domain), tls);
                expect(byName.status).toBe(307);
                expect((await httpsRequest("GET", url, { ...tls, auth: `${user}:${pass}x` })).status).toBe(401);
                await timedAsync(`redfish on/restart/off ${i}`, async () => {
                    for (const [resetType, state] of [
                        ["On", "running"],
                        ["ForceRestart", "running"],
                        ["ForceOff", "shut off"],
                    ]) {
                        const reset = await httpsRequest("POST", `${url}/Actions/ComputerSystem.Reset`, {
                            ...tls,
                            json: { ResetType: resetType },
                        });
                        expect({ machine: machine.name, resetType, status: reset.status }).toEqual({
                            machine: machine.name,
                            resetType,
                            status: 204,
                        });
                        await waitFor(`${domain} ${state}`, () => domainState(domain) === state, 30);
                        const power = JSON.parse((await httpsRequest("GET", url, tls)).body).PowerState;
                        expect({ resetType, power }).toEqual({ resetType, power: state === "running" ? "On" : "Off" });
                    }
                });
            }
        });

        test("B. existing management cluster: the preflight reaches the API, checks its version and Tinkerbell's resources, and fails without leaking the credential", async () => {
            const key = /client-key-data: (\S+)/.exec(management.content)![1];
            const existing = (overrides: RawConfig) =>
                onRig(`mdb${token}`, "out-b", { managementKubeconfig: management.content, ...overrides });
            const findingsOf = async (lab: { config: LabConfig; plan: LabPlan }) => {
                const facts: HostFacts = await gatherHostFacts(lab.config, lab.plan);
                return { facts, findings: evaluatePreflight(lab.config, lab.plan, facts) };
            };
            const byCheck = (findings: Finding[], check: string) => findings.filter((f) => f.check === check);

            // (1) The cluster answers: its version is the e2e kube-apiserver's, and >= the chart's minimum.
            const lab = existing({});
            expect(lab.plan.modes.management).toBe("existing");
            const { facts, findings } = await timedAsync("preflight existing", () => findingsOf(lab));
            expect(facts.managementApi).toEqual({ value: { serverVersion: KUBE_VERSION } });
            expect(byCheck(findings, "management-api")).toEqual([
                {
                    check: "management-api",
                    status: "ok",
                    message: `the API server in managementKubeconfig answers: Kubernetes ${KUBE_VERSION} (>= ${MIN_CHART_KUBERNETES_VERSION} for the Tinkerbell chart)`,
                },
            ]);
            // The mode's other checks: no docker/kind/libvirt; the BMCs of the machines (Redfish: a real TCP connect).
            const checks = findings.map((f) => f.check);
            for (const absent of ["docker", "kind", "libvirt", "kvm", "subnet"]) {
                expect(checks).not.toContain(absent);
            }
            expect(byCheck(findings, "bmc").map((f) => [f.status, f.message])).toEqual([
                ["ok", expect.stringContaining("ipmi BMC at")],
                [
                    "ok",
                    expect.stringContaining(
                        `the redfish BMC at ${rig.plan.vbmc.ip}:${redfishPort} accepts connections`,
                    ),
                ],
                [
                    "ok",
                    expect.stringContaining(
                        `the redfish BMC at ${rig.plan.vbmc.ip}:${redfishPort} accepts connections`,
                    ),
                ],
            ]);
            // runPreflight is the same two functions in one call.
            expect(byCheck(await runPreflight(lab.config, lab.plan), "management-api")).toEqual(
                byCheck(findings, "management-api"),
            );

            // (2) External Tinkerbell: the second cluster before and after the Tinkerbell CRDs.
            const external = existing({ externalTinkerbell: true, tinkerbellKubeconfig: second.content });
            const before = byCheck((await findingsOf(external)).findings, "tinkerbell-api");
            expect(before).toEqual([
                expect.objectContaining({
                    status: "error",
                    message: `the cluster in tinkerbellKubeconfig (Kubernetes ${KUBE_VERSION}) does not serve hardware.tinkerbell.org, templates.tinkerbell.org, workflows.tinkerbell.org, machines.bmc.tinkerbell.org, jobs.bmc.tinkerbell.org: Tinkerbell is not installed there`,
                }),
            ]);
            await timedAsync("crds-tinkerbell second", () => installCrds(second.file, TINKERBELL_CRDS));
            const afterFindings = (await findingsOf(external)).findings;
            expect(byCheck(afterFindings, "tinkerbell-api")).toEqual([
                expect.objectContaining({ status: "ok", message: expect.stringContaining("answers and serves") }),
            ]);
            // With the chart elsewhere, the management cluster's version is reported without the chart's minimum.
            expect(byCheck(afterFindings, "management-api")[0].message).toBe(
                `the API server in managementKubeconfig answers: Kubernetes ${KUBE_VERSION}`,
            );

            // (3) A wrong token: the server refuses it; the finding names the key, not the token.
            const wrongToken = randomBytes(24).toString("hex");
            const caData = /certificate-authority-data: (\S+)/.exec(management.content)![1];
            const server = /server: (\S+)/.exec(management.content)![1];
            const tokenKubeconfig = [
                "apiVersion: v1",
                "kind: Config",
                "clusters:",
                `  - name: c\n    cluster: {server: "${server}", certificate-authority-data: ${caData}}`,
                "users:",
                `  - name: u\n    user: {token: ${wrongToken}}`,
                "contexts:",
                "  - name: x\n    context: {cluster: c, user: u}",
                "current-context: x",
                "",
            ].join("\n");
            const refused = await findingsOf(existing({ managementKubeconfig: tokenKubeconfig }));
            const refusedApi = byCheck(refused.findings, "management-api");
            expect(refusedApi).toEqual([
                expect.objectContaining({
                    status: "error",
                    message: expect.stringMatching(
                        /^the API server in managementKubeconfig does not answer: .*(Unauthorized|provide credentials)/,
                    ),
                    fix: expect.stringContaining("pulumi config set --secret managementKubeconfig"),
                }),
            ]);
            expect(JSON.stringify(refused)).not.toContain(wrongToken);

            // (4) The server is gone (the same kubeconfig, a port nothing listens on): the key, not the client key.
            const closed = await new Promise<number>((resolve) => {
                const probe = net.createServer();
                probe.listen(0, "127.0.0.1", () => {
                    const port = (probe.address() as net.AddressInfo).port;
                    probe.close(() => resolve(port));
                });
            });
            const gone = await findingsOf(
                existing({
                    managementKubeconfig: management.content.replace(
                        /server: (\S+)/,
                        `server: https://127.0.0.1:${closed}`,
                    ),
                }),
            );
            expect(byCheck(gone.findings, "management-api")).toEqual([
                expect.objectContaining({
                    status: "error",
                    message: expect.stringMatching(
                        /^the API server in managementKubeconfig does not answer: .*refused/,
                    ),
                }),
            ]);
            expect(JSON.stringify(gone)).not.toContain(key);
            expect(JSON.stringify(facts)).not.toContain(key);
        });

        test("C. pivot: pivot-move.sh inits the workload cluster and stops at clusterctl move; re-runs decide by where the Cluster is", async () => {
            const lab = onRig(`mdc${token}`, "out-c", { managementKubeconfig: management.content, pivot: true });
            const { config, plan } = lab;
            expect(plan.modes).toEqual(expect.objectContaining({ management: "existing", pivot: true }));
            const ns = config.namespace;
            const clusterName = plan.labName;

            // The management cluster before the pivot: the inventory (step A's objects) and Cluster API's objects.
            ensureNamespace(management.file, ns);
            await installCrds(management.file, TINKERBELL_CRDS);
            await timedAsync("crds-capi management", () =>
                installCrds(management.file, [...CLUSTER_API_CRDS, ...CAPT_CRDS]),
            );
            const objects = labObjects(config, plan, {
                bmcPassword: password,
                sshAuthorizedKey: "ssh-ed25519 AAAA e2e",
            });
            for (const group of [objects.inventory, objects.clusterApi]) {
                const applied = applyObjects(management.file, group);
                expect({ status: applied.status, stderr: applied.stderr }).toEqual({ status: 0, stderr: "" });
            }
            // The workload cluster as the Pivot component leaves it before the move Command: Tinkerbell's CRDs
            // (the chart), no Cluster API yet.
            await installCrds(second.file, TINKERBELL_CRDS);
            expect(kubectl(second.file, ["get", "clusters.cluster.x-k8s.io", "-A"]).stderr).toContain(
                "doesn't have a resource type",
            );

            // clusterctl: the stand-in for everything but `move`, which is refused and recorded (what it was
            // asked to move, from where to where, read through the kubeconfig files it was given).
            const bin = path.join(session.tmp, "bin");
            const calls = path.join(session.tmp, "clusterctl-calls");
            const moveLog = path.join(session.tmp, "clusterctl-move");
            fs.mkdirSync(bin);
            fs.writeFileSync(
                path.join(bin, "clusterctl"),
                [
                    "#!/usr/bin/env bash",
                    'printf "%s\\n" "$1" >>"$CAPT_E2E_CLUSTERCTL_CALLS"',
                    'if [ "${1:-}" = move ]; then',
                    "    shift",
                    "    from='' to='' ns=''",
                    '    while [ "$#" -gt 0 ]; do',
                    '        case "$1" in',
                    '        --kubeconfig) from="$2"; shift 2 ;;',
                    '        --to-kubeconfig) to="$2"; shift 2 ;;',
                    '        -n | --namespace) ns="$2"; shift 2 ;;',
                    "        *) shift ;;",
                    "        esac",
                    "    done",
                    '    server() { kubectl --kubeconfig "$1" config view --minify -o "jsonpath={.clusters[0].cluster.server}"; }',
                    '    { echo "namespace=$ns"; echo "from=$(server "$from") $(stat -c %a "$from")"; echo "to=$(server "$to") $(stat -c %a "$to")"; } >"$CAPT_E2E_MOVE_LOG"',
                    '    echo "clusterctl move: stopped before the move (capt-playground e2e)" >&2',
                    "    exit 3",
                    "fi",
                    `exec "${STAND_INS}/clusterctl" "$@"`,
                    "",
                ].join("\n"),
                { mode: 0o755 },
            );
            const scriptTmp = path.join(session.tmp, "script-tmp");
            fs.mkdirSync(scriptTmp);
            const pivotEnv = {
                ...session.env,
                PATH: [bin, session.env.PATH].join(":"),
                TMPDIR: scriptTmp,
                CAPT_E2E_CLUSTERCTL_CALLS: calls,
                CAPT_E2E_MOVE_LOG: moveLog,
            };
            const args = await resolveInput(
                pivotCommandArgs({
                    config,
                    plan,
                    managementKubeconfig: pulumi.secret(management.content),
                    workloadKubeconfig: pulumi.secret(second.content),
                } as unknown as PivotArgs),
            );
            expect(args.environment?.CLUSTER_NAME).toBe(clusterName);
            expect(args.environment?.NAMESPACE).toBe(ns);
            const pivot = (label: string, previous = "") =>
                runScript(label, args, "create", {
                    baseEnv: pivotEnv,
                    overrides: previous ? { PULUMI_COMMAND_STDOUT: previous } : {},
                });
            const server = (content: string) => /server: (\S+)/.exec(content)![1];
            const hasCluster = (kubeconfig: string) =>
                kubectl(kubeconfig, ["get", "clusters.cluster.x-k8s.io", clusterName, "-n", ns, "-o", "name"])
                    .status === 0;
            const secretsIn = (result: RunResult) =>
                [management.content, second.content]
                    .flatMap((c) => [/client-key-data: (\S+)/.exec(c)![1]])
                    .filter((secret) => result.stderr.includes(secret) || result.stdout.includes(secret));

            // (1) Cluster in the management cluster only: init the workload cluster, then move -> stopped there.
            const first = await pivot("pivot-move (stops at move)");
            expect({ code: first.code, stderr: first.stderr }).toEqual({
                code: 3,
                stderr: expect.stringContaining(
                    "clusterctl init --infrastructure tinkerbell against the workload cluster",
                ),
            });
            expect(first.stderr).toContain(`clusterctl move -n ${ns}: management cluster -> workload cluster`);
            expect(first.stderr).toContain("stopped before the move");
            expect(first.stdout).toBe("");
            expect(fs.readFileSync(calls, "utf8").split("\n").filter(Boolean)).toEqual(["init", "move"]);
            expect(fs.readFileSync(moveLog, "utf8").split("\n").filter(Boolean)).toEqual([
                `namespace=${ns}`,
                `from=${server(management.content)} 600`,
                `to=${server(second.content)} 600`,
            ]);
            // init went to the workload cluster: Cluster API's CRDs are served there now, CAPT at captVersion.
            for (const file of crdFiles([...CLUSTER_API_CRDS, ...CAPT_CRDS])) {
                expect(session.establishedStatus(second.file, file)).toBe("True");
            }
            expect(session.installedProvider(second.file, "infrastructure-tinkerbell")).toBe(
                `capt-system ${config.captVersion}`,
            );
            // Nothing moved: the Cluster and the inventory are still (only) in the management cluster.
            expect(hasCluster(management.file)).toBe(true);
            expect(hasCluster(second.file)).toBe(false);
            expect(kubectl(second.file, ["get", "hardware.tinkerbell.org", "-n", ns, "-o", "name"]).stdout).toBe("");
            expect(secretsIn(first)).toEqual([]);
            expect(fs.readdirSync(scriptTmp)).toEqual([]); // the private work directory is gone

            // (2) Run again (up after the failure): clusterctl skips what is installed, and it stops at move again.
            fs.rmSync(calls);
            const again = await pivot("pivot-move again");
            expect(again.code).toBe(3);
            expect(again.stderr).toContain('Skipping installing "infrastructure-tinkerbell"');
            expect(fs.readFileSync(calls, "utf8").split("\n").filter(Boolean)).toEqual(["init", "move"]);

            // (3) The Cluster in both (a move that stopped half-way, made here by applying it to the workload
            // cluster too): an error, nothing run.
            const cluster = objects.clusterApi.find((o) => o.kind === "Cluster")!;
            ensureNamespace(second.file, ns);
            expect(applyObjects(second.file, [cluster]).status).toBe(0);
            fs.rmSync(calls);
            const both = await pivot("pivot-move both");
            expect(both.code).toBe(1);
            expect(both.stderr).toContain(
                `cluster ${clusterName} is in both the management and the workload cluster: a move stopped half-way.`,
            );
            expect(fs.existsSync(calls)).toBe(false);

            // (4) Only in the workload cluster (what a finished move leaves; the management copy deleted here):
            // nothing to install or move, exit 0, no clusterctl call.
            kubectlOk(management.file, ["delete", "clusters.cluster.x-k8s.io", clusterName, "-n", ns, "--wait=false"]);
            await waitFor("the Cluster gone from the management cluster", () => !hasCluster(management.file), 30);
            const moved = await pivot("pivot-move moved", "installed=cluster-api\n");
            expect(moved.code).toBe(0);
            expect(moved.stderr).toContain(
                `cluster ${clusterName} is already in the workload cluster and no longer in the management cluster; nothing to install or move`,
            );
            expect(moved.stdout).toMatch(/^installed=[a-z,-]*\n$/);
            expect(fs.existsSync(calls)).toBe(false);

            // (5) In neither: an error naming the namespace.
            kubectlOk(second.file, ["delete", "clusters.cluster.x-k8s.io", clusterName, "-n", ns, "--wait=false"]);
            await waitFor("the Cluster gone from the workload cluster", () => !hasCluster(second.file), 30);
            const neither = await pivot("pivot-move neither");
            expect(neither.code).toBe(1);
            expect(neither.stderr).toContain(
                `cluster ${clusterName} is in neither the management nor the workload cluster in namespace ${ns}; nothing to move`,
            );
            for (const result of [again, both, moved, neither]) {
                expect(secretsIn(result)).toEqual([]);
            }
            expect(fs.readdirSync(scriptTmp)).toEqual([]);
        });
    },
);
