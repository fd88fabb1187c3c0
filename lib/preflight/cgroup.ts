/**
 * Preflight: the host's cgroup version. The KinD node runs the kubelet in this host's cgroups, and the
 * kubelet of Kubernetes 1.35 refuses cgroup v1 unless told not to. Every lab's KinD config tells it
 * (lib/render/kind-config.ts: failCgroupV1 false, containerd's restrict_oom_score_adj), so a v1 host
 * is no error: the finding says what the lab does about it. Pure.
 */
import { Finding, HostFacts, firstLine, succeeded } from "./facts";

export function checkCgroup(facts: HostFacts): Finding {
    const check = "cgroup";
    const probe = facts.cgroupVersion;
    if (probe === undefined) {
        return { check, status: "ok", message: "not checked: the cgroup version was not read" };
    }
    if (!succeeded(probe)) {
        return { check, status: "ok", message: `not checked: ${firstLine(probe.error)}` };
    }
    if (probe.value === 2) {
        return { check, status: "ok", message: "cgroup v2 (unified hierarchy)" };
    }
    return {
        check,
        status: "ok",
        message:
            "this host uses cgroup v1: the lab's KinD config sets the kubelet's failCgroupV1: false (Kubernetes 1.35 refuses cgroup v1 otherwise) and containerd's restrict_oom_score_adj (runc cannot lower a pod's OOM score where the node lacks CAP_SYS_RESOURCE); cgroup v1 is deprecated in Kubernetes and containerd 2.2, so move to cgroup v2 when you can",
    };
}
