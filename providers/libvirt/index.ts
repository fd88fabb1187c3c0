/** Typed libvirt resources (Pool, Volume, Domain) as Pulumi dynamic providers over `virsh`. */
export { Domain, domainProvider } from "./domain";
export type { DomainArgs, DomainInputs, DomainOutputs } from "./domain";
export { isLocalUri, kvmUsable, resolveDomainType } from "./host";
export { Pool, poolProvider } from "./pool";
export type { PoolArgs, PoolInputs, PoolOutputs } from "./pool";
export { Volume, volumeProvider } from "./volume";
export type { VolumeArgs, VolumeInputs, VolumeOutputs } from "./volume";
