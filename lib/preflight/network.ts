/**
 * Preflight: the lab network's subnet and the KinD node's DNS. Pure.
 */
import { Address4 } from "ip-address";
import { LabModes, LabPlan } from "../plan";
import { Finding, HostFacts, succeeded } from "./facts";

// Networks

function ipv4Cidr(text: string): Address4 | undefined {
    const cidr = text.includes("/") ? text : `${text}/32`;
    return Address4.isValid(cidr) && !text.includes(":") ? new Address4(cidr) : undefined;
}

function overlaps(a: Address4, b: Address4): boolean {
    return a.isInSubnet(b) || b.isInSubnet(a);
}

export function checkSubnetAgainstDockerNetworks(plan: LabPlan, subnet: Address4, facts: HostFacts): Finding[] {
    if (!succeeded(facts.dockerNetworks)) {
        return [];
    }
    const findings: Finding[] = [];
    for (const network of facts.dockerNetworks.value) {
        if (network.name === plan.network.name) {
            continue; // the stack's own network from an earlier `up`
        }
        for (const other of network.subnets) {
            const cidr = ipv4Cidr(other);
            if (cidr && overlaps(subnet, cidr)) {
                findings.push({
                    check: "subnet",
                    status: "error",
                    message: `networkSubnet ${plan.network.subnet} overlaps docker network ${network.name} (${other}); docker refuses overlapping networks`,
                    fix: `choose another networkSubnet (pulumi config set networkSubnet 10.72.0.0/16) or remove the network: docker network rm ${network.name}`,
                });
            }
        }
    }
    return findings;
}

/**
 * A route at least as specific as the lab subnet takes part of it away from the lab bridge:
 * error. A wider route (a VPN's 10.0.0.0/8, say) loses only the lab's range to the more specific
 * lab route: warning. Routes of docker networks are judged by the docker check instead.
 */
export function checkSubnetAgainstRoutes(plan: LabPlan, subnet: Address4, facts: HostFacts): Finding[] {
    if (!succeeded(facts.routes)) {
        return [];
    }
    const dockerSubnets = new Set(
        succeeded(facts.dockerNetworks) ? facts.dockerNetworks.value.flatMap((n) => n.subnets) : [],
    );
    const findings: Finding[] = [];
    for (const route of facts.routes.value) {
        if (route.dst === "default" || route.dev === plan.network.bridge || dockerSubnets.has(route.dst)) {
            continue;
        }
        const cidr = ipv4Cidr(route.dst);
        if (!cidr || !overlaps(subnet, cidr)) {
            continue;
        }
        const via = route.dev ? ` via ${route.dev}` : "";
        const fix = "choose a networkSubnet no host route touches (pulumi config set networkSubnet 10.72.0.0/16)";
        findings.push(
            cidr.subnetMask >= subnet.subnetMask
                ? {
                      check: "subnet",
                      status: "error",
                      message: `networkSubnet ${plan.network.subnet} overlaps host route ${route.dst}${via}: part of the lab would be unreachable`,
                      fix,
                  }
                : {
                      check: "subnet",
                      status: "warning",
                      message: `networkSubnet ${plan.network.subnet} lies inside host route ${route.dst}${via}: those addresses there become unreachable while the lab exists`,
                      fix,
                  },
        );
    }
    return findings;
}

/**
 * With real machines networkSubnet is their network, which this host may well have a route to, so
 * only docker networks are compared then.
 */
export function checkSubnet(plan: LabPlan, modes: LabModes, facts: HostFacts): Finding[] {
    const subnet = new Address4(plan.network.subnet);
    const compareRoutes = modes.machines === "vms";
    const findings = [
        ...checkSubnetAgainstDockerNetworks(plan, subnet, facts),
        ...(compareRoutes ? checkSubnetAgainstRoutes(plan, subnet, facts) : []),
    ];
    if (findings.length > 0) {
        return findings;
    }
    const unchecked = [
        succeeded(facts.dockerNetworks) ? undefined : "docker networks",
        !compareRoutes || succeeded(facts.routes) ? undefined : "host routes",
    ].filter((x) => x !== undefined);
    return [
        {
            check: "subnet",
            status: "ok",
            message: `networkSubnet ${plan.network.subnet} overlaps no docker network${compareRoutes ? " or host route" : ""}${
                unchecked.length > 0 ? ` (${unchecked.join(" and ")} could not be read)` : ""
            }${compareRoutes ? "" : "; host routes not compared: with machines listed it is their network"}`,
        },
    ];
}

/**
 * kind#1594 (capt-playground.md §8): with a local stub resolver (systemd-resolved's 127.0.0.53)
 * in /etc/resolv.conf and no `dns` in daemon.json, KinD nodes can fail to resolve names, which
 * breaks the node's image pulls (the chart's, Cluster API's).
 */
export function checkDockerDns(facts: HostFacts): Finding {
    const check = "docker-dns";
    const servers = facts.resolvConfNameservers;
    const daemon = facts.dockerDaemonConfig;
    if (!succeeded(servers) || !succeeded(daemon)) {
        return { check, status: "ok", message: "not checked: /etc/resolv.conf or /etc/docker/daemon.json unreadable" };
    }
    if ((daemon.value.dns ?? []).length > 0) {
        return { check, status: "ok", message: `docker hands containers DNS ${daemon.value.dns!.join(", ")}` };
    }
    const onlyLoopback = servers.value.length > 0 && servers.value.every((s) => s.startsWith("127."));
    if (!onlyLoopback) {
        return { check, status: "ok", message: "the host's DNS servers are reachable from containers" };
    }
    return {
        check,
        status: "warning",
        message: `/etc/resolv.conf uses a local stub resolver (${servers.value.join(", ")}) and docker has no "dns" setting: KinD nodes may fail to resolve names (kind#1594), breaking the node's image pulls`,
        fix: 'add "dns": ["1.1.1.1"] (or your network\'s DNS server) to /etc/docker/daemon.json, then sudo systemctl restart docker',
    };
}
