/**
 * Preflight: the docker FORWARD trap (iptables). Pure.
 */
import { Address4 } from "ip-address";
import { LabPlan } from "../plan";
import { Finding, firstLine, HostFacts, ownNetworkExists, succeeded } from "./facts";

// The docker FORWARD trap

interface IptablesRule {
    chain: string;
    /** The rule as `iptables -S` printed it, for messages. */
    text: string;
    tokens: string[];
}

interface IptablesRuleSet {
    policies: Map<string, string>;
    chains: Map<string, IptablesRule[]>;
}

function tokenize(line: string): string[] {
    return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

export function parseIptablesRules(text: string): IptablesRuleSet {
    const rules: IptablesRuleSet = { policies: new Map(), chains: new Map() };
    for (const line of text.split("\n")) {
        const tokens = tokenize(line.trim());
        const [verb, chain] = tokens;
        if (!chain) {
            continue;
        }
        if (!rules.chains.has(chain)) {
            rules.chains.set(chain, []);
        }
        if (verb === "-P" && tokens[2]) {
            rules.policies.set(chain, tokens[2]);
        } else if (verb === "-A") {
            rules.chains.get(chain)!.push({ chain, text: line.trim(), tokens: tokens.slice(2) });
        }
    }
    return rules;
}

/** A packet class: every packet between two ports of the stack's bridge, inside its subnet. */
interface Traffic {
    inInterface: string;
    outInterface: string;
    subnet: Address4;
}

/** Does a rule match all of this traffic, none of it, or only some (conntrack state, ports, ...)? */
type Match = "all" | "none" | "some";

function interfaceMatches(pattern: string, name: string): boolean {
    return pattern.endsWith("+") ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

function addressMatch(cidr: string, subnet: Address4): Match {
    if (!Address4.isValid(cidr)) {
        return "some";
    }
    const address = new Address4(cidr.includes("/") ? cidr : `${cidr}/32`);
    if (subnet.isInSubnet(address)) {
        return "all";
    }
    return address.isInSubnet(subnet) ? "some" : "none";
}

function negate(match: Match, negated: boolean): Match {
    if (!negated || match === "some") {
        return match;
    }
    return match === "all" ? "none" : "all";
}

/** How a rule's match part applies to the traffic, and where it sends matching packets. */
function classifyRule(rule: IptablesRule, traffic: Traffic): { match: Match; target?: string; goto: boolean } {
    const conditions: Match[] = [];
    let target: string | undefined;
    let goto = false;
    let negated = false;
    const tokens = rule.tokens;
    for (let i = 0; i < tokens.length && target === undefined; i++) {
        const token = tokens[i];
        const value = tokens[i + 1] ?? "";
        if (token === "!") {
            negated = true;
            continue;
        }
        if (token === "-j" || token === "-g") {
            target = value;
            goto = token === "-g";
        } else if (token === "-i" || token === "-o") {
            const name = token === "-i" ? traffic.inInterface : traffic.outInterface;
            conditions.push(negate(interfaceMatches(value, name) ? "all" : "none", negated));
            i++;
        } else if (token === "-s" || token === "-d") {
            conditions.push(negate(addressMatch(value, traffic.subnet), negated));
            i++;
        } else if (token === "-p") {
            conditions.push(negate(value === "all" ? "all" : "some", negated));
            i++;
        } else if (token === "--physdev-is-bridged") {
            conditions.push(negate("all", negated));
        } else if (token === "-m" || token === "--comment") {
            i++; // a match module's name or a comment: no condition by itself
        } else if (token.startsWith("-")) {
            // Any other match option (conntrack state, ports, marks, ...) applies to some packets only.
            conditions.push("some");
            while (tokens[i + 1] !== undefined && !tokens[i + 1].startsWith("-") && tokens[i + 1] !== "!") {
                i++;
            }
        }
        negated = false;
    }
    const match = conditions.includes("none") ? "none" : conditions.includes("some") ? "some" : "all";
    return { match, target, goto };
}

type Verdict = { kind: "accept" | "drop"; rule: IptablesRule } | { kind: "return" };

const MAX_CHAIN_DEPTH = 16;

/**
 * Follow the traffic through a chain. Only rules that match all of it decide: an ACCEPT for
 * established connections does not let a DHCP request through, and a DROP for one port does not
 * block the rest. Rules that match only some of it are skipped, so the answer is about the blanket
 * trap; a rule that drops one service (say UDP 67) is beyond this check.
 */
function walkChain(rules: IptablesRuleSet, chain: string, traffic: Traffic, depth = 0): Verdict {
    if (depth > MAX_CHAIN_DEPTH) {
        return { kind: "return" };
    }
    for (const rule of rules.chains.get(chain) ?? []) {
        const { match, target, goto } = classifyRule(rule, traffic);
        if (match !== "all" || target === undefined) {
            continue;
        }
        if (target === "ACCEPT") {
            return { kind: "accept", rule };
        }
        if (target === "DROP" || target === "REJECT") {
            return { kind: "drop", rule };
        }
        if (target === "RETURN") {
            return { kind: "return" };
        }
        if (rules.chains.has(target)) {
            const verdict = walkChain(rules, target, traffic, depth + 1);
            if (verdict.kind !== "return" || goto) {
                return verdict;
            }
        }
        // LOG, MARK and other non-terminating targets: the packet goes on.
    }
    return { kind: "return" };
}

function dockerManagesIptables(rules: IptablesRuleSet, facts: HostFacts): boolean {
    const daemonSaysOff = succeeded(facts.dockerDaemonConfig) && facts.dockerDaemonConfig.value.iptables === false;
    const dockerChains = ["DOCKER-USER", "DOCKER-FORWARD", "DOCKER"].some((chain) => rules.chains.has(chain));
    return !daemonSaysOff && dockerChains;
}

/** Insert the accept rule where it runs first: DOCKER-USER when FORWARD jumps there first. */
function forwardFix(rules: IptablesRuleSet, bridge: string): string {
    const firstForwardRule = rules.chains.get("FORWARD")?.[0];
    const chain = firstForwardRule && /-j DOCKER-USER$/.test(firstForwardRule.text) ? "DOCKER-USER" : "FORWARD";
    return `sudo iptables -I ${chain} -i ${bridge} -o ${bridge} -j ACCEPT (not persistent: repeat after a reboot or firewall reload)`;
}

/**
 * The trap (pulumi-and-peers.md §A8): docker sets the FORWARD policy to DROP, and with
 * br_netfilter loaded and bridge-nf-call-iptables=1 even traffic *between two ports of one bridge*
 * (a VM's tap and a KinD node's veth) passes that chain. Docker itself accepts traffic within its
 * bridges, and since the VMs sit on the stack's docker bridge, its rule covers them too. So the lab
 * only breaks when a rule drops that traffic before docker's accept, when docker does not manage
 * iptables (`"iptables": false`), or when docker's rules for an existing network are gone (a
 * firewall reload flushed them). Without br_netfilter the bridge never consults iptables; but docker
 * turns it on itself when it manages iptables, so that case only counts when docker does not.
 */
export function checkForwarding(plan: LabPlan, facts: HostFacts): Finding {
    const check = "forwarding";
    const bridge = plan.network.bridge;
    const netfilter = facts.bridgeNetfilter;
    if (!succeeded(facts.iptablesRules)) {
        const bridgedOff = succeeded(netfilter) && netfilter.value !== "on";
        return {
            check,
            status: "ok",
            message: bridgedOff
                ? "bridged traffic does not pass iptables now (bridge-nf-call-iptables off); iptables rules not readable to check further"
                : `not checked: iptables rules are not readable (${firstLine(facts.iptablesRules.error)}); run as root to check`,
        };
    }
    const rules = parseIptablesRules(facts.iptablesRules.value);
    const dockerManages = dockerManagesIptables(rules, facts);
    // An unreadable sysctl counts as on: better a warning too many than a trap missed.
    const bridgeFiltered = !succeeded(netfilter) || netfilter.value === "on" || dockerManages;
    if (!bridgeFiltered) {
        return { check, status: "ok", message: "bridged traffic does not pass iptables (bridge-nf-call-iptables off)" };
    }
    const traffic = { inInterface: bridge, outInterface: bridge, subnet: new Address4(plan.network.subnet) };
    const verdict = walkChain(rules, "FORWARD", traffic);
    const fix = forwardFix(rules, bridge);
    if (verdict.kind === "accept") {
        return { check, status: "ok", message: `iptables accepts traffic within ${bridge} (${verdict.rule.text})` };
    }
    const consequence = "the machines cannot reach Tinkerbell's DHCP, TFTP and HTTP services on KinD";
    if (verdict.kind === "drop") {
        return {
            check,
            status: "warning",
            message: `iptables rule \`${verdict.rule.text}\` drops traffic within ${bridge}: ${consequence}`,
            fix,
        };
    }
    const policy = rules.policies.get("FORWARD") ?? "ACCEPT";
    if (policy === "ACCEPT") {
        return { check, status: "ok", message: "the iptables FORWARD policy is ACCEPT" };
    }
    if (dockerManages && !ownNetworkExists(plan, facts)) {
        return {
            check,
            status: "ok",
            message: `FORWARD policy is ${policy}; docker adds its accept rule for ${bridge} when it creates the lab network`,
        };
    }
    return {
        check,
        status: "warning",
        message: `FORWARD policy is ${policy}, bridged traffic passes iptables and no rule accepts traffic within ${bridge}${
            dockerManages ? "" : " (docker does not manage iptables)"
        }: ${consequence}`,
        fix,
    };
}
