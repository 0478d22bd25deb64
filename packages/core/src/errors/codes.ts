/** Every error code Switchyard raises, with its kind. `docs/errors.md` lists the same codes (a test keeps them in step). */
export const ErrorKinds = ['NotFound', 'InvalidArgument', 'Conflict', 'Unavailable', 'NotImplemented', 'Internal'] as const;
/** What kind of failure an error code is; the CLI's exit status follows it. */
export type ErrorKind = (typeof ErrorKinds)[number];

/** Every error code, with its kind. `docs/errors.md` says what each means and what to do. */
export const ERROR_CODES = {
  // model / controller
  /** No network has that name, id or unique id prefix. */
  SWY_ERR_NETWORK_NOT_FOUND: 'NotFound',
  /** A network with that name already exists. */
  SWY_ERR_NETWORK_EXISTS: 'Conflict',
  /** A network still has connected sandboxes and cannot be deleted. */
  SWY_ERR_NETWORK_IN_USE: 'Conflict',
  /** No sandbox has that name, id or unique id prefix. */
  SWY_ERR_SANDBOX_NOT_FOUND: 'NotFound',
  /** A sandbox (or a network namespace) with that name already exists. */
  SWY_ERR_SANDBOX_EXISTS: 'Conflict',
  /** The sandbox is not connected to that network. */
  SWY_ERR_ENDPOINT_NOT_FOUND: 'NotFound',
  /** The sandbox is already connected to that network. */
  SWY_ERR_ENDPOINT_EXISTS: 'Conflict',
  /** A network, sandbox, interface or namespace name, or a state-store id, is not acceptable. */
  SWY_ERR_INVALID_NAME: 'InvalidArgument',
  /** An option is unknown, has the wrong type, or conflicts with another. */
  SWY_ERR_INVALID_OPTION: 'InvalidArgument',
  /** An address or CIDR does not parse, or is of the wrong family. */
  SWY_ERR_INVALID_CIDR: 'InvalidArgument',
  /** A MAC address does not parse. */
  SWY_ERR_INVALID_MAC: 'InvalidArgument',
  /** Some steps of a teardown failed; the others still ran. */
  SWY_ERR_TEARDOWN_FAILED: 'Internal',
  // IPAM
  /** Every address of a range set is taken. */
  SWY_ERR_POOL_EXHAUSTED: 'Unavailable',
  /** A bridge network's bridge already has 1023 ports, the most a Linux bridge holds. */
  SWY_ERR_BRIDGE_FULL: 'Unavailable',
  /** No default pool is free (all overlap host routes, addresses or other networks). */
  SWY_ERR_NO_FREE_POOL: 'Unavailable',
  /** An IPAM pool id is unknown (its network was removed, or its data directory was lost). */
  SWY_ERR_POOL_NOT_FOUND: 'NotFound',
  /** A requested subnet overlaps a host route or address, another network, or another range of the same set. */
  SWY_ERR_POOL_OVERLAP: 'Conflict',
  /** A range's start, end or gateway lies outside its subnet, start is after end, or a set mixes families. */
  SWY_ERR_RANGE_INVALID: 'InvalidArgument',
  /** The subnet is a /31 or /32 (IPv6 /127 or /128): no room for a gateway and a host. */
  SWY_ERR_SUBNET_TOO_SMALL: 'InvalidArgument',
  /** A requested static address is already allocated (or is the gateway). */
  SWY_ERR_ADDRESS_IN_USE: 'Conflict',
  /** A requested static address lies outside the network's ranges. */
  SWY_ERR_ADDRESS_OUT_OF_RANGE: 'InvalidArgument',
  /** Another process (Switchyard or CNI host-local) held the IPAM lock for too long. */
  SWY_ERR_IPAM_LOCK_TIMEOUT: 'Unavailable',
  // registry / plugin loader (checked in this order)
  /** No driver (or IPAM) of that type is registered and no `switchyard-driver-<type>` package could be loaded. */
  SWY_ERR_DRIVER_NOT_FOUND: 'NotFound',
  /** A plugin package cannot be resolved from the application's directory or the plugin directory. */
  SWY_ERR_PLUGIN_NOT_FOUND: 'NotFound',
  /** A plugin's package.json or a directory above it, or the plugin directory itself (checked at open), is owned by another user or writable by others, so it is not loaded. */
  SWY_ERR_PLUGIN_UNTRUSTED: 'Unavailable',
  /** The package has no `"switchyard"` field in its package.json. */
  SWY_ERR_PLUGIN_NOT_SWITCHYARD: 'InvalidArgument',
  /** The package declares another kind (driver vs ipam) than the one asked for. */
  SWY_ERR_PLUGIN_KIND_MISMATCH: 'InvalidArgument',
  /** The plugin speaks another plugin API version than this core. */
  SWY_ERR_DRIVER_API_MISMATCH: 'InvalidArgument',
  /** The plugin's peer dependency on `@switchyard/core` does not accept this core's version. */
  SWY_ERR_PLUGIN_CORE_MISMATCH: 'InvalidArgument',
  /** Importing the plugin's code threw. */
  SWY_ERR_PLUGIN_LOAD_FAILED: 'Internal',
  /** The plugin's default export (or the driver it creates) is not a valid manifest / driver, or its type differs from package.json. */
  SWY_ERR_PLUGIN_BAD_SHAPE: 'InvalidArgument',
  /** A driver or IPAM with that type/name is already registered (e.g. a plugin shadowing a built-in). */
  SWY_ERR_DRIVER_TYPE_COLLISION: 'Conflict',
  /** The plugin declares a capability this core does not know. */
  SWY_ERR_DRIVER_CAPABILITY: 'InvalidArgument',
  // state store
  /** Another process held the state store's lock for too long. */
  SWY_ERR_STORE_LOCK_TIMEOUT: 'Unavailable',
  /** A state document does not parse; the hint names the file to move aside. */
  SWY_ERR_STORE_CORRUPT: 'Internal',
  /** Reading or writing the state directory failed. */
  SWY_ERR_STORE_IO: 'Internal',
  /** The state directory (or one above it) is owned by another user or writable by others: anyone who can write there could steer a root process. */
  SWY_ERR_STATE_DIR_UNSAFE: 'Unavailable',
  // global store (multi-host)
  /** A global-scope driver or IPAM was used by an instance without a global store (`globalStore` option, `--etcd`). */
  SWY_ERR_GLOBAL_STORE_MISSING: 'Unavailable',
  /** The global store (etcd) did not answer; nothing was changed. */
  SWY_ERR_GLOBAL_STORE_UNAVAILABLE: 'Unavailable',
  /** A global-store transaction kept conflicting with other hosts' changes and gave up. */
  SWY_ERR_GLOBAL_STORE_CONFLICT: 'Conflict',
  /** This host holds no lease in the global store: no agent runs for it. */
  SWY_ERR_HOST_NOT_JOINED: 'Unavailable',
  /** A global network of that name exists in the cluster with another driver, subnet or options. */
  SWY_ERR_GLOBAL_NETWORK_MISMATCH: 'Conflict',
  /** The agent's underlay address is missing or not an address of this host. */
  SWY_ERR_UNDERLAY_INVALID: 'InvalidArgument',
  // kernel
  /** A kernel operation failed; the message names it and the kernel's answer. */
  SWY_ERR_KERNEL_OP_FAILED: 'Internal',
  /** This kernel cannot create that kind of link (e.g. ipvlan or 802.1Q without module support). */
  SWY_ERR_KERNEL_FEATURE_MISSING: 'Unavailable',
  /** A required program (`ip`, `nsenter`, `nft`) is not installed. */
  SWY_ERR_TOOL_MISSING: 'Unavailable',
  /** The process lacks root / CAP_NET_ADMIN. */
  SWY_ERR_PERMISSION_DENIED: 'Unavailable',
  /** A link with that name already exists (on the host or in the sandbox). */
  SWY_ERR_LINK_EXISTS: 'Conflict',
  /** A link the operation needs does not exist. */
  SWY_ERR_LINK_NOT_FOUND: 'NotFound',
  /** A network namespace (by name or path) does not exist. */
  SWY_ERR_NETNS_NOT_FOUND: 'NotFound',
  // drivers and firewall
  /** The requested MTU exceeds what the parent (master) link allows. */
  SWY_ERR_MTU_TOO_LARGE: 'InvalidArgument',
  /** The parent (master) interface of a macvlan / ipvlan network does not exist. */
  SWY_ERR_MASTER_NOT_FOUND: 'NotFound',
  /** Masquerade (`ipMasq`, rkt's `default`) or published ports were asked for on a host without a firewall backend (nftables not installed or not usable); refused before any change. */
  SWY_ERR_FIREWALL_UNAVAILABLE: 'Unavailable',
  /** nftables refused Switchyard's transaction (the message quotes `nft`); nothing of that transaction applied, and the operation was rolled back. */
  SWY_ERR_FIREWALL_FAILED: 'Internal',
  /** A published host port (protocol, address, port) is already held by another endpoint; the message names the sandbox holding it. */
  SWY_ERR_PORT_CONFLICT: 'Conflict',
  /** An automatic host port (`-p 80`, host port 0) was asked for and every port of the host port range is taken. */
  SWY_ERR_PORT_RANGE_EXHAUSTED: 'Unavailable',
  /** The DNS responder of the state dir could not be started or did not come to listen on a network's gateway in time; the hint says where its log is. The connect itself stands. */
  SWY_ERR_DNS_UNAVAILABLE: 'Unavailable',
  /** DNS was asked for on a network whose driver gives the host no address on it (macvlan, ipvlan, a CNI network): the responder has nowhere to listen. */
  SWY_ERR_DNS_UNSUPPORTED: 'InvalidArgument',
  /** A feature is declared but not built yet. */
  SWY_ERR_NOT_IMPLEMENTED: 'NotImplemented',
  // driver-cni (CNI plugins as a network driver)
  /** A CNI plugin a `cni` network's config names (`type`) is in no directory of the CNI path (`cniPath`, default `/opt/cni/bin:/usr/lib/cni`); the hint names the directories searched. */
  SWY_ERR_CNI_PLUGIN_NOT_FOUND: 'NotFound',
  /** A CNI plugin's VERSION answer does not include the config's `cniVersion` (or any of its `cniVersions`), or the config's version is one `driver-cni` cannot speak or lacks the command (CHECK before 0.4.0); the message names the plugin and both sides' versions. */
  SWY_ERR_CNI_VERSION_UNSUPPORTED: 'InvalidArgument',
  /** A CNI plugin failed a command (ADD, DEL, CHECK, GC, VERSION) or answered with something that is not a result; the hint carries the plugin's `msg` and `details`, `details` its CNI error `code`. */
  SWY_ERR_CNI_PLUGIN_FAILED: 'Internal',
  // CLI
  /** The CLI was called with arguments it does not accept. */
  SWY_ERR_USAGE: 'InvalidArgument',
  /** A network config file (net.d) does not parse or lacks required fields. */
  SWY_ERR_CONFIG_INVALID: 'InvalidArgument',
  /** `switchyard demo` saw an outcome other than the one it shows (a ping that should answer did not, or the reverse). */
  SWY_ERR_DEMO_CHECK_FAILED: 'Internal',
  /** `switchyard plugin install` or `plugin rm` could not run npm to its end (a network error, an unknown package or version, a bad tarball); the message quotes npm's last lines, and the plugin directory was left as it was before. */
  SWY_ERR_PLUGIN_INSTALL_FAILED: 'Unavailable',
  /** `switchyard plugin rm` was asked to remove a driver (or IPAM) plugin that networks still use; the message names them. */
  SWY_ERR_PLUGIN_IN_USE: 'Conflict',
  /** `run` could not give the command its sandbox's hosts, resolv.conf or hostname (a bind mount or `hostname` failed in its private mount/UTS namespace), or its wrapper (`nsenter`, `unshare`) exited before the command ran; the message quotes the tool. */
  SWY_ERR_RUN_SETUP_FAILED: 'Unavailable',
  // anything unexpected (a bug): reported with this code rather than none
  /** Something unexpected failed — a bug; the CLI prints it with this code and asks for a report. */
  SWY_ERR_INTERNAL: 'Internal',
} as const satisfies Record<string, ErrorKind>;

/** A Switchyard error code (`SWY_ERR_…`), the `code` of every {@link SwitchyardError}. */
export type ErrorCode = keyof typeof ERROR_CODES;
