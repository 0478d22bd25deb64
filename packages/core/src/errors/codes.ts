/** Every error code Switchyard raises, with its kind. `docs/errors.md` lists the same codes (a test keeps them in step). */
export const ErrorKinds = ['NotFound', 'InvalidArgument', 'Conflict', 'Unavailable', 'NotImplemented', 'Internal'] as const;
export type ErrorKind = (typeof ErrorKinds)[number];

export const ERROR_CODES = {
  // model / controller
  SWY_ERR_NETWORK_NOT_FOUND: 'NotFound',
  SWY_ERR_NETWORK_EXISTS: 'Conflict',
  SWY_ERR_NETWORK_IN_USE: 'Conflict',
  SWY_ERR_SANDBOX_NOT_FOUND: 'NotFound',
  SWY_ERR_SANDBOX_EXISTS: 'Conflict',
  SWY_ERR_ENDPOINT_NOT_FOUND: 'NotFound',
  SWY_ERR_ENDPOINT_EXISTS: 'Conflict',
  SWY_ERR_INVALID_NAME: 'InvalidArgument',
  SWY_ERR_INVALID_OPTION: 'InvalidArgument',
  SWY_ERR_INVALID_CIDR: 'InvalidArgument',
  SWY_ERR_INVALID_MAC: 'InvalidArgument',
  SWY_ERR_TEARDOWN_FAILED: 'Internal',
  // IPAM
  SWY_ERR_POOL_EXHAUSTED: 'Unavailable',
  SWY_ERR_NO_FREE_POOL: 'Unavailable',
  SWY_ERR_POOL_NOT_FOUND: 'NotFound',
  SWY_ERR_POOL_OVERLAP: 'Conflict',
  SWY_ERR_RANGE_INVALID: 'InvalidArgument',
  SWY_ERR_SUBNET_TOO_SMALL: 'InvalidArgument',
  SWY_ERR_ADDRESS_IN_USE: 'Conflict',
  SWY_ERR_ADDRESS_OUT_OF_RANGE: 'InvalidArgument',
  SWY_ERR_IPAM_LOCK_TIMEOUT: 'Unavailable',
  // registry / plugin loader (checked in this order)
  SWY_ERR_DRIVER_NOT_FOUND: 'NotFound',
  SWY_ERR_PLUGIN_NOT_FOUND: 'NotFound',
  SWY_ERR_PLUGIN_UNTRUSTED: 'Unavailable',
  SWY_ERR_PLUGIN_NOT_SWITCHYARD: 'InvalidArgument',
  SWY_ERR_PLUGIN_KIND_MISMATCH: 'InvalidArgument',
  SWY_ERR_DRIVER_API_MISMATCH: 'InvalidArgument',
  SWY_ERR_PLUGIN_CORE_MISMATCH: 'InvalidArgument',
  SWY_ERR_PLUGIN_LOAD_FAILED: 'Internal',
  SWY_ERR_PLUGIN_BAD_SHAPE: 'InvalidArgument',
  SWY_ERR_DRIVER_TYPE_COLLISION: 'Conflict',
  SWY_ERR_DRIVER_CAPABILITY: 'InvalidArgument',
  // state store
  SWY_ERR_STORE_LOCK_TIMEOUT: 'Unavailable',
  SWY_ERR_STORE_CORRUPT: 'Internal',
  SWY_ERR_STORE_IO: 'Internal',
  SWY_ERR_STATE_DIR_UNSAFE: 'Unavailable',
  // kernel
  SWY_ERR_KERNEL_OP_FAILED: 'Internal',
  SWY_ERR_KERNEL_FEATURE_MISSING: 'Unavailable',
  SWY_ERR_TOOL_MISSING: 'Unavailable',
  SWY_ERR_PERMISSION_DENIED: 'Unavailable',
  SWY_ERR_LINK_EXISTS: 'Conflict',
  SWY_ERR_LINK_NOT_FOUND: 'NotFound',
  SWY_ERR_NETNS_NOT_FOUND: 'NotFound',
  // drivers and firewall
  SWY_ERR_MTU_TOO_LARGE: 'InvalidArgument',
  SWY_ERR_MASTER_NOT_FOUND: 'NotFound',
  SWY_ERR_FIREWALL_UNAVAILABLE: 'Unavailable',
  SWY_ERR_FIREWALL_FAILED: 'Internal',
  SWY_ERR_PORT_CONFLICT: 'Conflict',
  SWY_ERR_PORT_RANGE_EXHAUSTED: 'Unavailable',
  SWY_ERR_NOT_IMPLEMENTED: 'NotImplemented',
  // driver-cni (CNI plugins as a network driver)
  SWY_ERR_CNI_PLUGIN_NOT_FOUND: 'NotFound',
  SWY_ERR_CNI_VERSION_UNSUPPORTED: 'InvalidArgument',
  SWY_ERR_CNI_PLUGIN_FAILED: 'Internal',
  // CLI
  SWY_ERR_USAGE: 'InvalidArgument',
  SWY_ERR_CONFIG_INVALID: 'InvalidArgument',
  SWY_ERR_DEMO_CHECK_FAILED: 'Internal',
  SWY_ERR_PLUGIN_INSTALL_FAILED: 'Unavailable',
  SWY_ERR_PLUGIN_IN_USE: 'Conflict',
  // anything unexpected (a bug): reported with this code rather than none
  SWY_ERR_INTERNAL: 'Internal',
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_CODES;
